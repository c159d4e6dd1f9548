/**
 * Geometry of the head view's lines mode, shared by the canvas (views/headView.ts) and the SVG
 * export (views/imageExport.ts): query tokens in a column on the left, key tokens on the right,
 * one row per token, lines across a fixed gap.
 */

import type { Slice } from '../state/layout';
import { labelWidth } from './canvas';

/** Row height, top/bottom padding and the gap between the token columns (CSS px). */
export const ROW = 18;
const PAD = 8;
export const GAP = 220;

export interface LinesGeometry {
  /** Width of the query labels column; lines start at its right edge. */
  leftW: number;
  rightW: number;
  /** x where the lines end and the key labels column starts. */
  x1: number;
  width: number;
  height: number;
  /** Centre y of query position q / key position k (absolute positions in the block). */
  yq: (q: number) => number;
  yk: (k: number) => number;
  /** Row (0-based, from the top) under y; may be out of range. */
  rowAt: (y: number) => number;
}

/** The layout of `slice` with labels measured by `measure` (its font is set to the labels' font). */
export function linesGeometry(measure: CanvasRenderingContext2D, slice: Slice): LinesGeometry {
  const leftW = labelWidth(measure, slice.queryTokens) + 12;
  const rightW = labelWidth(measure, slice.keyTokens) + 12;
  const x1 = leftW + GAP;
  const rowY = (i: number) => PAD + i * ROW + ROW / 2;
  return {
    leftW,
    rightW,
    x1,
    width: x1 + rightW,
    height: PAD * 2 + Math.max(slice.q1 - slice.q0, slice.k1 - slice.k0) * ROW,
    yq: q => rowY(q - slice.q0),
    yk: k => rowY(k - slice.k0),
    rowAt: y => Math.floor((y - PAD) / ROW)
  };
}
