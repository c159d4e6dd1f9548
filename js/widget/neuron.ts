/**
 * Neuron view data and math: queries/keys synced from Python (attn_widget.qk.neuron_payload plus
 * `causal`), and the columns that turn one query and its keys into attention.
 */

import { decodeFloat16, toBytes } from './data';

type Buffer = DataView | ArrayBuffer | Uint8Array;

/** `neuron_data` as synced; `{}` when the widget has no queries/keys. */
export interface NeuronState {
  shape: [number, number, number, number];
  head_dim: number;
  dtype: 'float16';
  /** Model layer number of each buffer. */
  layers: number[];
  /** Factor applied to q·k before the softmax, per buffer (1/√head_dim for the supported families). */
  scaling: number[];
  queries: Buffer[];
  keys: Buffer[];
  causal: boolean;
}

export interface NeuronData {
  layers: number[];
  heads: number;
  seq: number;
  dim: number;
  scaling: number[];
  /** queries[i] / keys[i]: heads × seq × dim floats of layers[i], C order. */
  queries: Float32Array[];
  keys: Float32Array[];
  causal: boolean;
}

export function decodeNeuron(state: NeuronState | Record<string, never>): NeuronData | null {
  if (!('shape' in state)) return null;
  const [, heads, seq, dim] = state.shape;
  const decode = (bufs: Buffer[]) =>
    bufs.map((b, i) => {
      const v = decodeFloat16(toBytes(b));
      if (v.length !== heads * seq * dim) throw new Error(`neuron layer ${i}: expected ${heads * seq * dim} values, got ${v.length}`);
      return v;
    });
  return { layers: state.layers, heads, seq, dim, scaling: state.scaling, queries: decode(state.queries), keys: decode(state.keys), causal: state.causal };
}

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
