/**
 * Model view: every layer × head as a small heatmap on one canvas. Inputs longer than a thumbnail
 * is wide are max-pooled (a peak stays visible however small). Click a thumbnail to open the head.
 */

import type { ModelPlan } from '../state/derive';
import { poolHeadShaped } from '../state/pool';
import { createCanvas, FONT, sizeCanvas } from './canvas';
import { css, divergingRGBA, headColor, type RGB } from './palette';
import type { Colors } from './theme';
import { showTooltip } from './tooltip';

interface ModelViewState extends ModelPlan {
  colors: Colors;
}

const TINT: RGB = [148, 103, 189];

const LABEL_W = 64;
const LABEL_H = 20;
const GAP = 4;
/** Extra space between KV groups, and the height of their header row. */
const GROUP_GAP = 8;
const GROUP_H = 16;

/** Left edge of each column: heads of one KV group sit together, groups a little apart. */
function columnOffsets(heads: number[], thumb: number, groupSize: number): number[] {
  let groups = 0;
  return heads.map((h, c) => {
    if (c > 0 && groupSize > 1 && Math.floor(h / groupSize) !== Math.floor(heads[c - 1] / groupSize)) groups += 1;
    return LABEL_W + c * (thumb + GAP) + groups * GROUP_GAP;
  });
}

export class ModelView {
  readonly el: HTMLDivElement;
  private canvas = createCanvas('aw-model-canvas');
  private state: ModelViewState | null = null;
  private thumb = 0;
  private xs: number[] = [];
  private top = LABEL_H;
  private tooltip: HTMLDivElement;

  constructor(
    tooltip: HTMLDivElement,
    private onSelect: (layerIndex: number, head: number) => void
  ) {
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
    const t = ModelView.thumbSize(state.width, heads.length);
    const grouped = state.groupSize > 1;
    const xs = columnOffsets(heads, t, state.groupSize);
    const top = LABEL_H + (grouped ? GROUP_H : 0);
    this.thumb = t;
    this.xs = xs;
    this.top = top;
    const width = (xs.length ? xs[xs.length - 1] : LABEL_W) + t + GAP;
    const height = top + block.layers * (t + GAP);
    const ctx = sizeCanvas(this.canvas, width, height);
    ctx.clearRect(0, 0, width, height);
    ctx.font = FONT;
    ctx.fillStyle = colors.fg;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'center';
    heads.forEach((_, c) => {
      ctx.fillText(state.columns[c], xs[c] + t / 2, top - LABEL_H / 2);
    });
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
    rowLabels.forEach((label, l) => {
      ctx.fillText(label, LABEL_W - 8, top + l * (t + GAP) + t / 2);
    });

    // Thumbnails are max-pooled (state/pool.ts) to at most t × t cells, drawn scaled with smoothing off;
    // the source rectangle leaves out the unused part of a partial last cell.
    const tile = document.createElement('canvas');
    const tctx = tile.getContext('2d') as CanvasRenderingContext2D;
    let image: ImageData | null = null;
    ctx.imageSmoothingEnabled = false;
    for (let l = 0; l < block.layers; l++) {
      heads.forEach((h, c) => {
        const pooled = poolHeadShaped(block, l, h, slice, t, t);
        if (!image || image.width !== pooled.cols || image.height !== pooled.rows) {
          tile.width = pooled.cols;
          tile.height = pooled.rows;
          image = tctx.createImageData(pooled.cols, pooled.rows);
        }
        const color = headColor(h, block.heads);
        const px = image.data;
        const values = pooled.values;
        for (let i = 0; i < values.length; i++) {
          px.set(state.signed ? divergingRGBA(values[i], 1) : [...color, Math.round(255 * values[i])], 4 * i);
        }
        tctx.putImageData(image, 0, 0);
        const x = xs[c];
        const y = top + l * (t + GAP);
        ctx.fillStyle = tint ? css(TINT, 0.08 + 0.5 * tint.norm[l][h]) : colors.highlight;
        ctx.fillRect(x, y, t, t);
        ctx.drawImage(tile, 0, 0, nk / pooled.stepK, nq / pooled.stepQ, x, y, t, t);
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
