/**
 * Neuron view (BertViz's), for one head. Collapsed: query tokens joined to key tokens by lines
 * (opacity = attention), as in the head view. A click on a query token expands it into the columns
 * that make its attention: the query vector q, each key vector k, q × k elementwise, the score
 * q·k/√d and the softmax, blue for positive and orange for negative. Causal models show only the
 * keys up to the query. Vectors are canvas strips, one cell per dimension (zoomable, scrolling);
 * scores and softmax are text; every value is exact in the tooltip. All state is per instance.
 */

import type { NeuronData } from '../protocol/decode';
import { weight } from '../state/blocks';
import type { Slice } from '../state/layout';
import { attendedKeys, type NeuronColumns, neuronColumns, vectorOf } from '../state/neuron';
import { createCanvas, LineBatch, sizeCanvas } from './canvas';
import { diverging, headColor } from './palette';
import type { Colors } from './theme';
import { escapeHtml, showTooltip } from './tooltip';

interface NeuronViewState {
  slice: Slice;
  data: NeuronData;
  /** Index of the stored attention layer (lines of the collapsed view). */
  layer: number;
  /** Index of the same layer in data.queries/data.keys. */
  qkLayer: number;
  head: number;
  colors: Colors;
}

const ROW = 20;
const LINES_COLLAPSED = 220;
const LINES_EXPANDED = 120;
const NUMBER_W = 64;

/** Default pixels per vector dimension: about 256 px per vector, 2 to 12 px a cell. */
export function defaultCell(dim: number): number {
  return Math.max(2, Math.min(12, Math.floor(256 / dim)));
}

const fmt = (v: number) => v.toPrecision(6);

