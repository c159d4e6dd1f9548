import { describe, expect, it } from 'vitest';
import { decodeNeuron } from '../protocol/decode';
import type { NeuronState } from '../protocol/model';
import { attendedKeys, neuronColumns, vectorOf } from './neuron';

/** Little-endian float16 bytes of values exactly representable in half precision. */
function halves(values: number[]): Uint8Array {
  const view = new DataView(new ArrayBuffer(values.length * 2));
  values.forEach((v, i) => {
    const sign = v < 0 ? 0x8000 : 0;
    const a = Math.abs(v);
    const exp = a === 0 ? 0 : Math.floor(Math.log2(a));
    const bits = a === 0 ? 0 : ((exp + 15) << 10) | Math.round((a / 2 ** exp - 1) * 1024);
    view.setUint16(2 * i, sign | bits, true);
  });
  return new Uint8Array(view.buffer);
}

describe('neuronColumns', () => {
  it('gives the elementwise products, scaled dot products and their softmax', () => {
    const { products, scores, softmax } = neuronColumns(
      [1, 2],
      [
        [3, 4],
        [-1, 0.5]
      ],
      0.5
    );
    expect(products.map(p => Array.from(p))).toEqual([
      [3, 8],
      [-1, 1]
    ]);
    expect(Array.from(scores)).toEqual([5.5, 0]);
    const e = Math.exp(5.5);
    expect(softmax[0]).toBeCloseTo(e / (e + 1), 12);
    expect(softmax[1]).toBeCloseTo(1 / (e + 1), 12);
  });

  it('stays finite for large scores (softmax is shifted by the maximum)', () => {
    const { softmax } = neuronColumns([100], [[100], [99]], 1);
    expect(softmax[0] + softmax[1]).toBeCloseTo(1, 12);
    expect(softmax[1] / softmax[0]).toBeCloseTo(Math.exp(-100), 50);
  });
});

describe('decodeNeuron', () => {
  // 1 layer, 2 heads, 3 positions, head_dim 2; value = head·10 + position + dim/2 (or negated for keys).
  const values = (sign: number) => [0, 1].flatMap(h => [0, 1, 2].flatMap(p => [0, 1].map(d => sign * (h * 10 + p + d / 2))));
  const state: NeuronState = {
    shape: [1, 2, 3, 2],
    head_dim: 2,
    dtype: 'float16',
    layers: [4],
    scaling: [0.5],
    queries: [halves(values(1))],
    keys: [new DataView(halves(values(-1)).buffer)],
    causal: true
  };

  it('decodes float16 buffers (Uint8Array or DataView) and indexes (head, position) vectors', () => {
    const data = decodeNeuron(state)!;
    expect([data.heads, data.seq, data.dim, data.layers[0]]).toEqual([2, 3, 2, 4]);
    expect(Array.from(vectorOf(data, 'queries', 0, 1, 2))).toEqual([12, 12.5]);
    expect(Array.from(vectorOf(data, 'keys', 0, 0, 1))).toEqual([-1, -1.5]);
  });

  it('softmax over the attended keys is the causal attention softmax(q·kᵀ·scaling + mask)', () => {
    const data = decodeNeuron(state)!;
    expect(attendedKeys(data, 1)).toBe(2);
    expect(attendedKeys({ ...data, causal: false }, 1)).toBe(3);
    const q = vectorOf(data, 'queries', 0, 0, 1);
    const keys = [0, 1].map(k => vectorOf(data, 'keys', 0, 0, k));
    const { scores, softmax } = neuronColumns(q, keys, data.scaling[0]);
    // q = (1, 1.5); k0 = (0, -0.5), k1 = (-1, -1.5): q·k = -0.75, -3.25; × 0.5.
    expect(Array.from(scores)).toEqual([-0.375, -1.625]);
    const w = [Math.exp(-0.375), Math.exp(-1.625)];
    expect(Array.from(softmax)).toEqual(w.map(x => expect.closeTo(x / (w[0] + w[1]), 12)));
  });

  it('is null without q/k and rejects a buffer of the wrong size', () => {
    expect(decodeNeuron({})).toBeNull();
    expect(() => decodeNeuron({ ...state, keys: [halves([1, 2])] })).toThrow('neuron layer 0: expected 12 values, got 2');
  });
});
