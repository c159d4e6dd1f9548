/** Reading decoded attention blocks: one weight, and the block without some positions (special tokens). */

import type { AttentionBlock } from '../protocol/decode';

/** Weight of (query q, key k) in one head of one stored layer. */
export function weight(block: AttentionBlock, layer: number, head: number, q: number, k: number): number {
  const i = (head * block.queries + q) * block.keys + k;
  return block.values[layer][i] * block.mul[layer * block.heads + head];
}

/** Positions 0 … n − 1 that are not in `hidden`, ascending. */
export function keptPositions(n: number, hidden: number[]): number[] {
  const drop = new Set(hidden);
  return Array.from({ length: n }, (_, i) => i).filter(i => !drop.has(i));
}

/**
 * The block restricted to query `rows` × key `cols` (exBERT's hiding of special tokens), as float
 * weights (mul 1). With `renormalize` each row is divided by its kept weight,
 * α'_ij = α_ij / Σ_{k kept} α_ik (rows with none stay 0), as attn_widget.analysis.hide_special_tokens.
 */
export function hideSpecial(block: AttentionBlock, rows: number[], cols: number[], renormalize: boolean): AttentionBlock {
  const { layers, heads } = block;
  const nr = rows.length;
  const nc = cols.length;
  const values = block.values.map((src, l) => {
    const out = new Float32Array(heads * nr * nc);
    for (let h = 0; h < heads; h++) {
      const m = block.mul[l * heads + h];
      rows.forEach((q, i) => {
        const base = (h * block.queries + q) * block.keys;
        const o = (h * nr + i) * nc;
        let sum = 0;
        cols.forEach((k, j) => {
          out[o + j] = src[base + k] * m;
          sum += out[o + j];
        });
        if (renormalize && sum > 0) for (let j = 0; j < nc; j++) out[o + j] /= sum;
      });
    }
    return out;
  });
  const mul = new Float32Array(layers * heads).fill(1);
  return { layers, heads, queries: nr, keys: nc, values, mul, tiled: false, thumbs: null, thumbStep: 1 };
}
