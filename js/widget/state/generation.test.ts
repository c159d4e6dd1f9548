import { describe, expect, it } from 'vitest';
import { decodeBlock } from '../protocol/decode';
import {
  generatedIndex,
  generatedSlice,
  meanRow,
  moveFocus,
  poolSelection,
  rowFor,
  rowRequests,
  stripWindow,
  strongest,
  topStrip,
  visibleCount
} from './generation';
import { denseTile } from './pool';

describe('generation state', () => {
  it('reveals the prompt plus `step` generated tokens', () => {
    expect(visibleCount(4, 10, 0)).toBe(4);
    expect(visibleCount(4, 10, 3)).toBe(7);
    expect(visibleCount(4, 10, 99)).toBe(10);
    expect(visibleCount(4, 10, -2)).toBe(4);
  });

  it('maps positions to rows and generated indices', () => {
    expect(rowFor(6, 'token')).toBe(6);
    expect(rowFor(6, 'chooser')).toBe(5);
    expect(rowFor(0, 'chooser')).toBe(0);
    expect(generatedIndex(3, 4)).toBe(-1);
    expect(generatedIndex(5, 4)).toBe(1);
  });

  it('moves the focus with arrow keys within the visible tokens', () => {
    expect(moveFocus('ArrowLeft', 3, 7)).toBe(2);
    expect(moveFocus('ArrowLeft', 0, 7)).toBe(0);
    expect(moveFocus('ArrowRight', 6, 7)).toBe(6);
    expect(moveFocus('Home', 4, 7)).toBe(0);
    expect(moveFocus('End', 1, 7)).toBe(6);
    expect(moveFocus('a', 1, 7)).toBeNull();
  });

  it('marks the chosen token among the alternatives, appending it when it was not in the top k', () => {
    const traits = {
      top_tokens: [
        [
          ['cat', 0.5],
          ['dog', 0.2]
        ],
        [
          ['a', 0.4],
          ['the', 0.3]
        ]
      ] as [string, number][][],
      token_probs: [0.2, 0.01]
    };
    expect(topStrip(traits, 0, 'dog')).toEqual([
      { token: 'cat', prob: 0.5, chosen: false },
      { token: 'dog', prob: 0.2, chosen: true }
    ]);
    expect(topStrip(traits, 1, 'red').at(-1)).toEqual({ token: 'red', prob: 0.01, chosen: true });
  });

  it('pools over the selected heads, one head, or every layer and head', () => {
    expect(poolSelection('heads', 1, [0, 2, 9], 3, 4)).toEqual({ layers: [1], heads: [0, 2] });
    expect(poolSelection('head:3', 5, [], 3, 4)).toEqual({ layers: [2], heads: [3] });
    expect(poolSelection('all', 0, [1], 2, 2)).toEqual({ layers: [0, 1], heads: [0, 1] });
  });

  it('averages a query row over heads and layers from tiles', () => {
    // 2 layers × 2 heads × 3 × 3, uint8 with scale 255 ⇒ weight = byte.
    const layer = (a: number[], b: number[]) => Uint8Array.from([...[0, 0, 0, 0, 0, 0], ...a, ...[0, 0, 0, 0, 0, 0], ...b]);
    const block = decodeBlock({
      shape: [2, 2, 3, 3],
      dtype: 'uint8',
      scale: [
        [255, 255],
        [255, 255]
      ],
      layers: [layer([1, 0, 3], [3, 0, 1]), layer([0, 2, 2], [4, 0, 0])]
    });
    const requests = rowRequests('self', block, [0, 1], [0, 1], 2);
    expect(requests[1]).toEqual({ kind: 'self', layer: 1, heads: [0, 1], q0: 2, q1: 3, k0: 0, k1: 3, step: 1 });
    const row = meanRow(
      requests.map(r => denseTile(block, r)),
      3
    );
    expect(Array.from(row)).toEqual([2, 0.5, 1.5]);
    expect(strongest(row, 2)).toEqual([
      [0, 2],
      [2, 1.5]
    ]);
    expect(strongest(row, 5, 2)).toEqual([
      [0, 2],
      [1, 0.5]
    ]);
  });

  it('restricts the head/model slice to the generated rows revealed', () => {
    const block = decodeBlock({ shape: [1, 1, 6, 6], dtype: 'uint8', scale: [[1]], layers: [new Uint8Array(36)] });
    const toks = ['a', 'b', 'c', 'd', 'e', 'f'];
    const self = { kind: 'self' as const, block, q0: 0, q1: 6, k0: 0, k1: 6, queryTokens: toks, keyTokens: toks };
    const s = generatedSlice(self, 3, 2);
    expect([s.q0, s.q1, s.k0, s.k1, s.queryTokens, s.keyTokens]).toEqual([3, 5, 0, 5, ['d', 'e'], ['a', 'b', 'c', 'd', 'e']]);
    expect(generatedSlice(self, 3, 0)).toBe(self);
    const cross = { ...self, kind: 'cross' as const, k1: 4, keyTokens: ['x', 'y', 'z', 'w'] };
    expect(generatedSlice(cross, 1, 3)).toMatchObject({ q0: 1, q1: 4, k1: 4, queryTokens: ['b', 'c', 'd'] });
    const encoder = { ...self, kind: 'encoder' as const };
    expect(generatedSlice(encoder, 1, 3)).toBe(encoder);
  });

  it('shows a window of long strips ending at the last visible token, moved back to the focus', () => {
    expect(stripWindow(50, 49, 400)).toEqual([0, 50]);
    expect(stripWindow(1000, 999, 400)).toEqual([600, 1000]);
    expect(stripWindow(1000, 10, 400)).toEqual([10, 410]);
  });
});
