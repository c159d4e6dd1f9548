import { MainAreaWidget } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import { fetchScalars, fetchSnapshot, fetchSnapshotSteps, type IRunInfo, type IScalarsResponse, type ISnapshot, type ISnapshotSteps } from './api';
import { runsIcon } from './icons';
import { ScalarChart } from './scalarChart';
import { ByteLRU, headPixels, LatestLoader, lossTag, nearestStep, statisticTags } from './timeline';

/** Bytes of decoded snapshots the panel keeps for scrubbing back: ~13 of 12 × 12 heads × 128² tokens. */
const KEPT_SNAPSHOT_BYTES = 32 * 2 ** 20;

/** One snapshot asked for: the run, the step and the probe text's index. */
interface ISnapshotKey {
  run: string;
  step: number;
  text: number;
}

const keyOf = (k: ISnapshotKey): string => JSON.stringify([k.run, k.step, k.text]);

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, parent: HTMLElement): HTMLElementTagNameMap[K] {
  const node = parent.appendChild(document.createElement(tag));
  node.className = className;
  return node;
}

/**
 * Main-area panel of one run's attention snapshots over training: the loss and one chosen head
 * statistic (`attention/<stat>/L<l>H<h>` scalars) side by side, a step scrubber over the snapshot
 * steps, and the model view of the selected step: one heatmap per head, layers as rows, the plotted
 * head outlined. Clicking a curve selects the snapshot step nearest the click; clicking a head plots
 * its statistic. `refreshFrom` reloads it when the run grows. Scrubbing loads one snapshot at a time
 * (steps passed while one loads are skipped, a late answer never paints over a newer step) and keeps
 * the last ones decoded (`KEPT_SNAPSHOT_BYTES`), so going back is drawn without the server.
 */
export class TimelinePanel extends MainAreaWidget<Widget> {
  private info: IRunInfo | null = null;
  private snapshots: ISnapshotSteps | null = null;
  private scalars: IScalarsResponse | null = null;
  private charts: ScalarChart[] = [];
  private readonly kept = new ByteLRU<ISnapshot>(KEPT_SNAPSHOT_BYTES);
  private readonly loader = new LatestLoader<ISnapshotKey, ISnapshot>({
    load: async key => {
      const snapshot = await fetchSnapshot(key.run, key.step, key.text);
      this.kept.set(keyOf(key), snapshot, snapshot.data.byteLength);
      return snapshot;
    },
    cached: key => this.kept.get(keyOf(key)),
    show: (key, snapshot) => {
      if (key.run === this.run) this.drawHeads(key.step, snapshot); // not a late answer for the run shown before
    },
    fail: (_, error) => {
      this.message.textContent = (error as Error).message;
    }
  });
  private readonly textSelect: HTMLSelectElement;
  private readonly statSelect: HTMLSelectElement;
  private readonly headSelect: HTMLSelectElement;
  private readonly scrubber: HTMLInputElement;
  private readonly stepLabel: HTMLElement;
  private readonly message: HTMLElement;
  private readonly chartRow: HTMLElement;
  private readonly heads: HTMLElement;
  private readonly resizer = new ResizeObserver(() => this.fitCharts());

