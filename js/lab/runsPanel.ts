import type { ISettingRegistry } from '@jupyterlab/settingregistry';
import { refreshIcon, SidePanel, ToolbarButton } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import { Panel, Widget } from '@lumino/widgets';
import { fetchScalars, type IRunInfo } from './api';
import { runsIcon } from './icons';
import { followActive, listKeyAction, scrollToRow } from './listNavigation';
import {
  allTags,
  clickSelection,
  defaultSparkTag,
  displayName,
  filterNote,
  filterRuns,
  formatValue,
  listMessage,
  nameParts,
  nestScalarsGroups,
  relativeTime,
  runMatcher,
  scalarsGroupTitle,
  sharedRange
} from './runs';
import type { RunsModel } from './runsModel';
import { sparkline } from './sparkline';
import { visibleRange } from './virtualList';

const SPARK_POINTS = 80;
const ROW_HEIGHT = 46; // px; fixed so the list can be virtualised (see .jp-AttnRuns-run)
const OVERSCAN = 6; // rows rendered above and below the viewport
const SPARK_REQUESTS = 6; // sparkline requests in flight at once
const SPARK_WIDTH = 56; // px, on the line under the name, which keeps the row's width
const SPARK_HEIGHT = 14;

/** What the sidebar reads from the extension settings (js/lab/schema/plugin.json). */
export interface IConfig {
  logdir: string;
  refreshInterval: number;
  sparklineTag: string;
  maxPoints: number;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, parent?: HTMLElement): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  parent?.appendChild(node);
  return node;
}

interface ISpark {
  key: string;
  values: number[];
}

/**
 * The left-sidebar view of a `RunsModel`: a regex filter, the sparkline tag, and a virtualised
 * list (only the rows in view exist in the DOM) of runs with live/stale mark, colour, last step,
 * update time, warnings and a sparkline with its last value; the folders torch's `add_scalars`
 * writes are child rows right under their parent run. A long name's parent folders elide first, then the run's own name, at its start. Sparklines are fetched only for rows
 * in view; runs sharing the tag share one y scale. The model polls only while this is shown.
 * Clicking runs (ctrl/cmd toggles, shift extends) selects them and calls `onPlot`. From the
 * keyboard the list is one tab stop, a multi-select listbox whose active row is named by
 * `aria-activedescendant` (so focus survives the rows being re-created as the list scrolls):
 * arrows, Home/End, PageUp/PageDown move, Space toggles the selection, Enter plots; focus stays in
 * the list while the charts panel comes forward.
 */
export class RunsPanel extends SidePanel {
  config: IConfig = { logdir: '', refreshInterval: 10, sparklineTag: '', maxPoints: 1000 };
  selected = new Set<string>();
  private visible: IRunInfo[] = [];
  /** Names of the `add_scalars` folders in `visible` shown as children right under their parent. */
  private nested = new Set<string>();
  private anchor = -1;
  /** Index in `visible` of the row the keyboard acts on (-1: none yet), and its run's name. */
  private active = -1;
  private activeName: string | null = null;
  private tag = '';
  private readonly sparks = new Map<string, ISpark>();
  private readonly inFlight = new Set<string>();
  private sparkTimer = 0;
  private readonly filter: HTMLInputElement;
  /** Says, under the filter, that it is not a valid regular expression (empty otherwise). */
  private readonly filterNote: HTMLElement;
  private readonly tagSelect: HTMLSelectElement;
  private readonly scroller: HTMLElement;
  private readonly list: HTMLUListElement;
  private readonly message: HTMLElement;
  private readonly footer: HTMLElement;

