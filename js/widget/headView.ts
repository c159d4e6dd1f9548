/**
 * Head view: query tokens on the left, key tokens on the right, one line per weight (opacity =
 * weight, colour = head), or an L×L heatmap for long inputs. Drawn on canvas: lines are batched
 * into one path per (head, opacity bucket), so a paint costs heads × 16 strokes, not L² elements.
 */

import { weight } from './data';
import type { Slice } from './layout';
import { css, headColor, type RGB } from './palette';
import type { Colors } from './theme';
import { createCanvas, fitText, FONT, labelWidth, LineBatch, sizeCanvas } from './canvas';
import { escapeHtml, showTooltip } from './tooltip';

export type DrawMode = 'lines' | 'heatmap';

export interface HeadViewState {
  slice: Slice;
  /** Index of the stored layer (not the model's layer number). */
  layer: number;
  heads: number[];
  mode: DrawMode;
  colors: Colors;
}

const ROW = 18;
const PAD = 8;
const GAP = 220;
const HEATMAP_SIZE = 640;

/** Mean over `heads` of the weight (q, k). */
function meanWeight(s: HeadViewState, q: number, k: number): number {
  let sum = 0;
  for (const h of s.heads) sum += weight(s.slice.block, s.layer, h, q, k);
  return s.heads.length ? sum / s.heads.length : 0;
}

/** Top `n` (index, weight) by mean weight of query row `q` (or key column `k`). */
export function topLinks(s: HeadViewState, side: 'query' | 'key', index: number, n = 5): [number, number][] {
  const { q0, q1, k0, k1 } = s.slice;
  const out: [number, number][] = [];
  const [from, to] = side === 'query' ? [k0, k1] : [q0, q1];
  for (let j = from; j < to; j++) {
    out.push([j, side === 'query' ? meanWeight(s, index, j) : meanWeight(s, j, index)]);
  }
  return out.sort((a, b) => b[1] - a[1]).slice(0, n);
}

interface Hit {
  side: 'query' | 'key';
  /** Absolute position in the block. */
  index: number;
}

export class HeadView {
  readonly el: HTMLDivElement;
  private canvas = createCanvas('aw-head-canvas');
  private overlay = createCanvas('aw-head-overlay');
  private tooltip: HTMLDivElement;
  private state: HeadViewState | null = null;
  private cache: HTMLCanvasElement | null = null;
  private geometry = { leftW: 0, rightW: 0, width: 0, height: 0, cell: 1, labelW: 0, labelH: 0 };
  private hovered: Hit | null = null;

  constructor(tooltip: HTMLDivElement) {
    this.tooltip = tooltip;
    this.el = document.createElement('div');
    this.el.className = 'aw-head-view';
    const stack = document.createElement('div');
    stack.className = 'aw-stack';
    stack.append(this.canvas, this.overlay);
    this.el.append(stack);
    this.overlay.addEventListener('mousemove', e => this.onMove(e));
    this.overlay.addEventListener('mouseleave', () => this.onLeave());
  }

  update(state: HeadViewState): void {
    this.state = state;
    this.hovered = null;
    this.tooltip.hidden = true;
    if (state.mode === 'lines') this.paintLines(null);
    else this.paintHeatmap();
    this.cache = null;
  }

  // ---------- lines ----------

