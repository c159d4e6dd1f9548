/**
 * Level-of-detail access to attention: a "tile" is a max-pooled window of some heads of one layer.
 * Dense blocks (all weights in the browser) are pooled here; tiled blocks (too large to send whole)
 * are fetched from the kernel with custom messages carrying binary buffers, and cached (LRU).
 */

import { toBytes, type AttentionBlock, type Kind } from './data';
import type { Slice } from './layout';

export interface TileRequest {
  kind: Kind;
  /** Stored layer index. */
  layer: number;
  heads: number[];
  q0: number;
  q1: number;
  k0: number;
  k1: number;
  /** Pooling factor: one cell covers step × step weights (max). */
  step: number;
}

export interface Tile extends TileRequest {
  rows: number;
  cols: number;
  /** (heads.length, rows, cols), C order; weight = values[i] × mul[head index]. */
  values: Uint8Array | Float32Array;
  mul: Float32Array;
  /** Said next to the view when the tile is not what was asked for (e.g. thumbnails without a kernel). */
  note?: string;
}

export function tileKey(r: TileRequest): string {
  return `${r.kind}/${r.layer}/${r.heads.join(',')}/${r.q0}:${r.q1}/${r.k0}:${r.k1}/${r.step}`;
}

/** Max-pool a window of a dense block into a tile (what the kernel does for tiled blocks); signed values keep the largest |v|. */
export function denseTile(block: AttentionBlock, r: TileRequest): Tile {
  const rows = Math.ceil((r.q1 - r.q0) / r.step);
  const cols = Math.ceil((r.k1 - r.k0) / r.step);
  const src = block.values[r.layer];
  const values = new (src instanceof Uint8Array ? Uint8Array : Float32Array)(r.heads.length * rows * cols);
  const mul = new Float32Array(r.heads.length);
  r.heads.forEach((h, i) => {
    mul[i] = block.mul[r.layer * block.heads + h];
    const out = i * rows * cols;
    for (let q = r.q0; q < r.q1; q++) {
      const row = out + Math.floor((q - r.q0) / r.step) * cols;
      const base = (h * block.queries + q) * block.keys;
      for (let k = r.k0; k < r.k1; k++) {
        const o = row + Math.floor((k - r.k0) / r.step);
        const v = src[base + k];
        if (Math.abs(v) > Math.abs(values[o])) values[o] = v;
      }
    }
  });
  return { ...r, rows, cols, values, mul };
}

/** The slice's window on the thumbnails of a tiled block (or the slice itself when dense). */
export function thumbSlice(s: Slice): Slice {
  const b = s.block;
  if (!b.thumbs) return s;
  const st = b.thumbStep;
  return { ...s, block: b.thumbs, q0: Math.floor(s.q0 / st), q1: Math.ceil(s.q1 / st), k0: Math.floor(s.k0 / st), k1: Math.ceil(s.k1 / st) };
}

/** A coarse tile cut from a tiled block's thumbnails (when the kernel cannot answer, e.g. in exported HTML). */
export function thumbTile(block: AttentionBlock, r: TileRequest): Tile {
  const st = block.thumbStep;
  const thumbs = block.thumbs!;
  const t = denseTile(thumbs, {
    ...r,
    q0: Math.floor(r.q0 / st),
    q1: Math.ceil(r.q1 / st),
    k0: Math.floor(r.k0 / st),
    k1: Math.ceil(r.k1 / st),
    step: Math.max(1, Math.round(r.step / st))
  });
  return {
    ...t,
    q0: t.q0 * st,
    q1: Math.min(t.q1 * st, block.queries),
    k0: t.k0 * st,
    k1: Math.min(t.k1 * st, block.keys),
    step: t.step * st,
    note: 'no kernel: thumbnails only (full resolution is fetched from a running kernel)'
  };
}

/** Weight of a tile cell for the i-th requested head. */
export function tileWeight(t: Tile, i: number, row: number, col: number): number {
  return t.values[(i * t.rows + row) * t.cols + col] * t.mul[i];
}

/** The part of an anywidget model the tile client needs. */
export interface Messenger {
  send(content: unknown, callbacks?: unknown, buffers?: ArrayBuffer[]): void;
  on(event: 'msg:custom', callback: (msg: any, buffers: (DataView | ArrayBuffer)[]) => void): void;
  off(event: 'msg:custom', callback: (msg: any, buffers: (DataView | ArrayBuffer)[]) => void): void;
}

/** Fetches tiles of tiled blocks from the kernel; caches up to `maxBytes` (least recently used out). */
export class TileClient {
  private cache = new Map<string, Tile>();
  private bytes = 0;
  private inflight = new Map<string, Promise<Tile>>();
  private waiting = new Map<number, { resolve: (t: Tile) => void; reject: (e: Error) => void; request: TileRequest }>();
  private next = 1;
  private readonly listener = (msg: any, buffers: (DataView | ArrayBuffer)[]) => this.receive(msg, buffers);

  constructor(private model: Messenger, private maxBytes = 256 * 2 ** 20, private timeoutMs = 15_000) {
    model.on('msg:custom', this.listener);
  }

  dispose(): void {
    this.model.off('msg:custom', this.listener);
    for (const w of this.waiting.values()) w.reject(new Error('view closed'));
    this.waiting.clear();
  }

  /** A cached tile, if any (marks it recently used). */
  peek(r: TileRequest): Tile | undefined {
    const key = tileKey(r);
    const tile = this.cache.get(key);
    if (tile) {
      this.cache.delete(key);
      this.cache.set(key, tile);
    }
    return tile;
  }

  get(r: TileRequest): Promise<Tile> {
    const cached = this.peek(r);
    if (cached) return Promise.resolve(cached);
    const key = tileKey(r);
    let p = this.inflight.get(key);
    if (!p) {
      p = new Promise<Tile>((resolve, reject) => {
        const id = this.next++;
        this.waiting.set(id, { resolve, reject, request: r });
        this.model.send({ type: 'tile', request: id, ...r });
        setTimeout(() => {
          // A kernel that died or restarted never answers: let the caller fall back.
          if (this.waiting.delete(id)) reject(new Error('the kernel did not answer the tile request'));
        }, this.timeoutMs);
      }).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  private receive(msg: any, buffers: (DataView | ArrayBuffer)[]): void {
    if (msg?.type !== 'tile') return;
    const w = this.waiting.get(msg.request);
    if (!w) return;
    this.waiting.delete(msg.request);
    if (msg.error) return w.reject(new Error(msg.error));
    const values = toBytes(buffers[0]);
    const tile: Tile = { ...w.request, rows: msg.rows, cols: msg.cols, values, mul: Float32Array.from(msg.scale, (s: number) => s / 255) };
    this.cache.set(tileKey(tile), tile);
    this.bytes += values.byteLength;
    for (const [key, old] of this.cache) {
      if (this.bytes <= this.maxBytes) break;
      this.cache.delete(key);
      this.bytes -= old.values.byteLength;
    }
    w.resolve(tile);
  }
}
