import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, IThemeManager } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { addCommands, CommandIDs } from './commands';
import { RunsPanel } from './runsPanel';
import { savedCopyPlugin } from './savedCopy';

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
    const settings = registry ? await registry.load(plugin.id).catch(() => null) : null;
    const sidebar = new RunsPanel(settings, () =>
      void app.commands.execute(CommandIDs.plotRuns)
    );
    app.shell.add(sidebar, 'left', { rank: 600 });
    restorer?.add(sidebar, sidebar.id);
    addCommands(app, sidebar, palette, restorer, themes);
  }
};

export default [plugin, savedCopyPlugin];