  private paintLines(focus: Hit | null): void {
    const s = this.state!;
    const { slice, colors } = s;
    const nq = slice.q1 - slice.q0;
    const nk = slice.k1 - slice.k0;
    const g = this.geometry;
    if (!focus) {
      const measure = this.canvas.getContext('2d')!;
      g.leftW = labelWidth(measure, slice.queryTokens) + 12;
      g.rightW = labelWidth(measure, slice.keyTokens) + 12;
      g.width = g.leftW + GAP + g.rightW;
      g.height = PAD * 2 + Math.max(nq, nk) * ROW;
    }
    const ctx = focus ? this.canvas.getContext('2d')! : sizeCanvas(this.canvas, g.width, g.height);
    if (!focus) sizeCanvas(this.overlay, g.width, g.height);
    ctx.clearRect(0, 0, g.width, g.height);
    const yq = (q: number) => PAD + (q - slice.q0) * ROW + ROW / 2;
    const yk = (k: number) => PAD + (k - slice.k0) * ROW + ROW / 2;
    const x0 = g.leftW;
    const x1 = g.leftW + GAP;

    const qs = focus?.side === 'query' ? [focus.index] : range(slice.q0, slice.q1);
    const ks = focus?.side === 'key' ? [focus.index] : range(slice.k0, slice.k1);
    for (const h of s.heads) {
      const lines = new LineBatch();
      for (const q of qs) for (const k of ks) lines.add(x0, yq(q), x1, yk(k), weight(slice.block, s.layer, h, q, k));
      lines.stroke(ctx, headColor(h, slice.block.heads));
    }

    if (focus) this.paintBars(ctx, focus, yq, yk);
    ctx.font = FONT;
    ctx.textBaseline = 'middle';
    ctx.fillStyle = colors.fg;
    ctx.textAlign = 'right';
    slice.queryTokens.forEach((t, i) => {
      if (focus?.side === 'query' && focus.index === slice.q0 + i) this.highlightRow(ctx, 0, yq(slice.q0 + i), g.leftW - 4, colors);
      ctx.fillText(fitText(ctx, t, g.leftW - 12), g.leftW - 8, yq(slice.q0 + i));
    });
    ctx.textAlign = 'left';
    slice.keyTokens.forEach((t, i) => {
      if (focus?.side === 'key' && focus.index === slice.k0 + i) this.highlightRow(ctx, x1 + 4, yk(slice.k0 + i), g.rightW - 4, colors);
      ctx.fillText(fitText(ctx, t, g.rightW - 12), x1 + 8, yk(slice.k0 + i));
    });
  }

  private highlightRow(ctx: CanvasRenderingContext2D, x: number, y: number, w: number, colors: Colors): void {
    const fill = ctx.fillStyle;
    ctx.fillStyle = colors.highlight;
    ctx.fillRect(x, y - ROW / 2, w, ROW);
    ctx.fillStyle = fill;
  }

  /** Per-head bars (width ∝ weight) behind the tokens on the other side of the focused token. */
  private paintBars(ctx: CanvasRenderingContext2D, focus: Hit, yq: (q: number) => number, yk: (k: number) => number): void {
    const s = this.state!;
    const { slice } = s;
    const g = this.geometry;
    const n = s.heads.length;
    if (!n) return;
    const other = focus.side === 'query' ? range(slice.k0, slice.k1) : range(slice.q0, slice.q1);
    const barH = Math.max(2, (ROW - 4) / n);
    for (const j of other) {
      const y = (focus.side === 'query' ? yk(j) : yq(j)) - ROW / 2 + 2;
      s.heads.forEach((h, i) => {
        const w = focus.side === 'query' ? weight(slice.block, s.layer, h, focus.index, j) : weight(slice.block, s.layer, h, j, focus.index);
        const span = focus.side === 'query' ? g.rightW - 8 : g.leftW - 8;
        const len = Math.max(0, Math.min(1, w)) * span;
        ctx.fillStyle = css(headColor(h, slice.block.heads), 0.55);
        if (focus.side === 'query') ctx.fillRect(g.leftW + GAP + 4, y + i * barH, len, barH);
        else ctx.fillRect(g.leftW - 4 - len, y + i * barH, len, barH);
      });
    }
  }

  // ---------- heatmap ----------