  constructor(
    readonly model: RunsModel,
    private readonly settings: ISettingRegistry.ISettings | null,
    private readonly onPlot: () => Promise<unknown>,
    private readonly onTimeline: (run: string) => Promise<unknown>
  ) {
    super({ content: new Panel() });
    this.id = 'attn-widget-runs';
    this.addClass('jp-AttnRuns');
    this.title.icon = runsIcon;
    this.title.caption = 'TensorBoard runs';
    const heading = new Widget();
    heading.addClass('jp-AttnRuns-title');
    heading.node.textContent = 'TensorBoard runs';
    this.header.addWidget(heading);
    this.toolbar.addItem(
      'refresh',
      new ToolbarButton({
        icon: refreshIcon,
        className: 'jp-AttnRuns-refresh',
        tooltip: 'Refresh runs',
        onClick: () => void this.model.refresh()
      })
    );

    const body = new Widget();
    body.addClass('jp-AttnRuns-body');
    this.addWidget(body);
    const controls = el('div', 'jp-AttnRuns-controls', body.node);
    this.filter = el('input', 'jp-mod-styled jp-AttnRuns-filter', controls);
    Object.assign(this.filter, { type: 'search', placeholder: 'Filter runs (regex)' });
    this.filter.setAttribute('aria-label', 'Filter runs by regular expression');
    this.filter.addEventListener('input', () => this.render());
    this.filterNote = el('div', 'jp-AttnRuns-filterNote', controls);
    this.filterNote.id = `${this.id}-filter-note`;
    this.filterNote.setAttribute('aria-live', 'polite');
    this.filter.setAttribute('aria-describedby', this.filterNote.id);
    this.tagSelect = el('select', 'jp-mod-styled jp-AttnRuns-tag', controls);
    this.tagSelect.title = 'Tag shown in the sparklines';
    this.tagSelect.setAttribute('aria-label', 'Sparkline tag');
    this.tagSelect.addEventListener('change', () => {
      void this.settings?.set('sparklineTag', this.tagSelect.value);
      this.configure({ ...this.config, sparklineTag: this.tagSelect.value });
    });
    this.message = el('div', 'jp-AttnRuns-message', body.node);
    this.scroller = el('div', 'jp-AttnRuns-scroller', body.node);
    this.list = el('ul', 'jp-AttnRuns-list', this.scroller);
    this.list.setAttribute('role', 'listbox');
    this.list.setAttribute('aria-multiselectable', 'true');
    this.list.setAttribute('aria-label', 'TensorBoard runs');
    this.list.tabIndex = 0;
    this.list.addEventListener('keydown', e => this.onKey(e));
    this.list.addEventListener('focus', () => {
      if (this.active < 0 && this.visible.length) {
        // marked in place, not re-rendered: a mouse press focuses the list before its click, and
        // re-created rows would swallow that click
        this.active = Math.max(
          0,
          this.visible.findIndex(r => this.selected.has(r.name))
        );
        this.activeName = this.visible[this.active].name;
        this.markActive();
      }
    });
    this.scroller.addEventListener('scroll', () => this.renderRows());
    new ResizeObserver(() => this.renderRows()).observe(this.scroller);
    this.footer = el('div', 'jp-AttnRuns-footer', body.node);

    model.changed.connect(() => this.render());
    if (settings) {
      settings.changed.connect(() => this.configure(settings.composite as unknown as IConfig));
      this.configure(settings.composite as unknown as IConfig);
    } else {
      this.configure(this.config);
    }
  }

  get runs(): IRunInfo[] {
    return this.model.runs;
  }

  /** Apply settings to the model and redraw. */
  configure(config: IConfig): void {
    this.config = config;
    this.model.configure(config.logdir, config.refreshInterval);
    this.render();
  }

  /** Reload the run list now. */
  refresh(): Promise<void> {
    return this.model.refresh();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.model.start();
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.model.stop();
  }

  /** The sparkline tag: the configured one if any run has it, else the training loss. */
  private sparkTag(runs: IRunInfo[]): string {
    const wanted = this.config.sparklineTag;
    return wanted && runs.some(r => r.tags.includes(wanted)) ? wanted : defaultSparkTag(runs);
  }

  /** Filter, message, tag choice and footer; then the rows in view. */
  private render(): void {
    const { runs, error, root, roots } = this.model;
    const tags = allTags(runs);
    this.tag = this.sparkTag(runs);
    this.tagSelect.replaceChildren(...tags.map(t => new Option(t, t, false, t === this.tag)));
    this.tagSelect.hidden = tags.length === 0;

    const matcher = runMatcher(this.filter.value);
    this.filter.classList.toggle('jp-mod-invalid', !matcher.valid);
    this.filter.setAttribute('aria-invalid', String(!matcher.valid));
    this.filter.title = 'Regular expression, case-insensitive';
    this.filterNote.textContent = filterNote(matcher);
    ({ runs: this.visible, children: this.nested } = nestScalarsGroups(filterRuns(runs, this.filter.value, root)));
    this.active = followActive(
      this.visible.map(r => r.name),
      this.activeName,
      this.active
    );
    this.activeName = this.visible[this.active]?.name ?? null;
    const loaded = this.model.loaded;
    this.message.textContent = listMessage({ error, loaded, total: runs.length, shown: this.visible.length, root, query: this.filter.value });
    this.message.classList.toggle('jp-mod-error', !!error);
    const rootWarnings = error ? [] : roots.flatMap(r => r.warnings.map(w => `⚠ ${r.name || 'runs root'}: ${w}`));
    if (rootWarnings.length) {
      this.message.textContent = [...rootWarnings, this.message.textContent].filter(Boolean).join('\n');
    }
    this.message.classList.toggle('jp-mod-warn', rootWarnings.length > 0);
    this.list.style.height = `${this.visible.length * ROW_HEIGHT}px`;
    this.list.setAttribute('aria-busy', String(!loaded && !error));
    this.footer.textContent = `/${root} · ${loaded ? `${this.visible.length} of ${runs.length} runs` : 'listing…'}`;
    this.footer.title = 'Listed folder, relative to the runs root (setting: logdir)';
    this.renderRows();
  }