function maxAbs(arrays: ArrayLike<number>[]): number {
  let m = 0;
  for (const a of arrays) for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

function div(className: string, text = ''): HTMLDivElement {
  const el = document.createElement('div');
  el.className = className;
  el.textContent = text;
  return el;
}

/** Put `el` in grid row `row` (1 = header), column `col`, spanning `rows` rows. */
function place<T extends HTMLElement>(el: T, row: number, col: number, rows = 1): T {
  el.style.gridArea = `${row} / ${col} / span ${rows} / span 1`;
  return el;
}

export class NeuronView {
  readonly el = div('aw-neuron');
  private hint = div('aw-n-hint');
  private zoom = document.createElement('input');
  private grid = div('aw-n-grid');
  private lines = createCanvas('aw-n-lines');
  private state: NeuronViewState | null = null;
  /** Expanded query position (absolute), or null when collapsed. */
  private query: number | null = null;
  private columns: NeuronColumns | null = null;
  /** Key positions shown in the expanded view. */
  private keys: number[] = [];
  private cell: number | null = null;
  private focused: number | null = null;

  constructor(private tooltip: HTMLDivElement) {
    this.zoom.type = 'range';
    this.zoom.min = '1';
    this.zoom.max = '16';
    this.zoom.className = 'aw-n-zoom';
    this.zoom.setAttribute('aria-label', 'Cell width of the vectors (pixels per dimension)');
    this.zoom.addEventListener('input', () => {
      this.cell = Number(this.zoom.value);
      this.render();
    });
    const zoomLabel = document.createElement('label');
    zoomLabel.className = 'aw-label aw-n-zoom-label';
    zoomLabel.append('Zoom', this.zoom);
    const bar = div('aw-n-bar');
    bar.append(this.hint, zoomLabel);
    this.el.append(bar, this.grid);
    this.grid.addEventListener('click', e => {
      const token = (e.target as HTMLElement).closest<HTMLElement>('[data-query]');
      if (!token) return;
      const q = Number(token.dataset.query);
      this.query = this.query === q ? null : q;
      this.render();
    });
    this.grid.addEventListener('mousemove', e => this.onMove(e));
    this.grid.addEventListener('mouseleave', () => {
      this.tooltip.hidden = true;
      if (this.focused !== null) {
        this.focused = null;
        this.paintLines(null);
      }
    });
  }

  update(state: NeuronViewState): void {
    this.state = state;
    if (this.query !== null && (this.query < state.slice.q0 || this.query >= state.slice.q1)) this.query = null;
    this.render();
  }

  private render(): void {
    const { slice, data, qkLayer, head } = this.state!;
    const n = Math.max(slice.q1 - slice.q0, slice.k1 - slice.k0);
    const cell = this.cell ?? defaultCell(data.dim);
    const vecW = data.dim * cell;
    const q = this.query;
    this.tooltip.hidden = true;
    this.focused = null;
    this.el.dataset.query = q === null ? '' : String(q);
    this.zoom.value = String(cell);
    this.zoom.parentElement!.hidden = q === null;
    this.hint.textContent =
      q === null
        ? 'Click a query token to see how its query q and the keys k make its attention.'
        : `Query “${slice.queryTokens[q - slice.q0]}” (${q}): q · k of each key, scaled, softmax = attention. Click it again to collapse.`;

    const headers =
      q === null
        ? [
            ['Query', 'auto'],
            ['', `${LINES_COLLAPSED}px`],
            ['Key', 'auto']
          ]
        : [
            ['Query', 'auto'],
            ['q', `${vecW}px`],
            ['', `${LINES_EXPANDED}px`],
            ['k', `${vecW}px`],
            ['q × k', `${vecW}px`],
            ['q·k/√d', `${NUMBER_W}px`],
            ['Softmax', `${NUMBER_W}px`],
            ['Key', 'auto']
          ];
    this.grid.style.gridTemplateColumns = headers.map(h => h[1]).join(' ');
    this.grid.style.gridTemplateRows = `auto repeat(${n}, ${ROW}px)`;
    const cells: HTMLElement[] = headers.map(([text], i) => place(div('aw-n-header', text), 1, i + 1));

    for (let i = slice.q0; i < slice.q1; i++) {
      const token = place(document.createElement('button'), 2 + i - slice.q0, 1);
      token.type = 'button';
      token.className = 'aw-n-token aw-n-query';
      token.classList.toggle('aw-on', i === q);
      token.dataset.query = String(i);
      token.setAttribute('aria-expanded', String(i === q));
      token.title = i === q ? 'Click to collapse' : 'Click to see q, k, q × k, q·k/√d and softmax';
      token.append(div('aw-n-chevron', i === q ? '▾' : '▸'), slice.queryTokens[i - slice.q0]);
      cells.push(token);
    }
    cells.push(place(this.lines, 2, q === null ? 2 : 3, n));

    const attended = q === null ? data.seq : attendedKeys(data, q);
    this.keys = [];
    for (let k = slice.k0; k < Math.min(slice.k1, attended); k++) this.keys.push(k);
    for (const k of this.keys) cells.push(place(div('aw-n-token aw-n-key', slice.keyTokens[k - slice.k0]), 2 + k - slice.k0, headers.length));

    this.columns = null;
    if (q !== null) {
      const qv = vectorOf(data, 'queries', qkLayer, head, q);
      const kv = Array.from({ length: attended }, (_, k) => vectorOf(data, 'keys', qkLayer, head, k));
      const cols = neuronColumns(qv, kv, data.scaling[qkLayer]);
      this.columns = cols;
      const shownK = this.keys.map(k => kv[k]);
      const shownP = this.keys.map(k => cols.products[k]);
      const vecMax = maxAbs([qv, ...shownK]);
      const strips: [string, number, [number, ArrayLike<number>][], number][] = [
        ['q', 2, [[q - slice.q0, qv]], vecMax],
        ['k', 4, this.keys.map((k, j) => [k - slice.k0, shownK[j]]), vecMax],
        ['qk', 5, this.keys.map((k, j) => [k - slice.k0, shownP[j]]), maxAbs(shownP)]
      ];
      for (const [column, col, rows, max] of strips) {
        const canvas = place(createCanvas('aw-n-vectors'), 2, col, n);
        canvas.dataset.column = column;
        paintStrips(canvas, rows, max, cell, data.dim, n, this.state!.colors);
        cells.push(canvas);
      }
      const scoreMax = maxAbs([this.keys.map(k => cols.scores[k])]);
      const softMax = maxAbs([this.keys.map(k => cols.softmax[k])]);
      for (const k of this.keys) {
        for (const [column, col, value, max] of [
          ['score', 6, cols.scores[k], scoreMax],
          ['softmax', 7, cols.softmax[k], softMax]
        ] as const) {
          const num = place(div('aw-n-number', value.toFixed(column === 'score' ? 2 : 3)), 2 + k - slice.k0, col);
          num.dataset.column = column;
          num.dataset.key = String(k);
          num.dataset.value = String(value);
          num.style.background = diverging(value, max);
          cells.push(num);
        }
      }
    }
    this.grid.replaceChildren(...cells);
    this.paintLines(null);
  }

  /** Lines from the expanded query (opacity = softmax), or from every query / the hovered one (model attention). */
  private paintLines(focus: number | null): void {
    const { slice, layer, head } = this.state!;
    const n = Math.max(slice.q1 - slice.q0, slice.k1 - slice.k0);
    const width = this.query === null ? LINES_COLLAPSED : LINES_EXPANDED;
    const ctx = sizeCanvas(this.lines, width, n * ROW);
    const y = (row: number) => row * ROW + ROW / 2;
    const batch = new LineBatch();
    if (this.query !== null) {
      for (const k of this.keys) batch.add(0, y(this.query - slice.q0), width, y(k - slice.k0), this.columns!.softmax[k]);
    } else {
      for (let q = slice.q0; q < slice.q1; q++) {
        if (focus !== null && q !== focus) continue;
        for (let k = slice.k0; k < slice.k1; k++) batch.add(0, y(q - slice.q0), width, y(k - slice.k0), weight(slice.block, layer, head, q, k));
      }
    }
    batch.stroke(ctx, headColor(head, slice.block.heads));
  }

  private onMove(e: MouseEvent): void {
    const target = e.target as HTMLElement;
    if (this.query === null) {
      const token = target.closest<HTMLElement>('[data-query]');
      const focus = token ? Number(token.dataset.query) : null;
      if (focus !== this.focused) {
        this.focused = focus;
        this.paintLines(focus);
      }
    }
    const html = this.query === null ? null : this.tip(target, e);
    if (html) showTooltip(this.tooltip, e, html);
    else this.tooltip.hidden = true;
  }

  /** Tooltip of the value under the mouse in the expanded columns. */
  private tip(target: HTMLElement, e: MouseEvent): string | null {
    const { slice, data, qkLayer, head } = this.state!;
    const column = target.dataset.column;
    const q = this.query!;
    const cols = this.columns!;
    const keyName = (k: number) => `“${escapeHtml(slice.keyTokens[k - slice.k0])}” (${k})`;
    if (column === 'score' || column === 'softmax') {
      const k = Number(target.dataset.key);
      const scale = data.scaling[qkLayer];
      return column === 'score'
        ? `<div class="aw-tip-title">q · k of ${keyName(k)}</div>q · k = ${fmt(cols.scores[k] / scale)}<br>× ${fmt(scale)} = <b>${fmt(cols.scores[k])}</b>`
        : `<div class="aw-tip-title">softmax for ${keyName(k)}</div>softmax = <b>${fmt(cols.softmax[k])}</b><br>model attention ${fmt(weight(slice.block, this.state!.layer, head, q, k))}`;
    }
    if (!column) return null;
    const rect = target.getBoundingClientRect();
    const i = Math.floor(((e.clientX - rect.left) / rect.width) * data.dim);
    const row = Math.floor((e.clientY - rect.top) / ROW);
    const qv = vectorOf(data, 'queries', qkLayer, head, q);
    if (column === 'q')
      return row === q - slice.q0 ? `<div class="aw-tip-title">q[${i}] of query ${escapeHtml(slice.queryTokens[row])} (${q})</div><b>${fmt(qv[i])}</b>` : null;
    const k = slice.k0 + row;
    if (!this.keys.includes(k)) return null;
    const kv = vectorOf(data, 'keys', qkLayer, head, k);
    return column === 'k'
      ? `<div class="aw-tip-title">k[${i}] of ${keyName(k)}</div><b>${fmt(kv[i])}</b>`
      : `<div class="aw-tip-title">q[${i}] × k[${i}] of ${keyName(k)}</div>${fmt(qv[i])} × ${fmt(kv[i])} = <b>${fmt(cols.products[k][i])}</b>`;
  }
}

/** Vectors as rows of cells, coloured by value on a ±`max` scale. */
function paintStrips(canvas: HTMLCanvasElement, rows: [number, ArrayLike<number>][], max: number, cell: number, dim: number, n: number, colors: Colors): void {
  const ctx = sizeCanvas(canvas, dim * cell, n * ROW);
  const gap = cell >= 4 ? 1 : 0;
  ctx.strokeStyle = colors.highlight;
  for (const [row, values] of rows) {
    ctx.strokeRect(0.5, row * ROW + 2.5, dim * cell - 1, ROW - 5);
    for (let i = 0; i < dim; i++) {
      ctx.fillStyle = diverging(values[i], max);
      ctx.fillRect(i * cell, row * ROW + 3, cell - gap, ROW - 6);
    }
  }
}
