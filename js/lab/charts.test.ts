import { describe, expect, it } from 'vitest';
import { groupTags, nonFinite, robustRange, xValues } from './charts';

describe('groupTags', () => {
  it('groups by the prefix before the first slash, after the regex filter', () => {
    const tags = ['train/loss', 'val/loss', 'train/acc', 'lr', 'train/grad/norm'];
    expect(groupTags(tags, '')).toEqual([
      { group: 'lr', tags: ['lr'] },
      { group: 'train', tags: ['train/acc', 'train/grad/norm', 'train/loss'] },
      { group: 'val', tags: ['val/loss'] }
    ]);
    expect(groupTags(tags, 'loss$')).toEqual([
      { group: 'train', tags: ['train/loss'] },
      { group: 'val', tags: ['val/loss'] }
    ]);
  });
});

describe('xValues', () => {
  const series = { steps: [0, 10, 20], wall_times: [1000, 2800, 8200], values: [1, 2, 3] };
  it('is steps, hours since the first point, or wall time', () => {
    expect(xValues(series, 'step')).toEqual([0, 10, 20]);
    expect(xValues(series, 'relative')).toEqual([0, 0.5, 2]);
    expect(xValues(series, 'wall')).toEqual([1000, 2800, 8200]);
  });
});

describe('robustRange', () => {
  it('ignores a spike and non-finite values', () => {
    const values = [...Array.from({ length: 200 }, (_, i) => 1 + (i % 10) / 10), 1e6, NaN, Infinity];
    const [lo, hi] = robustRange([values])!;
    expect(lo).toBeGreaterThan(0.9);
    expect(hi).toBeLessThan(2.1);
    expect(robustRange([[NaN]])).toBeNull();
  });
});

describe('nonFinite', () => {
  it('counts NaN, +inf and −inf apart', () => {
    expect(nonFinite([1, NaN, Infinity, -Infinity, NaN])).toEqual({ nan: 2, posInf: 1, negInf: 1 });
  });
});
