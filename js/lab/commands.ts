import type { ILayoutRestorer, JupyterFrontEnd } from '@jupyterlab/application';
import { type ICommandPalette, type IThemeManager, WidgetTracker } from '@jupyterlab/apputils';
import type { IRunInfo } from './api';
import { HParamsPanel } from './hparamsPanel';
import type { RunsPanel } from './runsPanel';
import { ScalarsPanel } from './scalarsPanel';
import { TimelinePanel } from './timelinePanel';

export const CommandIDs = {
  openRuns: 'attn-widget:open-runs',
  plotRuns: 'attn-widget:plot-runs',
  openHParams: 'attn-widget:open-hparams',
  openTimeline: 'attn-widget:open-timeline'
};

/**
 * "Open TensorBoard Runs" (shows the sidebar) and "attn-widget: Plot selected runs" (the sidebar's
 * selection, or `args.runs`, in the one scalars panel, created on demand and restored on reload).
 */
export function addCommands(
  app: JupyterFrontEnd,
  sidebar: RunsPanel,
  palette: ICommandPalette | null,
  restorer: ILayoutRestorer | null,
  themes: IThemeManager | null
): void {
  const tracker = new WidgetTracker<ScalarsPanel>({ namespace: 'attn-widget-scalars' });
  const current = () => tracker.currentWidget;

  const plot = async (runs: IRunInfo[]) => {
    let panel = current();
    if (!panel || panel.isDisposed) {
      panel = new ScalarsPanel(
        () => sidebar.config.maxPoints,
        run => sidebar.model.colors.colorOf(run),
        () => sidebar.config.refreshInterval
      );
      await tracker.add(panel); // names it for the layout restorer before the layout is saved
      app.shell.add(panel, 'main');
      if (!panel.isAttached) app.shell.add(panel, 'down'); // Notebook 7 keeps its one main-area widget
    }
    app.shell.activateById(panel.id);
    await panel.plot(runs);
    await tracker.save(panel); // the layout restorer re-plots these runs after a reload
  };

  app.commands.addCommand(CommandIDs.openRuns, {
    label: 'Open TensorBoard Runs',
    caption: 'Show the TensorBoard runs sidebar',
    execute: () => {
      app.shell.activateById(sidebar.id);
      return sidebar.refresh();
    }
  });
  app.commands.addCommand(CommandIDs.plotRuns, {
    label: 'attn-widget: Plot selected runs',
    caption: 'Plot the scalars of the runs selected in the TensorBoard runs sidebar',
    isEnabled: args => !!(args.runs as string[] | undefined)?.length || sidebar.selected.size > 0,
    execute: async args => {
      const names = new Set((args.runs as string[] | undefined) ?? sidebar.selected);
      if (!sidebar.runs.length) {
        await sidebar.refresh();
      }
      // a run plotted with its add_scalars folders: their lines join the run's chart of that tag
      const group = (r: IRunInfo) => !!r.scalars_group && names.has(r.scalars_group.parent);
      await plot(sidebar.runs.filter(r => names.has(r.name) || group(r)));
    }
  });

  let hparams: HParamsPanel | null = null;
  app.commands.addCommand(CommandIDs.openHParams, {
    label: 'Open HParams Table',
    caption: 'Hyperparameters and final metrics of the hparams sessions in the listed runs',
    execute: async () => {
      if (!hparams || hparams.isDisposed) {
        hparams = new HParamsPanel(sidebar.model, runs => void app.commands.execute(CommandIDs.plotRuns, { runs }));
        app.shell.add(hparams, 'main');
      }
      app.shell.activateById(hparams.id);
      await sidebar.refresh();
    }
  });

  let timeline: TimelinePanel | null = null;
  app.commands.addCommand(CommandIDs.openTimeline, {
    label: 'Open Training Timeline',
    caption: 'Loss, head statistics and attention heads over the snapshot steps of a run (args.run)',
    isEnabled: args => typeof args.run === 'string',
    execute: async args => {
      if (!sidebar.runs.length) {
        await sidebar.refresh();
      }
      const run = sidebar.runs.find(r => r.name === args.run);
      if (!run) {
        throw new Error(`no run named ${String(args.run)} is listed`);
      }
      if (!timeline || timeline.isDisposed) {
        timeline = new TimelinePanel(
          () => sidebar.config.maxPoints,
          name => sidebar.model.colors.colorOf(name)
        );
        app.shell.add(timeline, 'main');
      }
      app.shell.activateById(timeline.id);
      await timeline.open(run);
    }
  });

  sidebar.model.changed.connect(model => {
    current()?.refreshFrom(model.runs);
    if (timeline && !timeline.isDisposed) timeline.refreshFrom(model.runs);
  });
  themes?.themeChanged.connect(() =>
    tracker.forEach(p => {
      p.redraw();
    })
  );
  for (const command of Object.values(CommandIDs)) {
    palette?.addItem({ command, category: 'TensorBoard' });
  }
  void restorer?.restore(tracker, {
    command: CommandIDs.plotRuns,
    args: panel => ({ runs: panel.runs }),
    name: () => 'scalars'
  });
}
