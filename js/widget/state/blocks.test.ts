import { describe, expect, it } from 'vitest';
import { decodeBlock } from '../protocol/decode';
import { hideSpecial, keptPositions, weight } from './blocks';

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
