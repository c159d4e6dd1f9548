/**
 * Head view (lines): query tokens on the left, key tokens on the right, one line per weight
 * (opacity = weight, colour = head). Drawn on canvas: lines are batched into one path per (head,
 * opacity bucket), so a paint costs heads × 16 strokes, not L² elements. Long inputs can keep only
 * each query's strongest links (exBERT's cumulative-weight pruning). Heatmaps are heatmap.ts.
 */

import { weight } from '../state/blocks';
import type { HeadSelection } from '../state/derive';
import { createCanvas, FONT, fitText, LineBatch, sizeCanvas } from './canvas';
import { type LinesGeometry, linesGeometry, ROW } from './geometry';
import { css, headColor } from './palette';
import type { Colors } from './theme';
import { escapeHtml, showTooltip } from './tooltip';

export interface HeadViewState extends HeadSelection {
  /** Per query and head, draw the strongest links that together hold this share of the row's weight (1: all). */
  coverage: number;
  colors: Colors;
}

/**
 * Which of `weights` to keep: the largest ones whose sum first reaches `coverage` × the total
 * (exBERT prunes links this way, default 0.7). Returns a 0/1 mask.
 */
export function linkMask(weights: ArrayLike<number>, coverage: number): Uint8Array {
  const keep = new Uint8Array(weights.length);
  if (coverage >= 1) return keep.fill(1);
  let total = 0;
  for (let i = 0; i < weights.length; i++) total += weights[i];
  const order = Array.from({ length: weights.length }, (_, i) => i).sort((a, b) => weights[b] - weights[a]);
  let sum = 0;
  for (const i of order) {
    if (sum >= coverage * total) break;
    keep[i] = 1;
    sum += weights[i];
  }
  return keep;
}

/** Mean over `heads` of the weight (q, k). */
function meanWeight(s: HeadViewState, q: number, k: number): number {
  let sum = 0;
  for (const h of s.heads) sum += weight(s.slice.block, s.layer, h, q, k);
  return s.heads.length ? sum / s.heads.length : 0;
}

/** Top `n` (index, weight) by mean weight of query row `q` (or key column `k`). */
function topLinks(s: HeadViewState, side: 'query' | 'key', index: number, n = 5): [number, number][] {
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
  /** Last painted state (read by the image export). */
  state: HeadViewState | null = null;
  private cache: HTMLCanvasElement | null = null;
  private geometry: LinesGeometry | null = null;
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
    this.paintLines(null);
    this.cache = null;
  }

  // ---------- lines ----------

  private paintLines(focus: Hit | null): void {
    const s = this.state as HeadViewState;
    const { slice, colors } = s;
    if (!focus || !this.geometry) this.geometry = linesGeometry(this.canvas.getContext('2d') as CanvasRenderingContext2D, slice);
    const g = this.geometry;
    const ctx = focus ? (this.canvas.getContext('2d') as CanvasRenderingContext2D) : sizeCanvas(this.canvas, g.width, g.height);
    if (!focus) sizeCanvas(this.overlay, g.width, g.height);
    ctx.clearRect(0, 0, g.width, g.height);
    const { yq, yk, x1 } = g;
    const x0 = g.leftW;

    const qs = focus?.side === 'query' ? [focus.index] : range(slice.q0, slice.q1);
    const ks = focus?.side === 'key' ? [focus.index] : range(slice.k0, slice.k1);
    const row = new Float32Array(ks.length);
    for (const h of s.heads) {
      const lines = new LineBatch();
      for (const q of qs) {
        ks.forEach((k, j) => {
          row[j] = weight(slice.block, s.layer, h, q, k);
        });
        const keep = focus ? null : linkMask(row, s.coverage);
        ks.forEach((k, j) => {
          if (!keep || keep[j]) lines.add(x0, yq(q), x1, yk(k), row[j]);
        });
      }
      lines.stroke(ctx, headColor(h, slice.block.heads));
    }

    if (focus) this.paintBars(ctx, focus, g);
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
  private paintBars(ctx: CanvasRenderingContext2D, focus: Hit, g: LinesGeometry): void {
    const s = this.state as HeadViewState;
    const { slice } = s;
    const { yq, yk } = g;
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
        if (focus.side === 'query') ctx.fillRect(g.x1 + 4, y + i * barH, len, barH);
        else ctx.fillRect(g.leftW - 4 - len, y + i * barH, len, barH);
      });
    }
  }

  // ---------- interaction ----------

  private hit(e: MouseEvent): { q: number | null; k: number | null; side: 'query' | 'key' | null } {
    const s = this.state!;
    const rect = this.overlay.getBoundingClientRect();
    const x = e.clientX - rect.left;
    const y = e.clientY - rect.top;
    const g = this.geometry as LinesGeometry;
    const { slice } = s;
    const row = g.rowAt(y);
    if (x < g.leftW && row >= 0 && row < slice.q1 - slice.q0) return { q: slice.q0 + row, k: null, side: 'query' };
    if (x > g.x1 && row >= 0 && row < slice.k1 - slice.k0) return { q: null, k: slice.k0 + row, side: 'key' };
    return { q: null, k: null, side: null };
  }

  private onMove(e: MouseEvent): void {
    if (!this.state) return;
    const h = this.hit(e);
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
    if (this.hovered) {
      this.hovered = null;
      this.focusLines(null);
    }
  }

  /** Repaint the lines for one token (hover), or restore the full picture from the cache. */
  focusLines(hit: Hit | null): void {
    const ctx = this.canvas.getContext('2d') as CanvasRenderingContext2D;
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
    const g = this.geometry as LinesGeometry;
    ctx.clearRect(0, 0, g.width, g.height);
    this.paintLines(hit);
  }

  private token(side: 'query' | 'key', index: number): string {
    const { slice } = this.state!;
    return side === 'query' ? slice.queryTokens[index - slice.q0] : slice.keyTokens[index - slice.k0];
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

function range(a: number, b: number): number[] {
  return Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);
}
