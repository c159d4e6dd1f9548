/**
 * Max-pooling, written once for every view and the kernel's tiles. Convention (the same as
 * attn_widget's `tile` and thumbnails): with pooling factor `step`, cell i of an axis covers
 * positions [start + i·step, start + (i + 1)·step), so a window of n positions has ⌈n / step⌉ cells
 * and only the last may be partial. Each cell keeps the value of largest magnitude, with its sign
 * (a single peak survives, and differences a − b keep their strongest change).
 */

import type { AttentionBlock, Tile } from '../protocol/decode';
import type { TileRequest } from '../protocol/model';
import type { Slice } from './layout';

interface Window {
  q0: number;
  q1: number;
  k0: number;
  k1: number;
}

/** Number of cells of a window of `span` positions pooled by `step`. */
export function cells(span: number, step: number): number {
  return Math.ceil(span / step);
}

/** The smallest pooling factor that fits `span` positions into at most `maxCells` cells. */
export function stepFor(span: number, maxCells: number): number {
  return Math.max(1, Math.ceil(span / Math.max(1, maxCells)));
}

/**
 * Max-pool the window `w` of one (queries, keys) matrix that starts at `offset` in `src` (row
 * length `keys`) into `out` at `outOffset`: ⌈rows/stepQ⌉ × ⌈cols/stepK⌉ cells, C order. `out` must
 * start at 0 there. Returns the largest |value| seen.
 */
export function maxPool(
  src: ArrayLike<number>,
  offset: number,
  keys: number,
  w: Window,
  stepQ: number,
  stepK: number,
  out: { [i: number]: number },
  outOffset = 0
): number {
  const cols = cells(w.k1 - w.k0, stepK);
  let peak = 0;
  for (let q = w.q0; q < w.q1; q++) {
    const row = outOffset + Math.floor((q - w.q0) / stepQ) * cols;
    const base = offset + q * keys;
    if (stepK === 1) {
      // One cell per key (tiles at full resolution): no inner loop per cell.
      for (let k = w.k0; k < w.k1; k++) {
        const v = src[base + k];
        const a = v < 0 ? -v : v;
        const o = row + k - w.k0;
        if (a > Math.abs(out[o])) out[o] = v;
        if (a > peak) peak = a;
      }
      continue;
    }
    // Cell by cell along the row: one read and write of `out` per cell, no division per weight.
    for (let c = 0, k = w.k0; c < cols; c++) {
      const end = Math.min(k + stepK, w.k1);
      let best = out[row + c];
      let bestAbs = Math.abs(best);
      for (; k < end; k++) {
        const v = src[base + k];
        const a = v < 0 ? -v : v;
        if (a > bestAbs) {
          bestAbs = a;
          best = v;
        }
      }
      out[row + c] = best;
      if (bestAbs > peak) peak = bestAbs;
    }
  }
  return peak;
}

/** Max-pool a window of a dense block into a tile (what the kernel does for tiled blocks). */
export function denseTile(block: AttentionBlock, r: TileRequest): Tile {
  const rows = cells(r.q1 - r.q0, r.step);
  const cols = cells(r.k1 - r.k0, r.step);
  const src = block.values[r.layer];
  const values = new (src instanceof Uint8Array ? Uint8Array : Float32Array)(r.heads.length * rows * cols);
  const mul = new Float32Array(r.heads.length);
  r.heads.forEach((h, i) => {
    mul[i] = block.mul[r.layer * block.heads + h];
    maxPool(src, h * block.queries * block.keys, block.keys, r, r.step, r.step, values, i * rows * cols);
  });
  return { ...r, rows, cols, values, mul };
}

/**
 * One head's window pooled to at most `maxRows` × `maxCols` cells (model view thumbnails), scaled to
 * [0, 1] by the head's largest |weight| in the window (signed values to [−1, 1]). Returns the cells
 * and their shape; `stepQ`/`stepK` say how many positions a cell covers.
 */
export function poolHeadShaped(
  block: AttentionBlock,
  layer: number,
  head: number,
  w: Window,
  maxRows: number,
  maxCols: number
): { values: Float32Array; rows: number; cols: number; stepQ: number; stepK: number } {
  const stepQ = stepFor(w.q1 - w.q0, maxRows);
  const stepK = stepFor(w.k1 - w.k0, maxCols);
  const rows = cells(w.q1 - w.q0, stepQ);
  const cols = cells(w.k1 - w.k0, stepK);
  const values = new Float32Array(rows * cols);
  const peak = maxPool(block.values[layer], head * block.queries * block.keys, block.keys, w, stepQ, stepK, values);
  if (peak > 0) for (let i = 0; i < values.length; i++) values[i] /= peak;
  return { values, rows, cols, stepQ, stepK };
}

/** `poolHeadShaped`'s cells only. */
export function poolHead(block: AttentionBlock, layer: number, head: number, w: Window, maxRows: number, maxCols: number): Float32Array {
  return poolHeadShaped(block, layer, head, w, maxRows, maxCols).values;
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
  const thumbs = block.thumbs as AttentionBlock;
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
