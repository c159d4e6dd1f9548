import { describe, expect, it } from 'vitest';
import { linkMask } from './headView';

describe('linkMask (exBERT-style pruning)', () => {
  it('keeps the strongest links until they hold the asked share of the row', () => {
    expect(Array.from(linkMask([0.1, 0.5, 0.05, 0.35], 0.7))).toEqual([0, 1, 0, 1]);
    expect(Array.from(linkMask([0.1, 0.5, 0.05, 0.35], 0.9))).toEqual([1, 1, 0, 1]);
  });

  it('keeps everything at coverage 1 and nothing of an empty row', () => {
    expect(Array.from(linkMask([0.2, 0.8], 1))).toEqual([1, 1]);
    expect(Array.from(linkMask([0, 0], 0.7))).toEqual([0, 0]);
  });
});
