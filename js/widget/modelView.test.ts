import { describe, expect, it } from 'vitest';
import { decodeBlock } from './data';
import { poolHead } from './modelView';
import { denseTile, tileWeight } from './tiles';

describe('poolHead', () => {
  it('max-pools so a single peak survives downsampling', () => {
    const n = 64;
    const values = new Uint8Array(n * n).fill(1);
    values[37 * n + 11] = 255;
    const block = decodeBlock({ shape: [1, 1, n, n], dtype: 'uint8', scale: [[1]], layers: [values] });
    const pooled = poolHead(block, 0, 0, { q0: 0, q1: n, k0: 0, k1: n }, 8, 8);
    expect(pooled[Math.floor(37 / 8) * 8 + Math.floor(11 / 8)]).toBe(1);
    expect(Math.max(...Array.from(pooled).filter(v => v < 1))).toBeCloseTo(1 / 255);
  });
});

describe('signed pooling (differences)', () => {
  // 1 layer, 1 head, 2 × 2 float16: [[0.25, −0.5], [0, 0.125]] (halves 0x3400, 0xb800, 0, 0x3000).
  const bytes = Uint8Array.from([0x00, 0x34, 0x00, 0xb8, 0x00, 0x00, 0x00, 0x30]);
  const block = decodeBlock({ shape: [1, 1, 2, 2], dtype: 'float16', scale: [[1]], layers: [bytes] });

  it('keeps the largest |a − b| with its sign, scaled to [−1, 1]', () => {
    expect(Array.from(poolHead(block, 0, 0, { q0: 0, q1: 2, k0: 0, k1: 2 }, 1, 1))).toEqual([-1]);
    expect(Array.from(poolHead(block, 0, 0, { q0: 0, q1: 2, k0: 0, k1: 2 }, 2, 1))).toEqual([-1, 0.25]);
    const t = denseTile(block, { kind: 'self', layer: 0, heads: [0], q0: 0, q1: 2, k0: 0, k1: 2, step: 2 });
    expect(tileWeight(t, 0, 0, 0)).toBe(-0.5);
  });
});
