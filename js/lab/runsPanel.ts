import type { ISettingRegistry } from '@jupyterlab/settingregistry';
import { refreshIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';
import { fetchRuns, fetchScalars, type IRunInfo } from './api';
import { runsIcon } from './icons';
import { allTags, clickSelection, displayName, filterRuns, relativeTime } from './runs';
import { sparkline } from './sparkline';

const SPARK_POINTS = 80;

/** What the sidebar reads from the extension settings (js/lab/schema/plugin.json). */
interface IConfig {
  logdir: string;
  refreshInterval: number;
  sparklineTag: string;
  maxPoints: number;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  parent?: HTMLElement
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  parent?.appendChild(node);
  return node;
}

/**
 * Left-sidebar panel listing the TensorBoard runs in the configured logdir: live/stale mark, last step,
 * relative update time, warnings and a sparkline of the chosen tag. Filter box, refresh button and
 * auto-refresh. Clicking runs (ctrl/cmd toggles, shift extends) selects them and calls `onPlot`.
 */
export class RunsPanel extends Widget {
  config: IConfig = { logdir: '', refreshInterval: 10, sparklineTag: '', maxPoints: 1000 };
  runs: IRunInfo[] = [];
  selected = new Set<string>();
  private anchor = -1;
  private timer = 0;
  private pending: Promise<void> | null = null;
  private error = '';
  private root = '';
  private readonly sparks = new Map<string, { key: string; values: (number | null)[] }>();
  private readonly filter: HTMLInputElement;
  private readonly tagSelect: HTMLSelectElement;
  private readonly list: HTMLUListElement;
  private readonly message: HTMLElement;
  private readonly footer: HTMLElement;
  private readonly refreshed: ((runs: IRunInfo[]) => void)[] = [];

  constructor(
    private readonly settings: ISettingRegistry.ISettings | null,
    private readonly onPlot: () => void
  ) {
    super();
    this.id = 'attn-widget-runs';
    this.addClass('jp-AttnRuns');
    this.title.icon = runsIcon;
    this.title.caption = 'TensorBoard runs';

    const header = el('div', 'jp-AttnRuns-header', this.node);
    el('h2', 'jp-AttnRuns-title', header).textContent = 'TensorBoard runs';
    const refresh = el('button', 'jp-Button jp-mod-minimal jp-AttnRuns-refresh', header);
    refresh.title = 'Refresh runs';
    refresh.appendChild(refreshIcon.element({ tag: 'span' }));
    refresh.addEventListener('click', () => void this.refresh());

    const controls = el('div', 'jp-AttnRuns-controls', this.node);
    this.filter = el('input', 'jp-mod-styled jp-AttnRuns-filter', controls);
    Object.assign(this.filter, { type: 'search', placeholder: 'Filter runs' });
    this.filter.addEventListener('input', () => void this.renderWithSparklines());
    this.tagSelect = el('select', 'jp-mod-styled jp-AttnRuns-tag', controls);
    this.tagSelect.title = 'Tag shown in the sparklines';
    this.tagSelect.addEventListener('change', () => {
      void this.settings?.set('sparklineTag', this.tagSelect.value);
      this.configure({ ...this.config, sparklineTag: this.tagSelect.value });
    });

    this.message = el('div', 'jp-AttnRuns-message', this.node);
    this.list = el('ul', 'jp-AttnRuns-list', this.node);
    this.list.setAttribute('role', 'listbox');
    this.list.setAttribute('aria-multiselectable', 'true');
    this.footer = el('div', 'jp-AttnRuns-footer', this.node);

    if (settings) {
      settings.changed.connect(() => this.configure(settings.composite as unknown as IConfig));
      this.configure(settings.composite as unknown as IConfig);
    } else {
      this.configure(this.config);
    }
  }

  /** Call `fn` with the runs after every successful refresh. */
  onRefreshed(fn: (runs: IRunInfo[]) => void): void {
    this.refreshed.push(fn);
  }

  /** Apply settings: restart auto-refresh and reload. */
  configure(config: IConfig): void {
    const reload = config.logdir !== this.config.logdir || !this.runs.length;
    this.config = config;
    window.clearInterval(this.timer);
    if (config.refreshInterval > 0) {
      this.timer = window.setInterval(() => void this.refresh(), config.refreshInterval * 1000);
    }
    void (reload ? this.refresh() : this.renderWithSparklines());
  }

  /** Reload the run list (concurrent calls share one request). */
  refresh(): Promise<void> {
    this.pending ??= this.load().finally(() => (this.pending = null));
    return this.pending;
  }

  private async load(): Promise<void> {
    try {
      const { root, runs } = await fetchRuns(this.config.logdir);
      this.root = root;
      this.runs = runs;
      this.error = '';
      await this.renderWithSparklines();
      this.refreshed.forEach(fn => fn(runs));
    } catch (e) {
      this.runs = [];
      this.error = `Cannot read runs${this.config.logdir ? ` in “${this.config.logdir}”` : ''}: ${(e as Error).message}`;
      this.render();
    }
  }

  /** Render now, then again once the visible runs' sparklines are loaded. */
  private async renderWithSparklines(): Promise<void> {
    this.render();
    await this.loadSparklines();
    this.render();
  }

  /** The tag the sparklines show: the configured one if any run has it, else a loss, else the first. */
  private sparkTag(tags: string[]): string {
    const wanted = this.config.sparklineTag;
    return tags.includes(wanted) ? wanted : (tags.find(t => /loss/i.test(t)) ?? tags[0] ?? '');
  }

  /** Fetch sparkline data for the visible runs whose file changed since last time. */
  private async loadSparklines(): Promise<void> {
    const tag = this.sparkTag(allTags(this.runs));
    const todo = this.visibleRuns().filter(
      r => r.tags.includes(tag) && this.sparks.get(r.name)?.key !== `${tag}@${r.updated}`
    );
    await Promise.all(
      todo.map(async r => {
        const res = await fetchScalars(r.name, [tag], SPARK_POINTS).catch(() => null);
        const values = res?.tags[tag]?.values ?? [];
        this.sparks.set(r.name, { key: `${tag}@${r.updated}`, values });
      })
    );
  }

  private visibleRuns(): IRunInfo[] {
    return filterRuns(this.runs, this.filter.value, this.root);
  }

  private render(): void {
    const tags = allTags(this.runs);
    const tag = this.sparkTag(tags);
    this.tagSelect.replaceChildren(...tags.map(t => new Option(t, t, false, t === tag)));
    this.tagSelect.hidden = tags.length === 0;

    const visible = this.visibleRuns();
    this.message.textContent =
      this.error ||
      (this.runs.length === 0
        ? `No TensorBoard runs in ${this.root ? `“${this.root}”` : 'the runs root'}: a run is a folder holding *tfevents* files.`
        : visible.length === 0
          ? `No runs match “${this.filter.value}”.`
          : '');
    this.message.classList.toggle('jp-mod-error', !!this.error);

    const now = Date.now();
    this.list.replaceChildren(...visible.map((run, i) => this.row(run, i, visible, tag, now)));
    this.footer.textContent = `/${this.root}`;
    this.footer.title = 'Listed folder, relative to the runs root (setting: logdir)';
  }

  private row(run: IRunInfo, index: number, visible: IRunInfo[], tag: string, now: number): HTMLElement {
    const li = el('li', 'jp-AttnRuns-run');
    li.dataset.run = run.name;
    li.tabIndex = 0;
    li.setAttribute('role', 'option');
    li.setAttribute('aria-selected', String(this.selected.has(run.name)));
    li.classList.toggle('jp-mod-selected', this.selected.has(run.name));

    const text = el('div', 'jp-AttnRuns-text', li);
    const line = el('div', 'jp-AttnRuns-line', text);
    const mark = el('span', `jp-AttnRuns-mark ${run.live ? 'jp-mod-live' : 'jp-mod-stale'}`, line);
    mark.title = run.live ? 'live: still being written' : 'stale: not written recently';
    const name = el('span', 'jp-AttnRuns-name', line);
    name.textContent = displayName(run.name, this.root);
    name.title = run.name;
    if (run.warnings.length) {
      const warn = el('span', 'jp-AttnRuns-warning', line);
      warn.textContent = '⚠';
      warn.title = run.warnings.join('\n');
    }
    const meta = el('div', 'jp-AttnRuns-meta', text);
    meta.textContent = `step ${run.last_step ?? '–'} · ${relativeTime(run.updated, now)}`;
    meta.title = new Date(run.updated * 1000).toLocaleString();

    const spark = this.sparks.get(run.name);
    if (spark && spark.key === `${tag}@${run.updated}`) {
      li.appendChild(sparkline(spark.values)).setAttribute('aria-label', `${tag} sparkline`);
    }

    const pick = (e: MouseEvent | KeyboardEvent) => {
      const names = visible.map(r => r.name);
      const toggle = e.ctrlKey || e.metaKey;
      this.selected = clickSelection(names, this.selected, index, this.anchor, { toggle, range: e.shiftKey });
      if (!e.shiftKey) {
        this.anchor = index;
      }
      this.render();
      this.list.querySelector<HTMLElement>(`[data-run="${CSS.escape(run.name)}"]`)?.focus();
      if (this.selected.size) {
        this.onPlot();
      }
    };
    li.addEventListener('click', pick);
    li.addEventListener('keydown', e => e.key === 'Enter' && pick(e));
    return li;
  }

  dispose(): void {
    window.clearInterval(this.timer);
    super.dispose();
  }
}
