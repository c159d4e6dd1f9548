/**
 * Zoomable heatmap of one layer's attention for long inputs: wheel to zoom (around the pointer),
 * drag to pan, double-click to reset, a minimap of the whole matrix, token labels drawn only for
 * the visible rows/columns once cells are large enough to read, and token search. What is drawn
 * is a tile (see tiles.ts): max-pooled to the screen's resolution, fetched from the kernel when
 * the weights are not all in the browser.
 */

import type { Tile } from '../protocol/decode';
import type { TileRequest } from '../protocol/model';
import type { HeadSelection } from '../state/derive';
import { stepFor, tileWeight } from '../state/pool';
import { createCanvas, FONT, fitText, sizeCanvas } from './canvas';
import { css, divergingRGBA, headColor, type RGB } from './palette';
import type { Colors } from './theme';
import { escapeHtml, showTooltip } from './tooltip';

interface HeatmapState extends HeadSelection {
  colors: Colors;
  /** Signed data (differences a − b): the mean of the heads on a diverging palette. */
  signed?: boolean;
  /** A tile now (dense data) or later (from the kernel). */
  fetch: (r: TileRequest) => Tile | Promise<Tile>;
}

interface Viewport {
  q0: number;
  q1: number;
  k0: number;
  k1: number;
}

const SIZE = 640;
const MINI = 128;
const LABEL_W = 110;
const LABEL_H = 90;
const MIN_SPAN = 8;
const READABLE_CELL = 9;

/** Tokens per cell for a window of `span` tokens drawn in `size` pixels. */
export function poolStep(span: number, size = SIZE): number {
  return stepFor(span, size);
}

/** Zoom `v` by `factor` (< 1 zooms in) around the fractional point (fq, fk), clamped to `bounds`. */
export function zoomViewport(v: Viewport, bounds: Viewport, factor: number, fq: number, fk: number): Viewport {
  const axis = (a0: number, a1: number, b0: number, b1: number, f: number) => {
    const span = Math.min(b1 - b0, Math.max(Math.min(MIN_SPAN, b1 - b0), Math.round((a1 - a0) * factor)));
    const centre = a0 + (a1 - a0) * f;
    let start = Math.round(centre - span * f);
    start = Math.max(b0, Math.min(b1 - span, start));
    return [start, start + span];
  };
  const [q0, q1] = axis(v.q0, v.q1, bounds.q0, bounds.q1, fq);
  const [k0, k1] = axis(v.k0, v.k1, bounds.k0, bounds.k1, fk);
  return { q0, q1, k0, k1 };
}

/** Move `v` by (dq, dk) tokens, clamped to `bounds`. */
export function panViewport(v: Viewport, bounds: Viewport, dq: number, dk: number): Viewport {
  const shift = (a0: number, a1: number, b0: number, b1: number, d: number) => {
    const s = Math.max(b0 - a0, Math.min(b1 - a1, Math.round(d)));
    return [a0 + s, a1 + s];
  };
  const [q0, q1] = shift(v.q0, v.q1, bounds.q0, bounds.q1, dq);
  const [k0, k1] = shift(v.k0, v.k1, bounds.k0, bounds.k1, dk);
  return { q0, q1, k0, k1 };
}

/** Positions (absolute) of tokens containing `text`, case-insensitive. */
export function findTokens(tokens: string[], offset: number, text: string): number[] {
  const needle = text.trim().toLowerCase();
  if (!needle) return [];
  const out: number[] = [];
  tokens.forEach((t, i) => {
    if (t.toLowerCase().includes(needle)) out.push(offset + i);
  });
  return out;
}

