/**
 * Images of the current view. PNG: the view's canvases composited at screen resolution. SVG: the
 * head view's lines mode as vectors (one path per head and opacity, tokens as text, laid out by
 * views/geometry.ts like the canvas); other views embed their canvases as PNG images. Toolbar
 * buttons download them; the kernel asks with the `image` RPC method (protocol/rpc.ts) and gets
 * the file as one buffer (see attn_widget/images.py).
 */

import type { ImageFormat, WidgetModel } from '../protocol/model';
import { RpcServer } from '../protocol/rpc';
import { weight } from '../state/blocks';
import { FONT, fitText } from './canvas';
import { linesGeometry } from './geometry';
import { type HeadView, type HeadViewState, linkMask } from './headView';
import { css, headColor } from './palette';

/** Lines fainter than this are left out of the SVG (invisible, and they would bloat the file). */
const MIN_OPACITY = 0.02;

const escapeXml = (s: string) => s.replace(/[&<>"]/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

function svgDocument(width: number, height: number, bg: string, content: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    `<rect width="100%" height="100%" fill="${bg}"/>${content}</svg>`
  );
}

/** The head view's lines as SVG, laid out as HeadView paints them; `measure` sets FONT and measures text. */
export function linesSvg(s: HeadViewState, measure: CanvasRenderingContext2D): string {
  const { slice, colors } = s;
  const { leftW, rightW, x1, width, height, yq, yk } = linesGeometry(measure, slice);
  const parts: string[] = [];
  for (const h of s.heads) {
    const byOpacity = new Map<string, string[]>();
    const row = new Float32Array(slice.k1 - slice.k0);
    for (let q = slice.q0; q < slice.q1; q++) {
      for (let k = slice.k0; k < slice.k1; k++) row[k - slice.k0] = weight(slice.block, s.layer, h, q, k);
      const keep = linkMask(row, s.coverage); // the same links the canvas draws
      for (let k = slice.k0; k < slice.k1; k++) {
        const a = Math.min(1, row[k - slice.k0]);
        if (a < MIN_OPACITY || !keep[k - slice.k0]) continue;
        const key = a.toFixed(2);
        if (!byOpacity.has(key)) byOpacity.set(key, []);
        byOpacity.get(key)?.push(`M${leftW} ${yq(q)}L${x1} ${yk(k)}`);
      }
    }
    const stroke = css(headColor(h, slice.block.heads));
    for (const [opacity, d] of byOpacity) parts.push(`<path d="${d.join('')}" stroke="${stroke}" stroke-opacity="${opacity}"/>`);
  }
  const text = (t: string, x: number, y: number, anchor: string, room: number) =>
    `<text x="${x}" y="${y}" text-anchor="${anchor}">${escapeXml(fitText(measure, t, room))}</text>`;
  const labels = [
    ...slice.queryTokens.map((t, i) => text(t, leftW - 8, yq(slice.q0 + i), 'end', leftW - 12)),
    ...slice.keyTokens.map((t, i) => text(t, x1 + 8, yk(slice.k0 + i), 'start', rightW - 12))
  ];
  return svgDocument(
    width,
    height,
    colors.bg,
    `<g fill="none" stroke-width="2">${parts.join('')}</g>` +
      `<g fill="${colors.fg}" font-family="ui-monospace, Menlo, monospace" font-size="12" dominant-baseline="middle">${labels.join('')}</g>`
  );
}

interface Placed {
  canvas: HTMLCanvasElement;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Painted canvases under `body` (hover overlays left out), placed in CSS pixels relative to it. */
function placedCanvases(body: HTMLElement): { items: Placed[]; width: number; height: number } {
  const origin = body.getBoundingClientRect();
  const items = [...body.querySelectorAll('canvas')]
    .filter(c => !c.classList.contains('aw-head-overlay') && c.getBoundingClientRect().width > 0)
    .map(canvas => {
      const r = canvas.getBoundingClientRect();
      return { canvas, x: r.left - origin.left, y: r.top - origin.top, w: r.width, h: r.height };
    });
  if (!items.length) throw new Error('nothing is drawn: the view is empty or hidden');
  return { items, width: Math.ceil(Math.max(...items.map(i => i.x + i.w))), height: Math.ceil(Math.max(...items.map(i => i.y + i.h))) };
}

function compositePng(body: HTMLElement, bg: string): Promise<Blob> {
  const { items, width, height } = placedCanvases(body);
  const scale = Math.max(1, ...items.map(i => i.canvas.width / i.w));
  const out = document.createElement('canvas');
  out.width = Math.round(width * scale);
  out.height = Math.round(height * scale);
  const ctx = out.getContext('2d')!;
  ctx.fillStyle = bg;
  ctx.fillRect(0, 0, out.width, out.height);
  for (const i of items) ctx.drawImage(i.canvas, i.x * scale, i.y * scale, i.w * scale, i.h * scale);
  return new Promise((resolve, reject) => out.toBlob(b => (b ? resolve(b) : reject(new Error('PNG encoding failed'))), 'image/png'));
}

function embeddedSvg(body: HTMLElement, bg: string): string {
  const { items, width, height } = placedCanvases(body);
  const images = items.map(i => `<image x="${i.x}" y="${i.y}" width="${i.w}" height="${i.h}" href="${i.canvas.toDataURL('image/png')}"/>`);
  return svgDocument(width, height, bg, images.join(''));
}

/** PNG/SVG buttons for the toolbar, and the answer to the kernel's `image` requests. */
export class ImageExport {
  readonly el: HTMLSpanElement;
  private server: RpcServer;

  constructor(
    private model: WidgetModel,
    private root: HTMLElement,
    private body: HTMLElement,
    private headView: HeadView
  ) {
    this.el = document.createElement('span');
    this.el.className = 'aw-save';
    for (const format of ['png', 'svg'] as const) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = `aw-save-${format}`;
      button.textContent = `⤓ ${format.toUpperCase()}`;
      button.title = `Save the current view as ${format.toUpperCase()}`;
      button.addEventListener('click', () => this.download(format));
      this.el.append(button);
    }
    this.server = new RpcServer(model, {
      image: async params => {
        const format = params.format;
        if (format !== 'png' && format !== 'svg') throw new Error(`image format must be 'png' or 'svg', got ${JSON.stringify(format)}`);
        const file = await this.image(format);
        return { result: { format }, buffers: [await file.arrayBuffer()] };
      }
    });
  }

  /** The current view as a PNG or SVG file. */
  async image(format: ImageFormat): Promise<Blob> {
    const bg = getComputedStyle(this.root).backgroundColor || '#ffffff';
    if (format === 'png') return compositePng(this.body, bg);
    const state = this.headView.state;
    const measure = document.createElement('canvas').getContext('2d')!;
    measure.font = FONT;
    const svg = state && this.body.contains(this.headView.el) ? linesSvg(state, measure) : embeddedSvg(this.body, bg);
    return new Blob([svg], { type: 'image/svg+xml' });
  }

  async download(format: ImageFormat): Promise<void> {
    const url = URL.createObjectURL(await this.image(format));
    const a = document.createElement('a');
    a.href = url;
    a.download = `attention-${this.model.get('view')}.${format}`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  dispose(): void {
    this.server.dispose();
  }
}
