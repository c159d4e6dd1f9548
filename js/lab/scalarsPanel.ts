import { MainAreaWidget } from '@jupyterlab/apputils';
import { downloadIcon, refreshIcon, ToolbarButton } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import { Poll } from '@lumino/polling';
import { Panel, type Widget } from '@lumino/widgets';
import { fetchScalars, type IRunInfo } from './api';
import { ChartOptionsBar } from './chartOptions';
import { groupTags, refreshPlan, sameScalars, type XAxis } from './charts';
import { type IRunScalars, scalarsCsv } from './csv';
import { runsIcon } from './icons';
import { ScalarChart } from './scalarChart';
import { SmoothingSlider } from './smoothingSlider';

/**
 * Main-area panel: one chart per tag with the chosen runs overlaid (torch `add_scalars` folders
 * too, one line per key), in collapsible groups by tag prefix; regex tag filter, x axis, log y,
 * ignore outliers, smoothing and CSV download. While shown, it fetches its live runs again every
 * refresh interval by its own `Poll` (the runs sidebar may be hidden); a reload keeps the view:
 * each chart's zoom, the scroll position, collapsed groups and the tag filter.
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
  /** Problems per run (fetch errors, warnings), from its last fetch. */
  private problems = new Map<string, string[]>();
  private axis: XAxis = 'step';
  private readonly message: HTMLElement;
  private readonly grid: HTMLElement;
  private readonly resizer = new ResizeObserver(() => this.fitCharts());

  private readonly livePoll: Poll;

  /**
   * @param refreshSeconds - the refresh interval setting (0: never); read at every poll.
   */
  constructor(
    private readonly maxPoints: () => number,
    private readonly colorOf: (run: string) => string,
    private readonly refreshSeconds: () => number
  ) {
    super({ content: new Panel() });
    this.livePoll = new Poll({
      auto: false,
      factory: () => this.reloadLive(),
      frequency: this.pollFrequency(),
      name: 'attn-widget:scalars-live',
      standby: 'when-hidden'
    });
    this.id = 'attn-widget-scalars';
    this.addClass('jp-AttnScalars');
    this.content.addClass('jp-AttnScalars-content'); // the scroller of the controls and charts
    this.title.icon = runsIcon;
    this.title.closable = true;
    this.message = this.content.node.appendChild(document.createElement('div'));
    this.message.className = 'jp-AttnScalars-message';
    this.grid = this.content.node.appendChild(document.createElement('div'));
    this.grid.className = 'jp-AttnScalars-grid';
    this.resizer.observe(this.grid);
    // the chart controls wrap onto more lines in a bar of their own (in Lab's toolbar they were
    // clipped or hidden behind its "…" menu); it sticks to the top while the charts scroll
    const controls = new Panel();
    controls.addClass('jp-AttnScalars-controls');
    controls.addWidget(this.slider);
    controls.addWidget(this.chartOptions);
    (this.content as Panel).insertWidget(0, controls);
    this.toolbar.addItem('refresh', new ToolbarButton({ icon: refreshIcon, tooltip: 'Reload scalars', onClick: () => this.load(this.infos) }));
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
    this.updatePoll();
    return this.load(runs, false);
  }

  /** After a runs-list reload: fetch the plotted runs that changed on disk (live ones poll apart). */
  refreshFrom(latest: IRunInfo[]): void {
    const { infos, reload } = refreshPlan(this.infos, latest, this.pollsLive);
    this.infos = infos;
    this.updatePoll();
    if (reload.length) {
      void this.load(infos.filter(r => reload.includes(r.name)));
    }
  }

  /** Whether the own poll fetches the live runs (shown, a live run plotted, refresh interval set). */
  private get pollsLive(): boolean {
    return this.isVisible && this.refreshSeconds() > 0 && this.infos.some(r => r.live);
  }

  private pollFrequency() {
    const interval = this.refreshSeconds() * 1000 || Poll.NEVER;
    return { interval, max: interval, backoff: false };
  }

  /**
   * Run the live poll exactly while it has work and someone sees the charts; its first fetch now
   * if `fetchNow` (shown again: the charts may be stale), else after an interval (just loaded).
   */
  private updatePoll(fetchNow = false): void {
    if (this.pollsLive) {
      const frequency = this.pollFrequency();
      this.livePoll.frequency = frequency;
      const { phase } = this.livePoll.state;
      if (phase === 'constructed' || phase === 'stopped') {
        void this.livePoll.schedule({ interval: fetchNow ? Poll.IMMEDIATE : frequency.interval, phase: 'started' });
      }
    } else {
      void this.livePoll.stop();
    }
  }

  private reloadLive(): Promise<void> {
    this.livePoll.frequency = this.pollFrequency();
    const live = this.infos.filter(r => r.live);
    return live.length ? this.load(live) : Promise.resolve();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.updatePoll(true);
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.updatePoll();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this.updatePoll();
  }

  /**
   * Redraw every chart (after an option change, or a theme change: colours come from CSS); a
   * zoomed chart keeps its x range (new points beyond it too) unless the x axis changed or not `keepZoom`.
   */
  redraw(keepZoom = true): void {
    const options = this.chartOptions.options;
    const zooms = new Map(keepZoom && this.axis === options.axis ? this.charts.flatMap(c => (c.zoom ? [[c.tag, c.zoom] as const] : [])) : []);
    this.axis = options.axis;
    const scroller = this.content.node;
    const scroll = [scroller.scrollTop, scroller.scrollLeft];
    this.grid.style.minHeight = `${this.grid.offsetHeight}px`; // no collapse (and scroll reset) while rebuilt
    for (const c of this.charts) c.dispose();
    this.grid.replaceChildren();
    this.charts = [];
    const tags = [...new Set(this.data.flatMap(d => Object.keys(d.tags)))];
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
        const chart = new ScalarChart(tag, runs, this.slider.value, this.id, { ...options, xRange: zooms.get(tag) ?? null });
        body.appendChild(chart.node);
        this.charts.push(chart);
      }
    }
    this.fitCharts();
    [scroller.scrollTop, scroller.scrollLeft] = scroll;
    // uPlot sizes its canvases in a microtask: the grid keeps its height until they have theirs
    requestAnimationFrame(() => {
      this.grid.style.minHeight = '';
    });
  }

  /** Fetch the scalars of `runs` (all plotted, or some to update) and redraw, keeping the zoom if `keepZoom`. */
  private async load(runs: IRunInfo[], keepZoom = true): Promise<void> {
    const load = ++this.loads;
    if (!keepZoom) {
      this.message.textContent = 'Loading…';
    }
    const results = await Promise.allSettled(runs.map(r => fetchScalars(r.name, r.tags, this.maxPoints())));
    if (load !== this.loads) {
      return; // a newer load superseded this one
    }
    const fetched = new Map(results.flatMap((r, i) => (r.status === 'fulfilled' ? [[runs[i].name, r.value] as const] : [])));
    const failed = new Set(results.flatMap((r, i) => (r.status === 'rejected' ? [runs[i].name] : [])));
    const kept = new Map(this.data.map(d => [d.run, d]));
    const unchanged =
      keepZoom && !failed.size && this.infos.every(r => kept.has(r.name)) && [...fetched].every(([run, d]) => sameScalars(kept.get(run)?.tags, d.tags));
    this.data = this.infos.flatMap(r => {
      const d = failed.has(r.name) ? undefined : (fetched.get(r.name) ?? kept.get(r.name));
      return d ? [d] : [];
    });
    this.problems = new Map([
      ...[...this.problems].filter(([run]) => !runs.some(r => r.name === run)),
      ...results.map(
        (r, i) =>
          [runs[i].name, r.status === 'rejected' ? [`${runs[i].name}: ${r.reason.message}`] : r.value.warnings.map(w => `${r.value.run}: ${w}`)] as const
      )
    ]);
    if (!unchanged) {
      this.redraw(keepZoom); // a poll that found nothing new leaves the charts as they are
    }
    const problems = this.infos.flatMap(r => this.problems.get(r.name) ?? []);
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
    this.livePoll.dispose();
    this.resizer.disconnect();
    for (const c of this.charts) c.dispose();
    super.dispose();
  }
}
