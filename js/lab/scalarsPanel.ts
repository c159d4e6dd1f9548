import { MainAreaWidget } from '@jupyterlab/apputils';
import { downloadIcon, refreshIcon, ToolbarButton } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';
import { fetchScalars, type IRunInfo } from './api';
import { ChartOptionsBar } from './chartOptions';
import { groupTags } from './charts';
import { type IRunScalars, scalarsCsv } from './csv';
import { runsIcon } from './icons';
import { ScalarChart } from './scalarChart';
import { SmoothingSlider } from './smoothingSlider';

/**
 * Main-area panel: one chart per tag with the chosen runs overlaid (torch `add_scalars` folders
 * too, one line per key), in collapsible groups by tag prefix; regex tag filter, x axis, log y,
 * ignore outliers, smoothing and CSV download.
 */
export class ScalarsPanel extends MainAreaWidget<Widget> {
  private infos: IRunInfo[] = [];
  private data: IRunScalars[] = [];
  private charts: ScalarChart[] = [];
  private loads = 0;
  private readonly slider = new SmoothingSlider(0.6, w => {
    for (const c of this.charts) c.setSmoothing(w);
  });
  private readonly chartOptions = new ChartOptionsBar(() => this.redraw());
  private readonly collapsed = new Set<string>();
  private readonly message: HTMLElement;
  private readonly grid: HTMLElement;
  private readonly resizer = new ResizeObserver(() => this.fitCharts());

  constructor(
    private readonly maxPoints: () => number,
    private readonly colorOf: (run: string) => string
  ) {
    super({ content: new Widget() });
    this.id = 'attn-widget-scalars';
    this.addClass('jp-AttnScalars');
    this.title.icon = runsIcon;
    this.title.closable = true;
    this.message = this.content.node.appendChild(document.createElement('div'));
    this.message.className = 'jp-AttnScalars-message';
    this.grid = this.content.node.appendChild(document.createElement('div'));
    this.grid.className = 'jp-AttnScalars-grid';
    this.resizer.observe(this.grid);
    this.toolbar.addItem('smoothing', this.slider);
    this.toolbar.addItem('options', this.chartOptions);
    this.toolbar.addItem('refresh', new ToolbarButton({ icon: refreshIcon, tooltip: 'Reload scalars', onClick: () => this.load() }));
    this.toolbar.addItem(
      'csv',
      new ToolbarButton({
        icon: downloadIcon,
        label: 'CSV',
        tooltip: 'Download the plotted scalars as CSV',
        onClick: () => this.downloadCsv()
      })
    );
  }

  /** Names of the plotted runs. */
  get runs(): string[] {
    return this.infos.map(r => r.name);
  }

  /** Plot these runs (replacing the current ones). */
  plot(runs: IRunInfo[]): Promise<void> {
    this.infos = runs;
    this.title.label = `Scalars: ${runs.map(r => r.name).join(', ')}`;
    return this.load();
  }

  /** Reload if a plotted run changed on disk since it was loaded. */
  refreshFrom(latest: IRunInfo[]): void {
    const byName = new Map(latest.map(r => [r.name, r]));
    const stale = this.infos.some(r => (byName.get(r.name)?.updated ?? r.updated) !== r.updated);
    if (stale) {
      void this.plot(this.infos.map(r => byName.get(r.name) ?? r));
    }
  }

  /** Redraw every chart (after an option change, or a theme change: colours come from CSS). */
  redraw(): void {
    for (const c of this.charts) c.dispose();
    this.grid.replaceChildren();
    this.charts = [];
    const tags = [...new Set(this.data.flatMap(d => Object.keys(d.tags)))];
    const options = this.chartOptions.options;
    for (const { group, tags: groupTagNames } of groupTags(tags, this.chartOptions.tagFilter)) {
      const details = this.grid.appendChild(document.createElement('details'));
      details.className = 'jp-AttnScalars-group';
      details.dataset.group = group;
      details.open = !this.collapsed.has(group);
      details.addEventListener('toggle', () => {
        if (details.open) {
          this.collapsed.delete(group);
        } else {
          this.collapsed.add(group);
        }
      });
      const summary = details.appendChild(document.createElement('summary'));
      summary.textContent = `${group} (${groupTagNames.length})`;
      const body = details.appendChild(document.createElement('div'));
      body.className = 'jp-AttnScalars-groupCharts';
      for (const tag of groupTagNames) {
        const runs = this.data.flatMap(d => (d.tags[tag]?.steps.length ? [{ run: d.run, color: this.colorOf(d.run), series: d.tags[tag] }] : []));
        const chart = new ScalarChart(tag, runs, this.slider.value, this.id, options);
        body.appendChild(chart.node);
        this.charts.push(chart);
      }
    }
    this.fitCharts();
  }

  private async load(): Promise<void> {
    const load = ++this.loads;
    this.message.textContent = 'Loading…';
    const results = await Promise.allSettled(this.infos.map(r => fetchScalars(r.name, r.tags, this.maxPoints())));
    if (load !== this.loads) {
      return; // a newer load superseded this one
    }
    this.data = results.flatMap(r => (r.status === 'fulfilled' ? [r.value] : []));
    const problems = results.flatMap((r, i) =>
      r.status === 'rejected' ? [`${this.infos[i].name}: ${r.reason.message}`] : r.value.warnings.map(w => `${r.value.run}: ${w}`)
    );
    this.redraw();
    if (this.charts.length === 0) {
      problems.unshift('No scalars to plot in the selected runs.');
    }
    this.message.textContent = problems.join('\n');
  }

  private fitCharts(): void {
    for (const c of this.charts) c.setWidth(c.node.clientWidth);
  }

  private downloadCsv(): void {
    const url = URL.createObjectURL(new Blob([scalarsCsv(this.data, this.slider.value)], { type: 'text/csv' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = 'scalars.csv';
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  dispose(): void {
    this.resizer.disconnect();
    for (const c of this.charts) c.dispose();
    super.dispose();
  }
}
