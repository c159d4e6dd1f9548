import { describe, expect, it } from 'vitest';
import { weight } from '../state/blocks';
import { decodeBlock, halfToFloat } from './decode';

describe('decodeBlock', () => {
  it('decodes uint8 with per-head scale (weight = byte × scale / 255)', () => {
    const bytes = new Uint8Array([255, 0, 51, 102, 255, 255, 0, 0]); // 1 layer, 2 heads, 2×2
    const block = decodeBlock({ shape: [1, 2, 2, 2], dtype: 'uint8', scale: [[1, 0.5]], layers: [new DataView(bytes.buffer)] });
    expect(weight(block, 0, 0, 0, 0)).toBeCloseTo(1);
    expect(weight(block, 0, 0, 1, 0)).toBeCloseTo(0.2);
    expect(weight(block, 0, 1, 0, 1)).toBeCloseTo(0.5);
    expect(weight(block, 0, 1, 1, 1)).toBe(0);
  });

  it('decodes little-endian float16', () => {
    // 1.0 = 0x3c00, 0.5 = 0x3800, 0.25 = 0x3400, 0 = 0x0000
    const bytes = new Uint8Array([0x00, 0x3c, 0x00, 0x38, 0x00, 0x34, 0x00, 0x00]);
    const block = decodeBlock({ shape: [1, 1, 2, 2], dtype: 'float16', scale: [[1]], layers: [bytes] });
    expect([0, 1].flatMap(q => [0, 1].map(k => weight(block, 0, 0, q, k)))).toEqual([1, 0.5, 0.25, 0]);
  });

  it('rejects a buffer of the wrong size', () => {
    expect(() => decodeBlock({ shape: [1, 1, 2, 2], dtype: 'uint8', scale: [[1]], layers: [new Uint8Array(3)] })).toThrow(/layer 0: expected 4 values, got 3/);
  });

  it('converts halves including subnormals and infinities', () => {
    expect(halfToFloat(0x0001)).toBeCloseTo(5.96e-8, 10);
    expect(halfToFloat(0x7c00)).toBe(Infinity);
    expect(halfToFloat(0xbc00)).toBe(-1);
  });
});