  /** Only the rows in view (plus a few) are in the DOM; then fetch their missing sparklines. */
  private renderRows(): void {
    const [first, end] = visibleRange(this.scroller.scrollTop, this.scroller.clientHeight || 600, ROW_HEIGHT, this.visible.length, OVERSCAN);
    const rows = this.visible.slice(first, end);
    const range = this.sparkRange();
    const now = Date.now();
    this.list.replaceChildren(...rows.map((run, i) => this.row(run, first + i, range, now)));
    this.markActive();
    window.clearTimeout(this.sparkTimer);
    this.sparkTimer = window.setTimeout(() => this.loadSparklines(rows), 80); // let scrolling settle
  }

  private rowId(index: number): string {
    return `${this.id}-run-${index}`;
  }

  /** Mark the active row and name it to assistive technology, if it is in the DOM. */
  private markActive(): void {
    const id = this.rowId(this.active);
    let shown = false;
    for (const row of this.list.children) {
      row.classList.toggle('jp-mod-active', row.id === id);
      shown ||= row.id === id;
    }
    if (shown) {
      this.list.setAttribute('aria-activedescendant', id);
    } else {
      this.list.removeAttribute('aria-activedescendant'); // the active row is scrolled out of the DOM
    }
  }

  /** Make row `index` the active one and scroll it into view. */
  private setActive(index: number): void {
    this.active = index;
    this.activeName = this.visible[index]?.name ?? null;
    const { scrollTop, clientHeight } = this.scroller;
    this.scroller.scrollTop = scrollToRow(scrollTop, clientHeight, ROW_HEIGHT, index);
    this.renderRows();
  }

  private onKey(e: KeyboardEvent): void {
    const page = Math.floor(this.scroller.clientHeight / ROW_HEIGHT);
    const action = listKeyAction(e.key, this.active, this.visible.length, page);
    if (!action || e.altKey || e.ctrlKey || e.metaKey) {
      return;
    }
    e.preventDefault(); // no page scrolling on Space/arrows
    if (action.kind === 'move') {
      this.setActive(action.index);
      return;
    }
    const names = this.visible.map(r => r.name);
    if (action.kind === 'toggle') {
      this.selected = clickSelection(names, this.selected, this.active, this.anchor, { toggle: true, range: e.shiftKey });
      this.anchor = this.active;
      this.renderRows();
      return;
    }
    if (!this.selected.size) {
      this.selected = new Set([names[this.active]]);
      this.renderRows();
    }
    void this.plot();
  }

  /** Plot the selection; the charts panel comes forward but focus returns to the list if it was there. */
  private async plot(): Promise<void> {
    const hadFocus = this.list.contains(document.activeElement);
    await this.onPlot();
    if (hadFocus) {
      this.list.focus();
    }
  }

  private sparkKey(run: IRunInfo): string {
    return `${this.tag}@${run.updated}`;
  }

  /** One y range for all sparklines when the tag is shared by several runs, else none. */
  private sparkRange(): [number, number] | null {
    const sharing = this.model.runs.filter(r => r.tags.includes(this.tag));
    if (sharing.length < 2) {
      return null;
    }
    const series = sharing.flatMap(r => {
      const spark = this.sparks.get(r.name);
      return spark?.key === this.sparkKey(r) ? [spark.values] : [];
    });
    return sharedRange(series);
  }

  /** Fetch the sparklines of `rows` that are missing or out of date, a few requests at a time. */
  private loadSparklines(rows: IRunInfo[]): void {
    if (!this.isVisible) {
      return;
    }
    const todo = rows.filter(r => r.tags.includes(this.tag) && this.sparks.get(r.name)?.key !== this.sparkKey(r) && !this.inFlight.has(r.name));
    const next = (): void => {
      const run = todo.shift();
      if (!run) {
        return;
      }
      const key = this.sparkKey(run);
      const tag = this.tag;
      this.inFlight.add(run.name);
      fetchScalars(run.name, [tag], SPARK_POINTS)
        .then(res => this.sparks.set(run.name, { key, values: res.tags[tag]?.values ?? [] }))
        .catch(() => this.sparks.set(run.name, { key, values: [] }))
        .finally(() => {
          this.inFlight.delete(run.name);
          if (!todo.length && this.inFlight.size === 0) {
            this.renderRows();
          }
          next();
        });
    };
    for (let i = 0; i < SPARK_REQUESTS; i++) {
      next();
    }
  }

