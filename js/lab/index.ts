import { ILayoutRestorer, type JupyterFrontEnd, type JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, IThemeManager, showErrorMessage } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { addCommands, CommandIDs } from './commands';
import { RunsModel } from './runsModel';
import { RunsPanel } from './runsPanel';
import { savedCopyPlugin } from './savedCopy';
import { loadSettings } from './settings';

/** The attn-widget JupyterLab plugin: TensorBoard runs sidebar and scalar charts. */
const plugin: JupyterFrontEndPlugin<void> = {
  id: 'attn-widget:plugin',
  description: 'TensorBoard runs sidebar and scalar charts for attn-widget.',
  autoStart: true,
  optional: [ISettingRegistry, ICommandPalette, ILayoutRestorer, IThemeManager],
  activate: async (
    app: JupyterFrontEnd,
    registry: ISettingRegistry | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    themes: IThemeManager | null
  ) => {
    const settings = await loadSettings(registry, plugin.id, (title, error) => {
      console.error(title, error);
      void showErrorMessage(title, error as Error);
    });
    const sidebar = new RunsPanel(
      new RunsModel(),
      settings,
      () => app.commands.execute(CommandIDs.plotRuns),
      run => app.commands.execute(CommandIDs.openTimeline, { run })
    );
    app.shell.add(sidebar, 'left', { rank: 600 });
    restorer?.add(sidebar, sidebar.id);
    addCommands(app, sidebar, palette, restorer, themes);
  }
};

export default [plugin, savedCopyPlugin];
