/**
 * Model view: every layer × head as a small heatmap on one canvas. Inputs longer than a thumbnail
 * is wide are max-pooled (a peak stays visible however small). Click a thumbnail to open the head.
 */

import type { AttentionBlock } from './data';
import type { Slice } from './layout';
import { css, divergingRGBA, headColor, type RGB } from './palette';
import type { Colors } from './theme';
import { createCanvas, FONT, sizeCanvas } from './canvas';
import { showTooltip } from './tooltip';

/** A statistic shown as each thumbnail's background tint and border: `values` and `norm` (0–1) are (layers, heads). */
export interface Tint {
  name: string;
  values: number[][];
  norm: number[][];
}

export interface ModelViewState {
  slice: Slice;
  /** Label of each stored layer (row). */
  rows: string[];
  /** Heads shown (columns), and their labels. */
  heads: number[];
  columns: string[];
  /** Width available in CSS pixels. */
  width: number;
  colors: Colors;
  selected: { layer: number; head: number } | null;
  /** Query heads per KV head (grouped-query attention); 1 when not grouped. */
  groupSize: number;
  /** Signed data (differences): diverging palette. */
  signed: boolean;
  tint: Tint | null;
}

const TINT: RGB = [148, 103, 189];

const LABEL_W = 64;
const LABEL_H = 20;
const GAP = 4;
/** Extra space between KV groups, and the height of their header row. */
const GROUP_GAP = 8;
const GROUP_H = 16;

/** Left edge of each column: heads of one KV group sit together, groups a little apart. */
export function columnOffsets(heads: number[], thumb: number, groupSize: number): number[] {
  let groups = 0;
  return heads.map((h, c) => {
    if (c > 0 && groupSize > 1 && Math.floor(h / groupSize) !== Math.floor(heads[c - 1] / groupSize)) groups += 1;
    return LABEL_W + c * (thumb + GAP) + groups * GROUP_GAP;
  });
}

/**
 * Max-pool the (q0..q1) × (k0..k1) window of one head into `rows` × `cols` cells.
 * Returns pooled weights scaled to [0, 1] by the head's maximum; signed values keep the largest |v|
 * of each cell, scaled to [−1, 1] by the largest |v|.
 */
export function poolHead(block: AttentionBlock, layer: number, head: number, slice: Pick<Slice, 'q0' | 'q1' | 'k0' | 'k1'>, rows: number, cols: number): Float32Array {
  const nq = slice.q1 - slice.q0;
  const nk = slice.k1 - slice.k0;
  const out = new Float32Array(rows * cols);
  const values = block.values[layer];
  const base = head * block.queries * block.keys;
  let max = 0;
  for (let q = 0; q < nq; q++) {
    const r = Math.floor((q * rows) / nq);
    const rowBase = base + (slice.q0 + q) * block.keys + slice.k0;
    for (let k = 0; k < nk; k++) {
      const v = values[rowBase + k];
      const o = r * cols + Math.floor((k * cols) / nk);
      if (Math.abs(v) > Math.abs(out[o])) out[o] = v;
      if (Math.abs(v) > max) max = Math.abs(v);
    }
  }
  if (max > 0) for (let i = 0; i < out.length; i++) out[i] /= max;
  return out;
}

export class ModelView {
  readonly el: HTMLDivElement;
  private canvas = createCanvas('aw-model-canvas');
  private state: ModelViewState | null = null;
  private thumb = 0;
  private xs: number[] = [];
  private top = LABEL_H;
  private tooltip: HTMLDivElement;

  constructor(tooltip: HTMLDivElement, private onSelect: (layerIndex: number, head: number) => void) {
    this.tooltip = tooltip;
    this.el = document.createElement('div');
    this.el.className = 'aw-model-view';
    this.el.append(this.canvas);
    this.canvas.addEventListener('click', e => {
      const cell = this.cellAt(e);
      if (cell) this.onSelect(cell.layer, cell.head);
    });
    this.canvas.addEventListener('mousemove', e => {
      const cell = this.cellAt(e);
      this.canvas.style.cursor = cell ? 'pointer' : 'default';
      if (!cell || !this.state) {
        this.tooltip.hidden = true;
        return;
      }
      const s = this.state;
      const tint = s.tint ? ` · ${s.tint.name} ${s.tint.values[cell.layer][cell.head].toFixed(3)}` : '';
      showTooltip(this.tooltip, e, `${s.rows[cell.layer]}, ${s.columns[s.heads.indexOf(cell.head)]}${tint} — click to open`);
    });
    this.canvas.addEventListener('mouseleave', () => (this.tooltip.hidden = true));
  }