  constructor(
    private readonly maxPoints: () => number,
    private readonly colorOf: (run: string) => string
  ) {
    super({ content: new Widget() });
    this.id = 'attn-widget-timeline';
    this.addClass('jp-AttnTimeline');
    this.title.icon = runsIcon;
    this.title.closable = true;
    const root = this.content.node;
    const controls = el('div', 'jp-AttnTimeline-controls', root);
    this.textSelect = el('select', 'jp-mod-styled jp-AttnTimeline-text', controls);
    this.textSelect.setAttribute('aria-label', 'Probe text');
    this.textSelect.addEventListener('change', () => this.paint());
    this.statSelect = el('select', 'jp-mod-styled jp-AttnTimeline-stat', controls);
    this.statSelect.setAttribute('aria-label', 'Head statistic');
    this.statSelect.addEventListener('change', () => this.fillHeads());
    this.headSelect = el('select', 'jp-mod-styled jp-AttnTimeline-head-choice', controls);
    this.headSelect.setAttribute('aria-label', 'Head');
    this.headSelect.addEventListener('change', () => {
      this.drawCharts();
      this.markHead();
    });
    this.scrubber = el('input', 'jp-AttnTimeline-scrubber', controls);
    Object.assign(this.scrubber, { type: 'range', min: '0', step: '1' });
    this.scrubber.setAttribute('aria-label', 'Snapshot step');
    this.scrubber.addEventListener('input', () => this.paint());
    this.stepLabel = el('span', 'jp-AttnTimeline-step', controls);
    this.message = el('div', 'jp-AttnTimeline-message', root);
    this.chartRow = el('div', 'jp-AttnTimeline-charts', root);
    this.resizer.observe(this.chartRow);
    this.heads = el('div', 'jp-AttnTimeline-heads', root);
  }

  /** Name of the shown run ('' before one is opened). */
  get run(): string {
    return this.info?.name ?? '';
  }

  /** The selected snapshot step (null before the snapshots are loaded). */
  get step(): number | null {
    return this.snapshots ? this.snapshots.steps[Number(this.scrubber.value)] : null;
  }

  /** Show `run` (its snapshot steps, curves and the latest step's heads). */
  async open(run: IRunInfo): Promise<void> {
    if (run.name !== this.info?.name) this.kept.clear();
    this.info = run;
    this.title.label = `Timeline: ${run.name}`;
    await this.load(null);
  }

  /** Reload when the shown run changed on disk (a live run logging new snapshots), keeping the step. */
  refreshFrom(latest: IRunInfo[]): void {
    const now = latest.find(r => r.name === this.info?.name);
    if (now && this.info && now.updated !== this.info.updated) {
      this.info = now;
      void this.load(this.step);
    }
  }

  private async load(keepStep: number | null): Promise<void> {
    const run = this.info as IRunInfo;
    this.message.textContent = 'Loading…';
    try {
      const [snapshots, scalars] = await Promise.all([fetchSnapshotSteps(run.name), fetchScalars(run.name, run.tags, this.maxPoints())]);
      this.snapshots = snapshots;
      this.scalars = scalars;
    } catch (error) {
      this.message.textContent = (error as Error).message;
      return;
    }
    const { steps, texts } = this.snapshots;
    const text = this.textSelect.value;
    this.textSelect.replaceChildren(...texts.map((t, i) => new Option(t, String(i))));
    this.textSelect.value = text && Number(text) < texts.length ? text : '0';
    const stats = statisticTags(Object.keys(this.scalars.tags));
    const stat = this.statSelect.value;
    this.statSelect.replaceChildren(...[...stats.keys()].map(s => new Option(s.replace(/_/g, ' '), s)));
    if (stats.has(stat)) this.statSelect.value = stat;
    this.scrubber.max = String(steps.length - 1);
    const at = keepStep === null ? -1 : steps.indexOf(keepStep);
    this.scrubber.value = String(at >= 0 ? at : steps.length - 1);
    this.message.textContent = this.scalars.warnings.join('\n');
    this.fillHeads();
    this.paint();
  }

  private fillHeads(): void {
    const heads = statisticTags(Object.keys(this.scalars?.tags ?? {})).get(this.statSelect.value) ?? [];
    const head = this.headSelect.value;
    this.headSelect.replaceChildren(...heads.map(h => new Option(h, h)));
    if (heads.includes(head)) this.headSelect.value = head;
    this.drawCharts();
    this.markHead();
  }