  private paintHeatmap(): void {
    const s = this.state!;
    const { slice, colors } = s;
    const nq = slice.q1 - slice.q0;
    const nk = slice.k1 - slice.k0;
    const g = this.geometry;
    const cell = Math.max(1, Math.min(24, Math.floor(HEATMAP_SIZE / Math.max(nq, nk))));
    const labels = cell >= 10;
    const measure = this.canvas.getContext('2d')!;
    g.cell = cell;
    g.labelW = labels ? labelWidth(measure, slice.queryTokens, 120) + 10 : 0;
    g.labelH = labels ? labelWidth(measure, slice.keyTokens, 120) + 10 : 0;
    g.width = g.labelW + nk * cell + PAD;
    g.height = g.labelH + nq * cell + PAD;
    const ctx = sizeCanvas(this.canvas, g.width, g.height);
    sizeCanvas(this.overlay, g.width, g.height);
    ctx.clearRect(0, 0, g.width, g.height);

    const image = new ImageData(nk, nq);
    const px = image.data;
    const colorsRGB: RGB[] = s.heads.map(h => headColor(h, slice.block.heads));
    let peak = 0;
    const mix = new Float32Array(nq * nk * 4);
    for (let qi = 0; qi < nq; qi++) {
      for (let ki = 0; ki < nk; ki++) {
        let r = 0, gg = 0, b = 0, sum = 0, max = 0;
        s.heads.forEach((h, i) => {
          const w = weight(slice.block, s.layer, h, slice.q0 + qi, slice.k0 + ki);
          const c = colorsRGB[i];
          r += w * c[0];
          gg += w * c[1];
          b += w * c[2];
          sum += w;
          if (w > max) max = w;
        });
        const o = (qi * nk + ki) * 4;
        mix[o] = sum ? r / sum : 0;
        mix[o + 1] = sum ? gg / sum : 0;
        mix[o + 2] = sum ? b / sum : 0;
        mix[o + 3] = max;
        if (max > peak) peak = max;
      }
    }
    // Colour = weight-blend of the heads' colours; opacity = strongest head's weight / view maximum.
    for (let i = 0; i < nq * nk; i++) {
      px[4 * i] = mix[4 * i];
      px[4 * i + 1] = mix[4 * i + 1];
      px[4 * i + 2] = mix[4 * i + 2];
      px[4 * i + 3] = peak ? Math.round((255 * mix[4 * i + 3]) / peak) : 0;
    }
    const tile = document.createElement('canvas');
    tile.width = nk;
    tile.height = nq;
    tile.getContext('2d')!.putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(tile, g.labelW, g.labelH, nk * cell, nq * cell);

    if (labels) {
      ctx.font = FONT;
      ctx.fillStyle = colors.fg;
      ctx.textBaseline = 'middle';
      ctx.textAlign = 'right';
      slice.queryTokens.forEach((t, i) => ctx.fillText(fitText(ctx, t, g.labelW - 10), g.labelW - 6, g.labelH + (i + 0.5) * cell));
      ctx.save();
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = 'left';
      slice.keyTokens.forEach((t, i) => ctx.fillText(fitText(ctx, t, g.labelH - 10), -g.labelH + 6, g.labelW + (i + 0.5) * cell));
      ctx.restore();
    }
  }

  // ---------- interaction ----------

  private hit(e: MouseEvent): { q: number | null; k: number | null; side: 'query' | 'key' | null } {
    const s = this.state!;
    const rect = this.overlay.getBoundingClientRect();
    const x = e.clientX - rect.left;
    const y = e.clientY - rect.top;
    const g = this.geometry;
    const { slice } = s;
    if (s.mode === 'heatmap') {
      const ki = Math.floor((x - g.labelW) / g.cell);
      const qi = Math.floor((y - g.labelH) / g.cell);
      const inside = ki >= 0 && qi >= 0 && ki < slice.k1 - slice.k0 && qi < slice.q1 - slice.q0;
      return inside ? { q: slice.q0 + qi, k: slice.k0 + ki, side: null } : { q: null, k: null, side: null };
    }
    const row = Math.floor((y - PAD) / ROW);
    if (x < g.leftW && row >= 0 && row < slice.q1 - slice.q0) return { q: slice.q0 + row, k: null, side: 'query' };
    if (x > g.leftW + GAP && row >= 0 && row < slice.k1 - slice.k0) return { q: null, k: slice.k0 + row, side: 'key' };
    return { q: null, k: null, side: null };
  }

