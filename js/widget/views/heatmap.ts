/**
 * Zoomable heatmap of one layer's attention for long inputs. By default one head, or the mean of
 * the selected heads, on a sequential scale with a colour bar (linear, √ or log contrast); mixing
 * heads by colour is a separate, labelled mode. Axis titles (query ↓, key →), token labels once
 * cells are large enough to read, a minimap and token search (matches as inverted labels).
 * Zoom: wheel while the map has focus (click or Tab) or with Ctrl/⌘/Alt held, else the page
 * scrolls; the canvas keeps its size and the cells grow. Drag pans, double-click resets.
 * Keyboard: arrows move the inspected cell (tooltip as on hover), + / − zoom, 0 resets.
 * What is drawn is a tile (see tiles.ts): max-pooled to the screen's resolution, fetched from the
 * kernel when the weights are not all in the browser.
 */

import type { Tile } from '../protocol/decode';
import type { TileRequest } from '../protocol/model';
import type { HeadSelection } from '../state/derive';
import { stepFor, tileWeight } from '../state/pool';
import { createCanvas, FONT, fitText, sizeCanvas } from './canvas';
import { type Contrast, css, divergingRGBA, headColor, LOG_DECADES, type RGB, scalePosition, scaleTicks, sequentialInk } from './palette';
import type { Colors } from './theme';
import { escapeHtml, showTooltip } from './tooltip';

interface HeatmapState extends HeadSelection {
  colors: Colors;
  /** Signed data (differences a − b): the mean of the heads on a diverging palette. */
  signed?: boolean;
  /** A tile now (dense data) or later (from the kernel). */
  fetch: (r: TileRequest) => Tile | Promise<Tile>;
  /** Width available to the view (CSS px; 0: unknown, the full size is used). */
  width?: number;
}

interface Viewport {
  q0: number;
  q1: number;
  k0: number;
  k1: number;
}

/** How several selected heads are drawn: their mean on the scale (default), or one colour per head. */
export type HeadsMode = 'mean' | 'blend';

/** Largest side of the plot, and of one cell before zooming (CSS px). */
const SIZE = 640;
const MAX_CELL = 24;
/** Smallest plot side when the output is narrow (the body scrolls sideways below that). */
const MIN_SIZE = 240;
/** Room kept beside the plot for the minimap and status (128 px and the gap). */
const SIDE = 148;
const MINI = 128;
/** Axis title band, token label band, and the colour bar's gap, width and tick labels (CSS px). */
const TITLE = 16;
const LABEL_W = 110;
const LABEL_H = 90;
const LEFT = TITLE + LABEL_W;
const TOP = TITLE + LABEL_H;
const BAR_GAP = 16;
const BAR_W = 14;
const BAR_TEXT = 64;
const MIN_BAR_H = 120;
/** Room below the plot for the colour bar's lowest tick label. */
const BOTTOM = 8;
const MIN_SPAN = 8;
const READABLE_CELL = 9;
const ZOOM_STEP = 0.7;

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

/** Pixel size of the plot and of one cell before zooming, for a matrix of `bounds` in at most `size` px: constant while zooming. */
export function plotSize(bounds: Viewport, size = SIZE): { cell: number; width: number; height: number } {
  const span = Math.max(1, bounds.q1 - bounds.q0, bounds.k1 - bounds.k0);
  const cell = Math.min(MAX_CELL, size / span);
  return { cell, width: (bounds.k1 - bounds.k0) * cell, height: (bounds.q1 - bounds.q0) * cell };
}

/** Per cell of a tile, the value the scale shows: mean over heads (mean/signed), or the strongest head (blend). */
export function cellValues(t: Tile, mode: HeadsMode | 'signed'): Float32Array {
  const n = t.rows * t.cols;
  const out = new Float32Array(n);
  if (!t.heads.length) return out;
  for (let c = 0; c < n; c++) {
    let sum = 0;
    let max = 0;
    for (let i = 0; i < t.heads.length; i++) {
      const w = t.values[i * n + c] * t.mul[i];
      sum += w;
      if (w > max) max = w;
    }
    out[c] = mode === 'blend' ? max : sum / t.heads.length;
  }
  return out;
}

