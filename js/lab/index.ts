import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { RunsPanel } from './runsPanel';

/** The attn-widget JupyterLab plugin: a left-sidebar panel listing local TensorBoard runs. */
const plugin: JupyterFrontEndPlugin<void> = {
  id: 'attn-widget:plugin',
  description: 'TensorBoard runs sidebar for attn-widget.',
  autoStart: true,
  optional: [ILayoutRestorer],
  activate: (app: JupyterFrontEnd, restorer: ILayoutRestorer | null) => {
    const panel = new RunsPanel();
    app.shell.add(panel, 'left', { rank: 600 });
    if (restorer) {
      restorer.add(panel, panel.id);
    }
  }
};

export default plugin;