/** Blend heads into RGBA pixels: colour = weight-average of head colours, alpha = strongest head / peak. */
function blendTile(t: Tile, colors: RGB[]): ImageData {
  const n = t.rows * t.cols;
  const image = new ImageData(t.cols, t.rows);
  const px = image.data;
  const alpha = new Float32Array(n);
  let peak = 0;
  for (let c = 0; c < n; c++) {
    let r = 0,
      g = 0,
      b = 0,
      sum = 0,
      max = 0;
    for (let i = 0; i < t.heads.length; i++) {
      const w = t.values[i * n + c] * t.mul[i];
      r += w * colors[i][0];
      g += w * colors[i][1];
      b += w * colors[i][2];
      sum += w;
      if (w > max) max = w;
    }
    if (sum > 0) {
      px[4 * c] = r / sum;
      px[4 * c + 1] = g / sum;
      px[4 * c + 2] = b / sum;
    }
    alpha[c] = max;
    if (max > peak) peak = max;
  }
  for (let c = 0; c < n; c++) px[4 * c + 3] = peak ? Math.round((255 * alpha[c]) / peak) : 0;
  return image;
}

/** Signed tiles: the mean over heads of each cell on the diverging palette, ±(largest |mean|) at full opacity. */
function divergingTile(t: Tile): ImageData {
  const n = t.rows * t.cols;
  const image = new ImageData(t.cols, t.rows);
  const mean = new Float32Array(n);
  let peak = 0;
  for (let c = 0; c < n; c++) {
    for (let i = 0; i < t.heads.length; i++) mean[c] += t.values[i * n + c] * t.mul[i];
    mean[c] /= t.heads.length;
    peak = Math.max(peak, Math.abs(mean[c]));
  }
  for (let c = 0; c < n; c++) image.data.set(divergingRGBA(mean[c], peak), 4 * c);
  return image;
}

export class HeatmapView {
  readonly el = document.createElement('div');
  private canvas = createCanvas('aw-heatmap-canvas');
  private overlay = createCanvas('aw-head-overlay');
  private mini = createCanvas('aw-minimap');
  private status = document.createElement('div');
  private state: HeatmapState | null = null;
  private bounds: Viewport = { q0: 0, q1: 0, k0: 0, k1: 0 };
  private view: Viewport = { q0: 0, q1: 0, k0: 0, k1: 0 };
  private tile: Tile | null = null;
  private overview: Tile | null = null;
  private cell = 1;
  private generation = 0;
  private matches: number[] = [];
  private match = -1;
  private drag: { x: number; y: number; view: Viewport } | null = null;

  /** `onPainted` is called each time a tile is drawn (tests and benchmarks wait on it). */
  constructor(
    private tooltip: HTMLDivElement,
    private onPainted: () => void = () => {}
  ) {
    this.el.className = 'aw-heatmap';
    const stack = document.createElement('div');
    stack.className = 'aw-stack';
    stack.append(this.canvas, this.overlay);
    const side = document.createElement('div');
    side.className = 'aw-heatmap-side';
    this.status.className = 'aw-muted aw-heatmap-status';
    side.append(this.mini, this.status);
    this.el.append(stack, side);
    this.overlay.addEventListener('wheel', e => this.onWheel(e), { passive: false });
    this.overlay.addEventListener('mousedown', e => (this.drag = { x: e.clientX, y: e.clientY, view: this.view }));
    this.overlay.addEventListener('mousemove', e => this.onMove(e));
    this.overlay.addEventListener('mouseleave', () => this.clearHover());
    window.addEventListener('mouseup', this.endDrag);
    this.overlay.addEventListener('dblclick', () => this.setView(this.bounds));
    this.mini.addEventListener('click', e => this.onMiniClick(e));
  }

  private readonly endDrag = () => (this.drag = null);

  dispose(): void {
    window.removeEventListener('mouseup', this.endDrag);
  }

  /** New data or selection; keeps the zoom when only the heads or layer changed. */
  update(state: HeatmapState): void {
    const s = state.slice;
    const bounds = { q0: s.q0, q1: s.q1, k0: s.k0, k1: s.k1 };
    const sameWindow = this.state && this.state.slice.kind === s.kind && JSON.stringify(bounds) === JSON.stringify(this.bounds);
    this.state = state;
    this.bounds = bounds;
    if (!sameWindow) this.view = bounds;
    this.overview = null;
    this.paint();
  }