/** Largest value (largest |value| for signed data). */
function peakOf(values: Float32Array): number {
  let peak = 0;
  for (const v of values) peak = Math.max(peak, Math.abs(v));
  return peak;
}

/** What the colour scale shows: a title, its range and how to colour a value. */
interface Scale {
  title: string;
  peak: number;
  signed: boolean;
  contrast: Contrast;
  /** RGBA (0–255) of a value. */
  rgba: (v: number) => [number, number, number, number];
}

export class HeatmapView {
  readonly el = document.createElement('div');
  private canvas = createCanvas('aw-heatmap-canvas');
  private overlay = createCanvas('aw-head-overlay aw-heatmap-overlay');
  private mini = createCanvas('aw-minimap');
  private caption = document.createElement('div');
  private status = document.createElement('div');
  private live = document.createElement('div');
  private headsSelect = document.createElement('select');
  private contrastSelect = document.createElement('select');
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
  /** Cell inspected from the keyboard (absolute query, key). */
  private cursor: { q: number; k: number } | null = null;
  /** Largest side of the plot (CSS px): SIZE, less in a narrow output; set when the matrix changes, kept while zooming. */
  private size = SIZE;
  headsMode: HeadsMode = 'mean';
  contrast: Contrast = 'linear';

  /** `onPainted` is called each time a tile is drawn (tests and benchmarks wait on it). */
  constructor(
    private tooltip: HTMLDivElement,
    private onPainted: () => void = () => {}
  ) {
    this.el.className = 'aw-heatmap';
    const controls = document.createElement('div');
    controls.className = 'aw-heatmap-controls';
    const option = (value: string, label: string) => Object.assign(document.createElement('option'), { value, textContent: label });
    this.headsSelect.className = 'aw-select aw-heads-mode';
    this.headsSelect.append(option('mean', 'Mean of selected heads'), option('blend', 'Blend: one colour per head'));
    this.contrastSelect.className = 'aw-select aw-contrast';
    this.contrastSelect.append(option('linear', 'Linear'), option('sqrt', '√ (gamma 0.5)'), option('log', 'Log (3 decades)'));
    for (const [select, label, set] of [
      [this.headsSelect, 'Heads', (v: string) => (this.headsMode = v as HeadsMode)],
      [this.contrastSelect, 'Scale', (v: string) => (this.contrast = v as Contrast)]
    ] as const) {
      select.setAttribute('aria-label', `Heatmap ${label.toLowerCase()}`);
      select.addEventListener('change', () => {
        set(select.value);
        this.paint();
      });
      const wrap = document.createElement('label');
      wrap.className = 'aw-label';
      wrap.append(label, select);
      controls.append(wrap);
    }
    this.caption.className = 'aw-heatmap-caption';
    controls.append(this.caption);
    const plot = document.createElement('div');
    plot.className = 'aw-heatmap-plot';
    const stack = document.createElement('div');
    stack.className = 'aw-stack';
    stack.append(this.canvas, this.overlay);
    const side = document.createElement('div');
    side.className = 'aw-heatmap-side';
    this.status.className = 'aw-muted aw-heatmap-status';
    this.live.className = 'aw-sr-only';
    this.live.setAttribute('aria-live', 'polite');
    this.mini.setAttribute('role', 'img');
    this.mini.setAttribute('aria-label', 'Minimap of the whole matrix (click to move the view)');
    side.append(this.mini, this.status, this.live);
    plot.append(stack, side);
    this.el.append(controls, plot);
    this.overlay.tabIndex = 0;
    this.overlay.setAttribute('role', 'img');
    this.overlay.setAttribute('aria-roledescription', 'attention heatmap');
    this.overlay.addEventListener('wheel', e => this.onWheel(e), { passive: false });
    this.overlay.addEventListener('mousedown', e => (this.drag = { x: e.clientX, y: e.clientY, view: this.view }));
    this.overlay.addEventListener('mousemove', e => this.onMove(e));
    this.overlay.addEventListener('mouseleave', () => this.clearHover());
    this.overlay.addEventListener('keydown', e => this.onKey(e));
    this.overlay.addEventListener('blur', () => this.clearHover());
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
    if (!sameWindow) {
      this.view = bounds;
      this.cursor = null;
      const room = state.width ?? 0;
      this.size = room > 0 ? Math.max(MIN_SIZE, Math.min(SIZE, room - LEFT - BAR_GAP - BAR_W - BAR_TEXT - SIDE)) : SIZE;
    }
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
    }
    this.paint();
    return matches.length;
  }

  /** What the scale shows now: the mean of the heads (or the one head), the strongest head (blend), or a − b. */
  private mode(): HeadsMode | 'signed' {
    const s = this.state!;
    return s.signed ? 'signed' : s.heads.length > 1 ? this.headsMode : 'mean';
  }

  private describeHeads(): string {
    const s = this.state!;
    const list = s.heads.join(', ');
    switch (this.mode()) {
      case 'signed':
        return s.heads.length === 1 ? `head ${list}: a − b` : `mean over heads ${list} of a − b`;
      case 'blend':
        return `heads ${list} blended: colour = head, opacity = strongest head`;
      default:
        return s.heads.length === 1 ? `head ${list}` : `mean of heads ${list}`;
    }
  }

  private scale(): Scale {
    const s = this.state!;
    const mode = this.mode();
    const values = this.overview ?? this.tile;
    const peak = values ? peakOf(cellValues(values, mode)) : 0;
    const contrast = this.contrast;
    if (mode === 'signed') {
      return { title: 'a − b', peak, signed: true, contrast: 'linear', rgba: v => divergingRGBA(v, peak) };
    }
    const ink: RGB = mode === 'blend' ? [128, 128, 128] : sequentialInk(s.colors.dark);
    return {
      title: mode === 'blend' ? 'strongest head' : 'weight',
      peak,
      signed: false,
      contrast,
      rgba: v => [...ink, Math.round(255 * scalePosition(v, peak, contrast))]
    };
  }

  private paint(): void {
    const s = this.state;
    if (!s) return;
    this.headsSelect.parentElement!.hidden = !!s.signed || s.heads.length < 2;
    this.contrastSelect.parentElement!.hidden = !!s.signed;
    this.headsSelect.value = this.headsMode;
    this.contrastSelect.value = this.contrast;
    this.caption.textContent = s.heads.length ? this.describeHeads() : '';
    this.overlay.setAttribute('aria-label', `Attention heatmap, ${this.describeHeads()}: arrows inspect a cell, + and − zoom, 0 resets`);
    const gen = ++this.generation;
    const v = this.view;
    const plot = plotSize(this.bounds, this.size);
    const fullSpan = Math.max(this.bounds.q1 - this.bounds.q0, this.bounds.k1 - this.bounds.k0);
    const span = Math.max(v.q1 - v.q0, v.k1 - v.k0);
    this.cell = (plot.cell * fullSpan) / Math.max(1, span);
    const step = poolStep(span, Math.floor(span * Math.min(1, this.cell)));
    const request: TileRequest = { kind: s.slice.kind, layer: s.layer, heads: s.heads, ...v, step };
    const all = { ...request, ...this.bounds, step: poolStep(fullSpan, MINI) };
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
      if (this.tile) this.drawMain(); // the scale's peak comes from the whole matrix
    };
    this.status.textContent = 'loading…';
    this.overview = null;
    if (!s.heads.length) {
      this.tile = null;
      this.drawMain();
      return;
    }
    for (const [req, done] of [
      [all, showMini],
      [request, show]
    ] as const) {
      const t = s.fetch(req);
      if (t instanceof Promise) t.then(done, err => (this.status.textContent = String(err.message ?? err)));
      else done(t);
    }
  }

  /** Canvas size: constant for a matrix whatever the zoom. */
  private canvasSize(): { w: number; h: number; plotW: number; plotH: number } {
    const p = plotSize(this.bounds, this.size);
    return { w: LEFT + p.width + BAR_GAP + BAR_W + BAR_TEXT, h: TOP + Math.max(p.height, MIN_BAR_H) + BOTTOM, plotW: p.width, plotH: p.height };
  }

  private drawMain(): void {
    const s = this.state!;
    const v = this.view;
    const { w, h, plotW, plotH } = this.canvasSize();
    const ctx = sizeCanvas(this.canvas, w, h);
    sizeCanvas(this.overlay, w, h);
    // Where the matrix is on the canvas (CSS px), for tests and scripts that point at a cell.
    Object.assign(this.overlay.dataset, { left: String(LEFT), top: String(TOP), cell: String(this.cell) });
    ctx.clearRect(0, 0, w, h);
    ctx.font = FONT;
    ctx.textBaseline = 'middle';
    ctx.fillStyle = s.colors.fg;
    const t = this.tile;
    if (!s.heads.length) {
      ctx.textAlign = 'left';
      ctx.fillText('No head selected: pick one with the head squares above.', 8, 16);
      this.status.textContent = 'no head selected';
      return;
    }
    const scale = this.scale();
    ctx.strokeStyle = s.colors.highlight;
    ctx.strokeRect(LEFT - 0.5, TOP - 0.5, plotW + 1, plotH + 1);
    if (t?.heads.length) {
      const tile = createCanvas('');
      tile.width = t.cols;
      tile.height = t.rows;
      tile.getContext('2d')!.putImageData(this.image(t, scale), 0, 0);
      ctx.save();
      ctx.beginPath();
      ctx.rect(LEFT, TOP, plotW, plotH);
      ctx.clip();
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(tile, LEFT + (t.k0 - v.k0) * this.cell, TOP + (t.q0 - v.q0) * this.cell, t.cols * t.step * this.cell, t.rows * t.step * this.cell);
      ctx.restore();
    }
    this.drawAxes(ctx, plotW, plotH);
    this.drawColorBar(ctx, scale, LEFT + plotW + BAR_GAP, TOP, Math.max(MIN_BAR_H, plotH));
    const zoom = (this.bounds.q1 - this.bounds.q0) / (v.q1 - v.q0);
    const focused = document.activeElement === this.overlay;
    this.status.textContent =
      `queries ${v.q0}–${v.q1 - 1}, keys ${v.k0}–${v.k1 - 1}` +
      (t && t.step > 1 ? ` · 1 cell = ${t.step}×${t.step} tokens (max)` : '') +
      (zoom > 1.01 ? ` · zoom ×${zoom.toFixed(1)}` : '') +
      (this.matches.length ? ` · match ${this.match + 1}/${this.matches.length}` : '') +
      (t?.note ? ` · ${t.note}` : '') +
      (focused ? ' · wheel or + / − zooms' : ' · click the map (or hold Ctrl) to zoom with the wheel');
    this.drawMini();
  }

  /** Axis titles, and token labels (or positions every few cells when cells are too small to read). */
  private drawAxes(ctx: CanvasRenderingContext2D, plotW: number, plotH: number): void {
    const s = this.state!;
    const v = this.view;
    const labels = this.cell >= READABLE_CELL;
    const matches = new Set(this.matches);
    const every = labels ? 1 : Math.ceil(40 / this.cell);
    const label = (text: string, x: number, y: number, match: boolean) => {
      if (match) {
        const width = ctx.measureText(text).width;
        const left = ctx.textAlign === 'right' ? x - width : x;
        ctx.fillStyle = s.colors.fg;
        ctx.fillRect(left - 2, y - 7, width + 4, 14);
        ctx.fillStyle = s.colors.bg;
      } else ctx.fillStyle = s.colors.fg;
      ctx.fillText(text, x, y);
    };
    ctx.fillStyle = s.colors.fg;
    ctx.textAlign = 'center';
    ctx.fillText('key →', LEFT + plotW / 2, TITLE / 2);
    ctx.save();
    ctx.translate(TITLE / 2, TOP + plotH / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText('query ↓', 0, 0);
    ctx.restore();
    ctx.textAlign = 'right';
    for (let q = v.q0; q < v.q1; q += every) {
      const y = TOP + (q - v.q0 + 0.5) * this.cell;
      if (y > TOP + plotH) break;
      label(labels ? fitText(ctx, s.slice.queryTokens[q - s.slice.q0], LABEL_W - 10) : String(q), LEFT - 6, y, matches.has(q));
    }
    ctx.save();
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'left';
    for (let k = v.k0; k < v.k1; k += every) {
      const x = LEFT + (k - v.k0 + 0.5) * this.cell;
      if (x > LEFT + plotW) break;
      label(labels ? fitText(ctx, s.slice.keyTokens[k - s.slice.k0], LABEL_H - 10) : String(k), -TOP + 6, x, matches.has(k));
    }
    ctx.restore();
  }

  private drawColorBar(ctx: CanvasRenderingContext2D, scale: Scale, x: number, y: number, height: number): void {
    const s = this.state!;
    for (let i = 0; i < height; i++) {
      const f = 1 - i / (height - 1);
      const value = scale.signed
        ? (2 * f - 1) * scale.peak
        : scale.contrast === 'log'
          ? scale.peak * 10 ** (LOG_DECADES * (f - 1))
          : inverse(f, scale.contrast) * scale.peak;
      const [r, g, b, a] = scale.rgba(value);
      ctx.fillStyle = css([r, g, b], a / 255);
      ctx.fillRect(x, y + i, BAR_W, 1);
    }
    ctx.strokeStyle = s.colors.fg;
    ctx.lineWidth = 1;
    ctx.strokeRect(x + 0.5, y + 0.5, BAR_W - 1, height - 1);
    ctx.fillStyle = s.colors.fg;
    ctx.textAlign = 'left';
    for (const [value, f] of barTicks(scale)) {
      const ty = y + (1 - f) * (height - 1);
      ctx.fillRect(x + BAR_W, ty, 3, 1);
      ctx.fillText(formatTick(value), x + BAR_W + 5, ty);
    }
    ctx.textAlign = 'center';
    ctx.fillText(scale.title, x + BAR_W / 2 + 16, y - 10);
  }

  private image(t: Tile, scale: Scale): ImageData {
    const s = this.state!;
    const image = new ImageData(t.cols, t.rows);
    const mode = this.mode();
    const values = cellValues(t, mode);
    if (mode === 'blend') {
      const colors = t.heads.map(hd => headColor(hd, s.slice.block.heads));
      const n = t.rows * t.cols;
      for (let c = 0; c < n; c++) {
        let r = 0;
        let g = 0;
        let b = 0;
        let sum = 0;
        for (let i = 0; i < t.heads.length; i++) {
          const w = t.values[i * n + c] * t.mul[i];
          r += w * colors[i][0];
          g += w * colors[i][1];
          b += w * colors[i][2];
          sum += w;
        }
        if (sum > 0) image.data.set([r / sum, g / sum, b / sum, scale.rgba(values[c])[3]], 4 * c);
      }
      return image;
    }
    for (let c = 0; c < values.length; c++) image.data.set(scale.rgba(values[c]), 4 * c);
    return image;
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
      tile.getContext('2d')!.putImageData(this.image(o, this.scale()), 0, 0);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(tile, 0, 0, o.cols * o.step * scale, o.rows * o.step * scale);
    }
    ctx.fillStyle = s.colors.fg;
    for (const m of this.matches) ctx.fillRect(0, (m - b.q0) * scale, 4, Math.max(1, scale));
    const v = this.view;
    ctx.strokeStyle = s.colors.fg;
    ctx.lineWidth = 1;
    ctx.strokeRect((v.k0 - b.k0) * scale + 0.5, (v.q0 - b.q0) * scale + 0.5, Math.max(2, (v.k1 - v.k0) * scale - 1), Math.max(2, (v.q1 - v.q0) * scale - 1));
  }

  /** (query, key) under the pointer, or null outside the matrix. */
  private cellAt(e: MouseEvent): { q: number; k: number; fq: number; fk: number } | null {
    const r = this.overlay.getBoundingClientRect();
    const x = e.clientX - r.left - LEFT;
    const y = e.clientY - r.top - TOP;
    const v = this.view;
    const k = v.k0 + Math.floor(x / this.cell);
    const q = v.q0 + Math.floor(y / this.cell);
    if (x < 0 || y < 0 || q >= v.q1 || k >= v.k1) return null;
    return { q, k, fq: (q - v.q0) / (v.q1 - v.q0), fk: (k - v.k0) / (v.k1 - v.k0) };
  }

  /** The page scrolls unless the map has focus or a modifier is held (as map widgets do). */
  private onWheel(e: WheelEvent): void {
    if (document.activeElement !== this.overlay && !e.ctrlKey && !e.metaKey && !e.altKey) return;
    const c = this.cellAt(e);
    if (!c) return;
    e.preventDefault();
    this.setView(zoomViewport(this.view, this.bounds, e.deltaY < 0 ? ZOOM_STEP : 1 / ZOOM_STEP, c.fq, c.fk));
  }

  private onKey(e: KeyboardEvent): void {
    if (!this.state?.heads.length) return;
    const v = this.view;
    const c = this.cursor ?? { q: v.q0, k: v.k0 };
    const step = this.tile?.step ?? 1;
    const moves: Record<string, [number, number]> = { ArrowUp: [-step, 0], ArrowDown: [step, 0], ArrowLeft: [0, -step], ArrowRight: [0, step] };
    const b = this.bounds;
    if (e.key in moves) {
      const [dq, dk] = this.cursor ? moves[e.key] : [0, 0];
      const q = Math.max(b.q0, Math.min(b.q1 - 1, c.q + dq));
      const k = Math.max(b.k0, Math.min(b.k1 - 1, c.k + dk));
      this.cursor = { q, k };
      const dq2 = q < v.q0 ? q - v.q0 : q >= v.q1 ? q - v.q1 + 1 : 0;
      const dk2 = k < v.k0 ? k - v.k0 : k >= v.k1 ? k - v.k1 + 1 : 0;
      if (dq2 || dk2) this.setView(panViewport(v, b, dq2, dk2));
    } else if (e.key === '+' || e.key === '=' || e.key === '-' || e.key === '_') {
      const fq = (c.q - v.q0 + 0.5) / (v.q1 - v.q0);
      const fk = (c.k - v.k0 + 0.5) / (v.k1 - v.k0);
      this.setView(zoomViewport(v, b, e.key === '+' || e.key === '=' ? ZOOM_STEP : 1 / ZOOM_STEP, fq, fk));
    } else if (e.key === '0') this.setView(b);
    else if (e.key === 'Escape') {
      this.cursor = null;
      this.clearHover();
      return;
    } else return;
    e.preventDefault();
    const cur = this.cursor;
    if (!cur) return;
    const r = this.overlay.getBoundingClientRect();
    const at = { clientX: r.left + LEFT + (cur.k - this.view.k0 + 0.5) * this.cell, clientY: r.top + TOP + (cur.q - this.view.q0 + 0.5) * this.cell };
    this.inspect(cur.q, cur.k, at);
  }

  private onMove(e: MouseEvent): void {
    if (this.drag) {
      const d = this.drag;
      const next = panViewport(d.view, this.bounds, -(e.clientY - d.y) / this.cell, -(e.clientX - d.x) / this.cell);
      if (JSON.stringify(next) !== JSON.stringify(this.view)) this.setView(next);
      return;
    }
    const c = this.cellAt(e);
    if (!c || !this.tile) {
      this.clearHover();
      return;
    }
    this.inspect(c.q, c.k, e);
  }

  /** Crosshair on the cell (query q, key k) of the current tile and its tooltip at `at` (hover and keyboard alike). */
  private inspect(q: number, k: number, at: { clientX: number; clientY: number }): void {
    const t = this.tile;
    const s = this.state!;
    if (!t?.heads.length) return;
    const ctx = this.overlay.getContext('2d')!;
    const v = this.view;
    ctx.clearRect(0, 0, this.overlay.width, this.overlay.height);
    const row = Math.floor((q - t.q0) / t.step);
    const col = Math.floor((k - t.k0) / t.step);
    if (row < 0 || col < 0 || row >= t.rows || col >= t.cols) return;
    const q0 = t.q0 + row * t.step;
    const k0 = t.k0 + col * t.step;
    const { plotW, plotH } = this.canvasSize();
    const size = Math.max(1, t.step * this.cell);
    ctx.lineWidth = 1;
    for (const [color, inset] of [
      [s.colors.bg, 1.5],
      [s.colors.fg, 0.5]
    ] as const) {
      ctx.strokeStyle = color;
      ctx.strokeRect(LEFT + inset, TOP + (q0 - v.q0) * this.cell + inset, plotW - 2 * inset, size - 2 * inset);
      ctx.strokeRect(LEFT + (k0 - v.k0) * this.cell + inset, TOP + inset, size - 2 * inset, plotH - 2 * inset);
    }
    const tok = (list: string[], offset: number, i: number) => escapeHtml(list[i - offset] ?? '');
    const title =
      t.step === 1
        ? `${tok(s.slice.queryTokens, s.slice.q0, q)} (${q}) → ${tok(s.slice.keyTokens, s.slice.k0, k)} (${k})`
        : `queries ${q0}–${Math.min(q0 + t.step, t.q1) - 1} → keys ${k0}–${Math.min(k0 + t.step, t.k1) - 1} (${s.signed ? 'largest |a − b|' : 'max'})`;
    const value = (i: number) => {
      const w = tileWeight(t, i, row, col);
      return s.signed ? `a − b = ${w > 0 ? '+' : ''}${w.toFixed(4)}` : w.toFixed(4);
    };
    const rows = t.heads.map(
      (h, i) =>
        `<div class="aw-tip-row"><span class="aw-swatch" style="background:${css(headColor(h, s.slice.block.heads))}"></span>head ${h}<b>${value(i)}</b></div>`
    );
    if (t.heads.length > 1 && this.mode() !== 'blend') {
      const mean = cellValues(t, this.mode())[row * t.cols + col];
      rows.push(`<div class="aw-tip-row">mean<b>${mean.toFixed(4)}</b></div>`);
    }
    showTooltip(this.tooltip, at, `<div class="aw-tip-title">${title}</div>${rows.join('')}`);
    this.live.textContent = this.tooltip.textContent ?? '';
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

  /**
   * The heatmap as SVG: cells as rectangles (vector) while the tile has at most VECTOR_CELLS cells,
   * else one embedded image labelled as raster; axes, labels and the colour bar are vector text and shapes.
   */
  svg(): string | null {
    const s = this.state;
    const t = this.tile;
    if (!s || !t?.heads.length) return null;
    const scale = this.scale();
    const { w, h, plotW, plotH } = this.canvasSize();
    const v = this.view;
    const parts: string[] = [];
    const x0 = LEFT + (t.k0 - v.k0) * this.cell;
    const y0 = TOP + (t.q0 - v.q0) * this.cell;
    const size = t.step * this.cell;
    parts.push(`<clipPath id="aw-plot"><rect x="${LEFT}" y="${TOP}" width="${plotW}" height="${plotH}"/></clipPath>`);
    if (t.rows * t.cols <= VECTOR_CELLS) {
      const image = this.image(t, scale).data;
      const rects: string[] = [];
      for (let r = 0; r < t.rows; r++) {
        for (let c = 0; c < t.cols; c++) {
          const i = 4 * (r * t.cols + c);
          if (!image[i + 3]) continue;
          rects.push(
            `<rect x="${(x0 + c * size).toFixed(2)}" y="${(y0 + r * size).toFixed(2)}" width="${size.toFixed(2)}" height="${size.toFixed(2)}" fill="${css([image[i], image[i + 1], image[i + 2]])}" fill-opacity="${(image[i + 3] / 255).toFixed(3)}"/>`
          );
        }
      }
      parts.push(`<g clip-path="url(#aw-plot)" shape-rendering="crispEdges">${rects.join('')}</g>`);
    } else {
      const tile = createCanvas('');
      tile.width = t.cols;
      tile.height = t.rows;
      tile.getContext('2d')!.putImageData(this.image(t, scale), 0, 0);
      parts.push(
        `<g clip-path="url(#aw-plot)"><title>raster: ${t.rows}×${t.cols} cells</title><image class="aw-raster" x="${x0}" y="${y0}" width="${t.cols * size}" height="${t.rows * size}" preserveAspectRatio="none" style="image-rendering:pixelated" href="${tile.toDataURL('image/png')}"/></g>`
      );
    }
    // Axes, labels and colour bar: drawn by the canvas code into a recording context.
    const recorder = new SvgRecorder();
    const ctx = recorder.context(this.canvas.getContext('2d')!);
    ctx.font = FONT;
    ctx.textBaseline = 'middle';
    this.drawAxes(ctx, plotW, plotH);
    this.drawColorBar(ctx, scale, LEFT + plotW + BAR_GAP, TOP, Math.max(MIN_BAR_H, plotH));
    parts.push(recorder.svg());
    return (
      `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">` +
      `<rect width="100%" height="100%" fill="${s.colors.bg}"/>${parts.join('')}</svg>`
    );
  }
}

