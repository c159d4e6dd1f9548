import { describe, expect, it } from 'vitest';
import { decodeBlock } from './data';
import { poolHead } from './modelView';

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