  setView(v: Viewport): void {
    this.view = v;
    this.paint();
  }

  /** Highlight tokens containing `text` and zoom to the next match; returns the number of matches. */
  search(text: string): number {
    const s = this.state!.slice;
    const matches = [...new Set([...findTokens(s.queryTokens, s.q0, text), ...findTokens(s.keyTokens, s.k0, text)])].sort((a, b) => a - b);
    this.match = JSON.stringify(matches) === JSON.stringify(this.matches) ? (this.match + 1) % Math.max(1, matches.length) : 0;
    this.matches = matches;
    if (matches.length) {
      const m = matches[this.match];
      const span = Math.min(64, this.bounds.q1 - this.bounds.q0, this.bounds.k1 - this.bounds.k0);
      const half = Math.floor(span / 2);
      this.view = panViewport({ q0: m - half, q1: m - half + span, k0: m - half, k1: m - half + span }, this.bounds, 0, 0);
      this.view = panViewport(this.view, this.bounds, 0, 0);
    }
    this.paint();
    return matches.length;
  }

  private paint(): void {
    const s = this.state;
    if (!s) return;
    const gen = ++this.generation;
    const v = this.view;
    const span = Math.max(v.q1 - v.q0, v.k1 - v.k0);
    this.cell = Math.min(24, SIZE / span);
    const step = poolStep(span);
    const request: TileRequest = { kind: s.slice.kind, layer: s.layer, heads: s.heads, ...v, step };
    const all = { ...request, ...this.bounds, step: poolStep(Math.max(this.bounds.q1 - this.bounds.q0, this.bounds.k1 - this.bounds.k0), MINI) };
    const show = (tile: Tile) => {
      if (gen !== this.generation) return;
      this.tile = tile;
      this.drawMain();
      this.onPainted();
    };
    const showMini = (tile: Tile) => {
      if (gen !== this.generation) return;
      this.overview = tile;
      this.drawMini();
    };
    this.status.textContent = 'loading…';
    if (!s.heads.length) {
      this.tile = null;
      this.drawMain();
      return;
    }
    for (const [req, done] of [
      [request, show],
      [all, showMini]
    ] as const) {
      const t = s.fetch(req);
      if (t instanceof Promise) t.then(done, err => (this.status.textContent = String(err.message ?? err)));
      else done(t);
    }
  }