  /** Thumbnail side in CSS pixels for this many columns in `width`. */
  static thumbSize(width: number, columns: number): number {
    return Math.max(24, Math.min(96, Math.floor((width - LABEL_W) / Math.max(1, columns)) - GAP));
  }

  update(state: ModelViewState): void {
    this.state = state;
    const { slice, heads, colors, rows: rowLabels, tint } = state;
    const block = slice.block;
    const nq = slice.q1 - slice.q0;
    const nk = slice.k1 - slice.k0;
    const t = (this.thumb = ModelView.thumbSize(state.width, heads.length));
    const grouped = state.groupSize > 1;
    const xs = (this.xs = columnOffsets(heads, t, state.groupSize));
    const top = (this.top = LABEL_H + (grouped ? GROUP_H : 0));
    const width = (xs.length ? xs[xs.length - 1] : LABEL_W) + t + GAP;
    const height = top + block.layers * (t + GAP);
    const ctx = sizeCanvas(this.canvas, width, height);
    ctx.clearRect(0, 0, width, height);
    ctx.font = FONT;
    ctx.fillStyle = colors.fg;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'center';
    heads.forEach((_, c) => ctx.fillText(state.columns[c], xs[c] + t / 2, top - LABEL_H / 2));
    if (grouped) {
      heads.forEach((h, c) => {
        const g = Math.floor(h / state.groupSize);
        if (c > 0 && Math.floor(heads[c - 1] / state.groupSize) === g) return;
        let last = c;
        while (last + 1 < heads.length && Math.floor(heads[last + 1] / state.groupSize) === g) last++;
        ctx.fillText(`KV ${g}`, (xs[c] + xs[last] + t) / 2, GROUP_H / 2);
        ctx.fillRect(xs[c], GROUP_H - 2, xs[last] + t - xs[c], 1);
      });
    }
    ctx.textAlign = 'right';
    rowLabels.forEach((label, l) => ctx.fillText(label, LABEL_W - 8, top + l * (t + GAP) + t / 2));

    // One tile canvas per thumbnail resolution, drawn scaled with smoothing off.
    const rows = Math.min(nq, t);
    const cols = Math.min(nk, t);
    const tile = document.createElement('canvas');
    tile.width = cols;
    tile.height = rows;
    const tctx = tile.getContext('2d')!;
    const image = tctx.createImageData(cols, rows);
    ctx.imageSmoothingEnabled = false;
    for (let l = 0; l < block.layers; l++) {
      heads.forEach((h, c) => {
        const pooled = poolHead(block, l, h, slice, rows, cols);
        const color = headColor(h, block.heads);
        const px = image.data;
        for (let i = 0; i < pooled.length; i++) {
          px.set(state.signed ? divergingRGBA(pooled[i], 1) : [...color, Math.round(255 * pooled[i])], 4 * i);
        }
        tctx.putImageData(image, 0, 0);
        const x = xs[c];
        const y = top + l * (t + GAP);
        ctx.fillStyle = tint ? css(TINT, 0.08 + 0.5 * tint.norm[l][h]) : colors.highlight;
        ctx.fillRect(x, y, t, t);
        ctx.drawImage(tile, x, y, t, t);
        if (tint) {
          ctx.strokeStyle = css(TINT, tint.norm[l][h]);
          ctx.lineWidth = 3;
          ctx.strokeRect(x + 1.5, y + 1.5, t - 3, t - 3);
        }
        if (state.selected && state.selected.layer === l && state.selected.head === h) {
          ctx.strokeStyle = css(headColor(h, block.heads));
          ctx.lineWidth = 2;
          ctx.strokeRect(x - 1, y - 1, t + 2, t + 2);
        }
      });
    }
  }

  private cellAt(e: MouseEvent): { layer: number; head: number } | null {
    const s = this.state;
    if (!s) return null;
    const rect = this.canvas.getBoundingClientRect();
    const x = e.clientX - rect.left;
    const y = e.clientY - rect.top - this.top;
    const t = this.thumb;
    const c = this.xs.findIndex(x0 => x >= x0 && x <= x0 + t);
    const l = Math.floor(y / (t + GAP));
    if (c < 0 || y < 0 || y % (t + GAP) > t) return null;
    if (c >= s.heads.length || l >= s.slice.block.layers) return null;
    return { layer: l, head: s.heads[c] };
  }
}