/** Tiles up to this many cells export as SVG rectangles; larger ones as one labelled image. */
const VECTOR_CELLS = 160 * 160;

/** Inverse of the linear/√ scale position. */
function inverse(f: number, contrast: Contrast): number {
  return contrast === 'sqrt' ? f * f : f;
}

function barTicks(scale: Scale): [number, number][] {
  if (scale.signed) return [-1, -0.5, 0, 0.5, 1].map(f => [f * scale.peak, (f + 1) / 2]);
  return scaleTicks(scale.peak, scale.contrast).map(v => [v, scalePosition(v, scale.peak, scale.contrast)]);
}

function formatTick(v: number): string {
  if (v === 0) return '0';
  return Math.abs(v) >= 0.01 ? v.toFixed(2) : v.toExponential(0);
}

const escapeXml = (s: string) => s.replace(/[&<>"]/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/**
 * Records the few canvas calls the heatmap's axes and colour bar make (fillText, fillRect,
 * strokeRect under translate/rotate) as SVG, so the SVG export draws them with the same code as the
 * screen instead of a second copy of the layout. Measuring goes to a real context.
 */
class SvgRecorder {
  private out: string[] = [];
  private stack: { transform: string; fill: string; stroke: string; align: string }[] = [];
  private transform = '';
  private fill = '#000';
  private stroke = '#000';
  private align = 'start';

  svg(): string {
    return `<g font-family="ui-monospace, Menlo, monospace" font-size="12" dominant-baseline="middle">${this.out.join('')}</g>`;
  }

  context(measure: CanvasRenderingContext2D): CanvasRenderingContext2D {
    const self = this;
    const attrs = () => (self.transform ? ` transform="${self.transform}"` : '');
    const handler: ProxyHandler<CanvasRenderingContext2D> = {
      get(_target, prop) {
        switch (prop) {
          case 'measureText':
            return (text: string) => measure.measureText(text);
          case 'save':
            return () => self.stack.push({ transform: self.transform, fill: self.fill, stroke: self.stroke, align: self.align });
          case 'restore':
            return () => Object.assign(self, self.stack.pop());
          case 'translate':
            return (x: number, y: number) => (self.transform += ` translate(${x} ${y})`);
          case 'rotate':
            return (a: number) => (self.transform += ` rotate(${(a * 180) / Math.PI})`);
          case 'fillText':
            return (text: string, x: number, y: number) => {
              const anchor = self.align === 'right' ? 'end' : self.align === 'center' ? 'middle' : 'start';
              self.out.push(`<text x="${x}" y="${y}" text-anchor="${anchor}" fill="${self.fill}"${attrs()}>${escapeXml(text)}</text>`);
            };
          case 'fillRect':
            return (x: number, y: number, w: number, h: number) =>
              self.out.push(`<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="${self.fill}"${attrs()}/>`);
          case 'strokeRect':
            return (x: number, y: number, w: number, h: number) =>
              self.out.push(`<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="none" stroke="${self.stroke}"${attrs()}/>`);
          case 'fillStyle':
            return self.fill;
          case 'textAlign':
            return self.align;
          default:
            return () => {};
        }
      },
      set(_target, prop, value) {
        if (prop === 'fillStyle') self.fill = String(value);
        else if (prop === 'strokeStyle') self.stroke = String(value);
        else if (prop === 'textAlign') self.align = String(value);
        else if (prop === 'font') measure.font = String(value);
        return true;
      }
    };
    return new Proxy(measure, handler);
  }
}