  private drawMain(): void {
    const s = this.state!;
    const v = this.view;
    const labels = this.cell >= READABLE_CELL;
    const w = LABEL_W + (v.k1 - v.k0) * this.cell;
    const h = LABEL_H + (v.q1 - v.q0) * this.cell;
    const ctx = sizeCanvas(this.canvas, w, h);
    sizeCanvas(this.overlay, w, h);
    ctx.clearRect(0, 0, w, h);
    const t = this.tile;
    if (t?.heads.length) {
      const tile = createCanvas('');
      tile.width = t.cols;
      tile.height = t.rows;
      tile.getContext('2d')!.putImageData(this.image(t), 0, 0);
      ctx.save();
      ctx.beginPath();
      ctx.rect(LABEL_W, LABEL_H, w - LABEL_W, h - LABEL_H);
      ctx.clip();
      ctx.imageSmoothingEnabled = false;
      const x = LABEL_W + (t.k0 - v.k0) * this.cell;
      const y = LABEL_H + (t.q0 - v.q0) * this.cell;
      ctx.drawImage(tile, x, y, t.cols * t.step * this.cell, t.rows * t.step * this.cell);
      ctx.restore();
    }
    ctx.font = FONT;
    ctx.fillStyle = s.colors.fg;
    ctx.textBaseline = 'middle';
    const matches = new Set(this.matches);
    const queryLabel = (q: number) => s.slice.queryTokens[q - s.slice.q0];
    const keyLabel = (k: number) => s.slice.keyTokens[k - s.slice.k0];
    // Only the visible rows/columns get labels (virtualised); positions every few cells otherwise.
    const every = labels ? 1 : Math.ceil(40 / this.cell);
    ctx.textAlign = 'right';
    for (let q = v.q0; q < v.q1; q += every) {
      const y = LABEL_H + (q - v.q0 + 0.5) * this.cell;
      ctx.fillStyle = matches.has(q) ? css([230, 120, 0]) : s.colors.fg;
      ctx.fillText(labels ? fitText(ctx, queryLabel(q), LABEL_W - 10) : String(q), LABEL_W - 6, y);
    }
    ctx.save();
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'left';
    for (let k = v.k0; k < v.k1; k += every) {
      const x = LABEL_W + (k - v.k0 + 0.5) * this.cell;
      ctx.fillStyle = matches.has(k) ? css([230, 120, 0]) : s.colors.fg;
      ctx.fillText(labels ? fitText(ctx, keyLabel(k), LABEL_H - 10) : String(k), -LABEL_H + 6, x);
    }
    ctx.restore();
    const zoom = (this.bounds.q1 - this.bounds.q0) / (v.q1 - v.q0);
    this.status.textContent =
      `queries ${v.q0}–${v.q1 - 1}, keys ${v.k0}–${v.k1 - 1}` +
      (t && t.step > 1 ? ` · 1 cell = ${t.step}×${t.step} tokens (max)` : '') +
      (zoom > 1.01 ? ` · zoom ×${zoom.toFixed(1)}` : '') +
      (this.matches.length ? ` · match ${this.match + 1}/${this.matches.length}` : '') +
      (t?.note ? ` · ${t.note}` : '');
    this.drawMini();
  }

  private image(t: Tile): ImageData {
    const s = this.state!;
    return s.signed
      ? divergingTile(t)
      : blendTile(
          t,
          t.heads.map(hd => headColor(hd, s.slice.block.heads))
        );
  }

  private drawMini(): void {
    const s = this.state!;
    const ctx = sizeCanvas(this.mini, MINI, MINI);
    ctx.clearRect(0, 0, MINI, MINI);
    ctx.fillStyle = s.colors.highlight;
    ctx.fillRect(0, 0, MINI, MINI);
    const o = this.overview;
    const b = this.bounds;
    const scale = MINI / Math.max(b.q1 - b.q0, b.k1 - b.k0);
    if (o?.heads.length) {
      const tile = createCanvas('');
      tile.width = o.cols;
      tile.height = o.rows;
      tile.getContext('2d')!.putImageData(this.image(o), 0, 0);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(tile, 0, 0, o.cols * o.step * scale, o.rows * o.step * scale);
    }
    ctx.fillStyle = css([230, 120, 0], 0.8);
    for (const m of this.matches) ctx.fillRect(0, (m - b.q0) * scale, 4, Math.max(1, scale));
    const v = this.view;
    ctx.strokeStyle = s.colors.fg;
    ctx.lineWidth = 1;
    ctx.strokeRect((v.k0 - b.k0) * scale + 0.5, (v.q0 - b.q0) * scale + 0.5, Math.max(2, (v.k1 - v.k0) * scale - 1), Math.max(2, (v.q1 - v.q0) * scale - 1));
  }

  /** (query, key) under the pointer, or null outside the matrix. */
  private cellAt(e: MouseEvent): { q: number; k: number; fq: number; fk: number } | null {
    const r = this.overlay.getBoundingClientRect();
    const x = e.clientX - r.left - LABEL_W;
    const y = e.clientY - r.top - LABEL_H;
    const v = this.view;
    const k = v.k0 + Math.floor(x / this.cell);
    const q = v.q0 + Math.floor(y / this.cell);
    if (x < 0 || y < 0 || q >= v.q1 || k >= v.k1) return null;
    return { q, k, fq: (q - v.q0) / (v.q1 - v.q0), fk: (k - v.k0) / (v.k1 - v.k0) };
  }