  private onMove(e: MouseEvent): void {
    if (!this.state) return;
    const h = this.hit(e);
    if (this.state.mode === 'heatmap') {
      this.paintCrosshair(h.q, h.k);
      if (h.q === null || h.k === null) return this.hideTooltip();
      return showTooltip(this.tooltip, e, this.pairTooltip(h.q, h.k));
    }
    const hit: Hit | null = h.side === 'query' ? { side: 'query', index: h.q! } : h.side === 'key' ? { side: 'key', index: h.k! } : null;
    if (hit?.side !== this.hovered?.side || hit?.index !== this.hovered?.index) {
      this.hovered = hit;
      this.focusLines(hit);
    }
    if (hit) showTooltip(this.tooltip, e, this.linkTooltip(hit));
    else this.hideTooltip();
  }

  private onLeave(): void {
    if (!this.state) return;
    this.hideTooltip();
    if (this.state.mode === 'heatmap') this.paintCrosshair(null, null);
    else if (this.hovered) {
      this.hovered = null;
      this.focusLines(null);
    }
  }

  /** Repaint the lines for one token (hover), or restore the full picture from the cache. */
  focusLines(hit: Hit | null): void {
    const g = this.geometry;
    const ctx = this.canvas.getContext('2d')!;
    if (!hit) {
      if (this.cache) {
        ctx.save();
        ctx.setTransform(1, 0, 0, 1, 0, 0);
        ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
        ctx.drawImage(this.cache, 0, 0);
        ctx.restore();
      } else this.paintLines(null);
      return;
    }
    if (!this.cache) {
      this.cache = document.createElement('canvas');
      this.cache.width = this.canvas.width;
      this.cache.height = this.canvas.height;
      this.cache.getContext('2d')!.drawImage(this.canvas, 0, 0);
    }
    ctx.clearRect(0, 0, g.width, g.height);
    this.paintLines(hit);
  }

  private paintCrosshair(q: number | null, k: number | null): void {
    const g = this.geometry;
    const s = this.state!;
    const ctx = this.overlay.getContext('2d')!;
    ctx.clearRect(0, 0, g.width, g.height);
    if (q === null || k === null) return;
    const { slice } = s;
    ctx.strokeStyle = s.colors.fg;
    ctx.lineWidth = 1;
    const cx = g.labelW + (k - slice.k0) * g.cell;
    const cy = g.labelH + (q - slice.q0) * g.cell;
    ctx.strokeRect(g.labelW + 0.5, cy + 0.5, (slice.k1 - slice.k0) * g.cell - 1, Math.max(1, g.cell - 1));
    ctx.strokeRect(cx + 0.5, g.labelH + 0.5, Math.max(1, g.cell - 1), (slice.q1 - slice.q0) * g.cell - 1);
  }

  private token(side: 'query' | 'key', index: number): string {
    const { slice } = this.state!;
    return side === 'query' ? slice.queryTokens[index - slice.q0] : slice.keyTokens[index - slice.k0];
  }

  private pairTooltip(q: number, k: number): string {
    const s = this.state!;
    const rows = s.heads.map(h => {
      const w = weight(s.slice.block, s.layer, h, q, k);
      return `<div class="aw-tip-row"><span class="aw-swatch" style="background:${css(headColor(h, s.slice.block.heads))}"></span>head ${h}<b>${w.toFixed(4)}</b></div>`;
    });
    return `<div class="aw-tip-title">${escapeHtml(this.token('query', q))} (${q}) → ${escapeHtml(this.token('key', k))} (${k})</div>${rows.join('')}`;
  }

  private linkTooltip(hit: Hit): string {
    const s = this.state!;
    const other = hit.side === 'query' ? 'key' : 'query';
    const arrow = hit.side === 'query' ? '→' : '←';
    const rows = topLinks(s, hit.side, hit.index).map(
      ([j, w]) => `<div class="aw-tip-row">${escapeHtml(this.token(other, j))} <span class="aw-muted">(${j})</span><b>${w.toFixed(4)}</b></div>`
    );
    const what = s.heads.length === 1 ? `head ${s.heads[0]}` : `mean of ${s.heads.length} heads`;
    return `<div class="aw-tip-title">${escapeHtml(this.token(hit.side, hit.index))} (${hit.index}) ${arrow} top ${other}s, ${what}</div>${rows.join('')}`;
  }

  private hideTooltip(): void {
    this.tooltip.hidden = true;
  }
}

export function range(a: number, b: number): number[] {
  return Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);
}
