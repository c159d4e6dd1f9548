import { describe, expect, it } from 'vitest';
import { decodeBlock } from '../protocol/decode';
import { cells, denseTile, maxPool, poolHead, poolHeadShaped, stepFor, tileWeight } from './pool';

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

describe('denseTile', () => {
  it('max-pools a window of the requested heads', () => {
    const n = 6;
    const values = new Uint8Array(2 * n * n);
    values[(1 * n + 4) * n + 5] = 200; // head 1, q 4, k 5
    values[(0 * n + 2) * n + 2] = 100; // head 0, q 2, k 2
    const block = decodeBlock({ shape: [1, 2, n, n], dtype: 'uint8', scale: [[1, 0.5]], layers: [values] });
    const t = denseTile(block, { kind: 'self', layer: 0, heads: [1, 0], q0: 2, q1: 6, k0: 1, k1: 6, step: 2 });
    expect([t.rows, t.cols]).toEqual([2, 3]);
    expect(tileWeight(t, 0, 1, 2)).toBeCloseTo((200 * 0.5) / 255);
    expect(tileWeight(t, 1, 0, 0)).toBeCloseTo(100 / 255);
    expect(Array.from(t.values).filter(v => v).length).toBe(2);
  });
});

describe('maxPool (the one bucket convention)', () => {
  it('gives cell i the positions [start + i·step, start + (i + 1)·step), the last cell partial', () => {
    // One 1 × 5 row, window k = 1..5 pooled by 2: cells {1, 2}, {3, 4}, {5}.
    const src = [9, 1, -7, 3, 2, 4];
    const out = new Float32Array(3);
    const peak = maxPool(src, 0, 6, { q0: 0, q1: 1, k0: 1, k1: 6 }, 1, 2, out);
    expect(Array.from(out)).toEqual([-7, 3, 4]); // largest |v| keeps its sign; position 0 is outside the window
    expect(peak).toBe(7);
    expect([cells(5, 2), stepFor(5, 3), stepFor(5, 2), stepFor(3, 8)]).toEqual([3, 2, 3, 1]);
  });

  it('sizes model-view thumbnails with the same convention as tiles', () => {
    const n = 100;
    const block = decodeBlock({ shape: [1, 1, n, n], dtype: 'uint8', scale: [[1]], layers: [new Uint8Array(n * n).fill(1)] });
    const pooled = poolHeadShaped(block, 0, 0, { q0: 0, q1: n, k0: 0, k1: n }, 96, 40);
    expect([pooled.rows, pooled.stepQ, pooled.cols, pooled.stepK]).toEqual([50, 2, 34, 3]);
    const t = denseTile(block, { kind: 'self', layer: 0, heads: [0], q0: 0, q1: n, k0: 0, k1: n, step: 3 });
    expect([t.rows, t.cols]).toEqual([34, 34]);
  });
});
