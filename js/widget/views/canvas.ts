/** Canvas helpers shared by the views. */

import { css, type RGB } from './palette';

const BUCKETS = 16;
/** Lines lighter than this are not drawn (they would be invisible). */
const MIN_ALPHA = 1 / (2 * BUCKETS);

/** Lines of one colour with opacity = weight, batched into one path per opacity step (16 strokes, not one per line). */
export class LineBatch {
  private paths = Array.from({ length: BUCKETS }, () => new Path2D());
  private used = new Uint8Array(BUCKETS);

  add(x0: number, y0: number, x1: number, y1: number, alpha: number): void {
    if (alpha < MIN_ALPHA) return;
    const b = Math.min(BUCKETS - 1, Math.floor(alpha * BUCKETS));
    this.paths[b].moveTo(x0, y0);
    this.paths[b].lineTo(x1, y1);
    this.used[b] = 1;
  }

  stroke(ctx: CanvasRenderingContext2D, color: RGB, width = 2): void {
    ctx.lineWidth = width;
    this.paths.forEach((path, b) => {
      if (!this.used[b]) return;
      ctx.strokeStyle = css(color, (b + 0.5) / BUCKETS);
      ctx.stroke(path);
    });
  }
}

export function createCanvas(className: string): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.className = className;
  return canvas;
}

/** Size a canvas in CSS pixels, backed by device pixels; returns its 2D context scaled to CSS pixels. */
export function sizeCanvas(canvas: HTMLCanvasElement, width: number, height: number): CanvasRenderingContext2D {
  const dpr = Math.min(typeof devicePixelRatio === 'number' ? devicePixelRatio : 1, 2);
  canvas.width = Math.max(1, Math.round(width * dpr));
  canvas.height = Math.max(1, Math.round(height * dpr));
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

export const FONT = '12px var(--jp-code-font-family, ui-monospace, SFMono-Regular, Menlo, monospace)';

/** Width of the widest label, capped. */
export function labelWidth(ctx: CanvasRenderingContext2D, labels: string[], cap = 160): number {
  ctx.font = FONT;
  let w = 0;
  for (const t of labels) w = Math.max(w, ctx.measureText(t).width);
  return Math.min(cap, Math.ceil(w));
}

/** Text shortened with an ellipsis to fit `maxWidth`. */
export function fitText(ctx: CanvasRenderingContext2D, text: string, maxWidth: number): string {
  if (ctx.measureText(text).width <= maxWidth) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ctx.measureText(`${text.slice(0, mid)}…`).width <= maxWidth) lo = mid;
    else hi = mid - 1;
  }
  return `${text.slice(0, lo)}…`;
}