  private drawCharts(): void {
    for (const c of this.charts) c.dispose();
    this.chartRow.replaceChildren();
    this.charts = [];
    if (!this.scalars) return;
    const loss = lossTag(Object.keys(this.scalars.tags));
    const stat = this.headSelect.value ? `attention/${this.statSelect.value}/${this.headSelect.value}` : null;
    for (const tag of [loss, stat]) {
      const series = tag ? this.scalars.tags[tag] : undefined;
      if (!tag || !series) continue;
      const chart = new ScalarChart(tag, [{ run: this.run, color: this.colorOf(this.run), series }], 0, this.id);
      chart.onPick(x => this.select(nearestStep(this.snapshots?.steps ?? [x], x)));
      this.chartRow.appendChild(chart.node);
      this.charts.push(chart);
    }
    this.fitCharts();
  }

  /** Select snapshot step `step` (one of the logged steps). */
  select(step: number): void {
    const index = this.snapshots?.steps.indexOf(step) ?? -1;
    if (index >= 0) {
      this.scrubber.value = String(index);
      this.paint();
    }
  }

  /** Ask for the selected step's heads (drawn by `drawHeads` once loaded). */
  private paint(): void {
    const step = this.step;
    if (step === null || step === undefined) return;
    this.stepLabel.textContent = `step ${step}`;
    this.node.dataset.step = String(step);
    this.loader.request({ run: this.run, step, text: Number(this.textSelect.value) });
  }

  /** Draw `snapshot` (of `step`): a canvas per head, one pixel per (query, key); canvases are reused while the shape holds. */
  private drawHeads(step: number, snapshot: ISnapshot): void {
    const [layers, heads, nq, nk] = snapshot.shape;
    const names = snapshot.layer_numbers.flatMap(l => Array.from({ length: heads }, (_, h) => `L${l}H${snapshot.head_numbers?.[h] ?? h}`));
    let canvases = [...this.heads.querySelectorAll<HTMLCanvasElement>('canvas')];
    if (canvases.length !== names.length || canvases.some((c, i) => c.dataset.head !== names[i] || c.width !== nk || c.height !== nq)) {
      this.heads.replaceChildren();
      this.heads.style.gridTemplateColumns = `auto repeat(${heads}, 1fr)`;
      canvases = [];
      for (let l = 0; l < layers; l++) {
        el('span', 'jp-AttnTimeline-layer', this.heads).textContent = `L${snapshot.layer_numbers[l]}`;
        for (let h = 0; h < heads; h++) {
          const canvas = el('canvas', 'jp-AttnTimeline-headView', this.heads);
          Object.assign(canvas, { width: nk, height: nq });
          const head = names[l * heads + h];
          canvas.dataset.head = head;
          canvas.addEventListener('click', () => this.chooseHead(head));
          canvases.push(canvas);
        }
      }
    }
    const stat = this.statSelect.value.replace(/_/g, ' ');
    for (let l = 0; l < layers; l++) {
      for (let h = 0; h < heads; h++) {
        const canvas = canvases[l * heads + h];
        canvas.title = `${canvas.dataset.head} at step ${step}: click to plot its ${stat}`;
        canvas.getContext('2d')?.putImageData(new ImageData(headPixels(snapshot.data, snapshot.shape, l, h), nk, nq), 0, 0);
      }
    }
    this.heads.dataset.step = String(step);
    this.markHead();
  }

  /** Plot the statistic of `head` ('L<l>H<h>'), if the run logged it. */
  private chooseHead(head: string): void {
    if ([...this.headSelect.options].some(o => o.value === head)) {
      this.headSelect.value = head;
      this.drawCharts();
      this.markHead();
    }
  }

  /** Outline the thumbnail of the head whose statistic is plotted. */
  private markHead(): void {
    for (const canvas of this.heads.querySelectorAll<HTMLCanvasElement>('canvas')) {
      canvas.classList.toggle('jp-mod-selected', canvas.dataset.head === this.headSelect.value);
    }
  }

  private fitCharts(): void {
    for (const c of this.charts) c.setWidth(c.node.clientWidth);
  }

  dispose(): void {
    this.resizer.disconnect();
    for (const c of this.charts) c.dispose();
    super.dispose();
  }
}
