import { describe, expect, it } from 'vitest';
import { decodeStats } from '../protocol/decode';
import { normalizeStat, sortRows, statRows } from './stats';

const stats = {
  entropy: [
    [0.5, 0.1],
    [0.9, 0.1]
  ],
  self: [
    [1, 0],
    [0, 0.25]
  ]
};

describe('heads summary', () => {
  it('decodes the float32 (names, layers, heads) buffer', () => {
    const values = new DataView(Float32Array.from([0.5, 0.1, 0.9, 0.1, 1, 0, 0, 0.25]).buffer);
    expect(decodeStats({ names: ['entropy', 'self'], shape: [2, 2], values })).toEqual({
      entropy: [
        [0.5, Math.fround(0.1)],
        [Math.fround(0.9), Math.fround(0.1)]
      ],
      self: [
        [1, 0],
        [0, 0.25]
      ]
    });
    expect(decodeStats({})).toEqual({});
  });

  it('has one row per (layer, head) with every statistic', () => {
    const rows = statRows(stats);
    expect(rows.map(r => [r.layer, r.head])).toEqual([
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1]
    ]);
    expect(rows[2].values).toEqual({ entropy: 0.9, self: 0 });
  });

  it('sorts by a statistic either way, ties in (layer, head) order', () => {
    const rows = statRows(stats);
    expect(sortRows(rows, 'entropy', true).map(r => [r.layer, r.head])).toEqual([
      [1, 0],
      [0, 0],
      [0, 1],
      [1, 1]
    ]);
    expect(sortRows(rows, 'entropy', false).map(r => [r.layer, r.head])).toEqual([
      [0, 1],
      [1, 1],
      [0, 0],
      [1, 0]
    ]);
    expect(sortRows(rows, 'head', false).map(r => [r.layer, r.head])).toEqual([
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1]
    ]);
  });

  it('normalises a statistic to its range (constant: 0)', () => {
    expect(
      normalizeStat([
        [2, 4],
        [3, 6]
      ])
    ).toEqual([
      [0, 0.5],
      [0.25, 1]
    ]);
    expect(normalizeStat([[1, 1]])).toEqual([[0, 0]]);
  });
});
