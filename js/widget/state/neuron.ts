/** Neuron view math: the columns that turn one query and its keys into attention (data: protocol/decode.ts). */

import type { NeuronData } from '../protocol/decode';

/** The query or key vector of `position` in `head` of buffer `index` (a view, not a copy). */
export function vectorOf(data: NeuronData, which: 'queries' | 'keys', index: number, head: number, position: number): Float32Array {
  const start = (head * data.seq + position) * data.dim;
  return data[which][index].subarray(start, start + data.dim);
}

/** Key positions a query attends to: all, or up to and including itself for causal models. */
export function attendedKeys(data: NeuronData, query: number): number {
  return data.causal ? query + 1 : data.seq;
}

export interface NeuronColumns {
  /** products[j][i] = q[i] × keys[j][i]. */
  products: Float64Array[];
  /** scores[j] = q · keys[j] × scale. */
  scores: Float64Array;
  /** softmax of scores: the attention of q to each key. */
  softmax: Float64Array;
}

/** Elementwise products, scaled dot products and their softmax for one query against its keys. */
export function neuronColumns(q: ArrayLike<number>, keys: ArrayLike<number>[], scale: number): NeuronColumns {
  const products = keys.map(k => Float64Array.from(k, (v, i) => v * q[i]));
  const scores = Float64Array.from(products, p => p.reduce((a, b) => a + b, 0) * scale);
  const max = Math.max(...scores);
  const exp = scores.map(s => Math.exp(s - max));
  const sum = exp.reduce((a, b) => a + b, 0);
  return { products, scores, softmax: exp.map(e => e / sum) };
}
