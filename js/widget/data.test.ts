import { describe, expect, it } from 'vitest';
import { decodeBlock, halfToFloat, hideSpecial, keptPositions, weight } from './data';

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
    expect(() => decodeBlock({ shape: [1, 1, 2, 2], dtype: 'uint8', scale: [[1]], layers: [new Uint8Array(3)] })).toThrow(
      /layer 0: expected 4 values, got 3/
    );
  });

  it('converts halves including subnormals and infinities', () => {
    expect(halfToFloat(0x0001)).toBeCloseTo(5.96e-8, 10);
    expect(halfToFloat(0x7c00)).toBe(Infinity);
    expect(halfToFloat(0xbc00)).toBe(-1);
  });
});

describe('hideSpecial', () => {
  // 1 layer, 1 head, 3 × 3 float16-free uint8 block, scale 1: rows [CLS]→(0.6, 0.2, 0.2), a→(0.5, 0.25, 0.25), [SEP]→(0, 0, 1).
  const bytes = Uint8Array.from([0.6, 0.2, 0.2, 0.5, 0.25, 0.25, 0, 0, 1].map(w => Math.round(w * 255)));
  const block = decodeBlock({ shape: [1, 1, 3, 3], dtype: 'uint8', scale: [[1]], layers: [bytes] });

  it('drops special rows/columns and renormalises each kept row (exBERT)', () => {
    const kept = keptPositions(3, [0]);
    expect(kept).toEqual([1, 2]);
    const hidden = hideSpecial(block, kept, kept, true);
    expect([hidden.queries, hidden.keys]).toEqual([2, 2]);
    expect(weight(hidden, 0, 0, 0, 0)).toBeCloseTo(0.5);
    expect(weight(hidden, 0, 0, 0, 1)).toBeCloseTo(0.5);
    expect(weight(hidden, 0, 0, 1, 1)).toBeCloseTo(1);
  });

  it('keeps raw values without renormalisation and leaves all-hidden rows at 0', () => {
    const hidden = hideSpecial(block, [1, 2], [0, 1], false);
    expect(weight(hidden, 0, 0, 0, 1)).toBeCloseTo(0.25, 2);
    const zero = hideSpecial(block, [2], [0, 1], true);
    expect([weight(zero, 0, 0, 0, 0), weight(zero, 0, 0, 0, 1)]).toEqual([0, 0]);
  });
});