  private onWheel(e: WheelEvent): void {
    const c = this.cellAt(e);
    if (!c) return;
    e.preventDefault();
    this.setView(zoomViewport(this.view, this.bounds, e.deltaY < 0 ? 0.7 : 1 / 0.7, c.fq, c.fk));
  }

  private onMove(e: MouseEvent): void {
    if (this.drag) {
      const d = this.drag;
      const next = panViewport(d.view, this.bounds, -(e.clientY - d.y) / this.cell, -(e.clientX - d.x) / this.cell);
      if (JSON.stringify(next) !== JSON.stringify(this.view)) this.setView(next);
      return;
    }
    const c = this.cellAt(e);
    const ctx = this.overlay.getContext('2d')!;
    const v = this.view;
    ctx.clearRect(0, 0, this.overlay.width, this.overlay.height);
    if (!c || !this.tile) {
      this.clearHover();
      return;
    }
    const s = this.state!;
    const t = this.tile;
    const row = Math.floor((c.q - t.q0) / t.step);
    const col = Math.floor((c.k - t.k0) / t.step);
    const q0 = t.q0 + row * t.step;
    const k0 = t.k0 + col * t.step;
    ctx.strokeStyle = s.colors.fg;
    ctx.lineWidth = 1;
    const size = Math.max(1, t.step * this.cell);
    ctx.strokeRect(LABEL_W + 0.5, LABEL_H + (q0 - v.q0) * this.cell + 0.5, (v.k1 - v.k0) * this.cell - 1, size - 1);
    ctx.strokeRect(LABEL_W + (k0 - v.k0) * this.cell + 0.5, LABEL_H + 0.5, size - 1, (v.q1 - v.q0) * this.cell - 1);
    const tok = (list: string[], offset: number, i: number) => escapeHtml(list[i - offset] ?? '');
    const title =
      t.step === 1
        ? `${tok(s.slice.queryTokens, s.slice.q0, c.q)} (${c.q}) → ${tok(s.slice.keyTokens, s.slice.k0, c.k)} (${c.k})`
        : `queries ${q0}–${Math.min(q0 + t.step, t.q1) - 1} → keys ${k0}–${Math.min(k0 + t.step, t.k1) - 1} (${s.signed ? 'largest |a − b|' : 'max'})`;
    const value = (i: number) => {
      const w = tileWeight(t, i, row, col);
      return s.signed ? `a − b = ${w > 0 ? '+' : ''}${w.toFixed(4)}` : w.toFixed(4);
    };
    const rows = t.heads.map(
      (h, i) =>
        `<div class="aw-tip-row"><span class="aw-swatch" style="background:${css(headColor(h, s.slice.block.heads))}"></span>head ${h}<b>${value(i)}</b></div>`
    );
    showTooltip(this.tooltip, e, `<div class="aw-tip-title">${title}</div>${rows.join('')}`);
  }

  private clearHover(): void {
    this.tooltip.hidden = true;
    this.overlay.getContext('2d')?.clearRect(0, 0, this.overlay.width, this.overlay.height);
  }

  private onMiniClick(e: MouseEvent): void {
    const r = this.mini.getBoundingClientRect();
    const b = this.bounds;
    const scale = MINI / Math.max(b.q1 - b.q0, b.k1 - b.k0);
    const q = b.q0 + (e.clientY - r.top) / scale;
    const k = b.k0 + (e.clientX - r.left) / scale;
    const v = this.view;
    this.setView(panViewport(v, b, q - (v.q0 + v.q1) / 2, k - (v.k0 + v.k1) / 2));
  }
}