  private row(run: IRunInfo, index: number, range: [number, number] | null, now: number): HTMLElement {
    const li = el('li', 'jp-AttnRuns-run');
    li.style.top = `${index * ROW_HEIGHT}px`;
    li.dataset.run = run.name;
    li.id = this.rowId(index);
    li.setAttribute('role', 'option');
    li.setAttribute('aria-selected', String(this.selected.has(run.name)));
    li.classList.toggle('jp-mod-selected', this.selected.has(run.name));

    const color = this.model.colors.colorOf(run.name);
    const swatch = el('span', 'jp-AttnRuns-color', li);
    swatch.style.background = color;
    const text = el('div', 'jp-AttnRuns-text', li);
    const line = el('div', 'jp-AttnRuns-line', text);
    const mark = el('span', `jp-AttnRuns-mark ${run.live ? 'jp-mod-live' : 'jp-mod-stale'}`, line);
    mark.title = run.live ? 'live: still being written' : 'stale: not written recently';
    if (run.group && !this.model.root) {
      const group = el('span', 'jp-AttnRuns-group', line);
      group.textContent = run.group;
      group.title = `root “${run.group}”`;
    }
    const root = this.model.root || run.group || '';
    const child = this.nested.has(run.name); // an add_scalars series, shown under its parent run
    li.classList.toggle('jp-mod-child', child);
    if (child) {
      const branch = el('span', 'jp-AttnRuns-branch', line);
      branch.textContent = '↳';
      branch.setAttribute('aria-hidden', 'true');
    }
    const name = el('span', 'jp-AttnRuns-name', line);
    const shown = child ? run.scalars_group!.key : displayName(run.name, root);
    // The name's text is in one visually hidden span (read by screen readers, and innerText stays
    // exactly the name); what is seen are two aria-hidden boxes drawing their text from CSS, the
    // parent folders dimmed and elided first, then the run (see .jp-AttnRuns-name in runs.css).
    el('span', 'jp-AttnRuns-fullName', name).textContent = shown;
    const parts = nameParts(shown);
    for (const [part, text] of [
      ['folder', parts.folder],
      ['leaf', parts.run]
    ]) {
      const box = el('span', `jp-AttnRuns-${part}`, name);
      box.dataset.text = text;
      box.setAttribute('aria-hidden', 'true');
    }
    name.title = child ? scalarsGroupTitle(run, root) : run.name;
    if (run.snapshots) {
      const timeline = el('button', 'jp-AttnRuns-snapshots', line);
      timeline.textContent = '◉';
      timeline.title = `attention snapshots of ${run.snapshots} probe text${run.snapshots > 1 ? 's' : ''}: open the training timeline`;
      timeline.setAttribute('aria-label', `Open the training timeline of ${run.name}`);
      timeline.addEventListener('click', e => {
        e.stopPropagation(); // opens the timeline without changing the selection
        void this.onTimeline(run.name);
      });
    }
    if (run.warnings.length) {
      const warn = el('span', 'jp-AttnRuns-warning', line);
      warn.textContent = '⚠';
      warn.title = run.warnings.join('\n');
      // part of the row's accessible name, so the list's keyboard and screen-reader users get it
      warn.setAttribute('role', 'img');
      warn.setAttribute('aria-label', `warning: ${run.warnings.join('; ')}`);
    }
    const info = el('div', 'jp-AttnRuns-info', text); // step and time, then the sparkline and last value
    const meta = el('span', 'jp-AttnRuns-meta', info);
    meta.textContent = `step ${run.last_step ?? '–'} · ${relativeTime(run.updated, now)}`;
    meta.title = new Date(run.updated * 1000).toLocaleString();

    const spark = this.sparks.get(run.name);
    if (spark && spark.key === this.sparkKey(run) && spark.values.length) {
      const svg = info.appendChild(sparkline(spark.values, SPARK_WIDTH, SPARK_HEIGHT, range));
      svg.setAttribute('aria-label', `${this.tag} sparkline`);
      svg.style.stroke = color;
      const last = el('span', 'jp-AttnRuns-last', info);
      last.textContent = formatValue(spark.values[spark.values.length - 1]);
      last.title = `last ${this.tag}`;
    }

    li.addEventListener('click', e => {
      const names = this.visible.map(r => r.name);
      const toggle = e.ctrlKey || e.metaKey;
      this.selected = clickSelection(names, this.selected, index, this.anchor, { toggle, range: e.shiftKey });
      if (!e.shiftKey) {
        this.anchor = index;
      }
      this.list.focus(); // the list, not the row, holds focus (the row may be re-created)
      this.setActive(index);
      if (this.selected.size) {
        void this.plot();
      }
    });
    return li;
  }

  dispose(): void {
    window.clearTimeout(this.sparkTimer);
    this.model.dispose();
    super.dispose();
  }
}
