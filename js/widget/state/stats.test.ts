import { describe, expect, it } from 'vitest';
import { decodeStats } from '../protocol/decode';
import { inapplicableStats, normalizeStat, STAT_FORMULAS, STAT_LABELS, sortRows, statRows, statsCsv } from './stats';

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

describe('summary columns', () => {
  it('marks token-kind columns without such tokens (all zero) as not applicable', () => {
    expect(inapplicableStats({ cls: [[0, 0]], sep: [[0, 0.1]], entropy: [[0, 0]] })).toEqual(['cls']);
  });

  it('writes CSV with model layer and head numbers', () => {
    expect(statsCsv(stats, [4, 5], [2, 7])).toBe('layer,head,entropy,self\n4,2,0.5,1\n4,7,0.1,0\n5,2,0.9,0\n5,7,0.1,0.25\n');
  });

  it('gives every statistic a readable title and a formula', () => {
    for (const name of Object.keys(STAT_LABELS)) {
      expect(STAT_LABELS[name]).not.toContain('_');
      expect(STAT_FORMULAS[name]).toMatch(/[Σ÷]|mean/i);
    }
    expect(STAT_LABELS.induction_score).toBe('Induction score (this input)');
  });
});
