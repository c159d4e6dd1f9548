import { describe, expect, it } from 'vitest';
import {
  groupTags,
  nonFinite,
  RAW_SERIES_CLASS,
  refreshPlan,
  relativeSpan,
  relativeUnit,
  robustRange,
  runSeries,
  sameScalars,
  xAxisLabel,
  xValues,
  zoomedRange
} from './charts';

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
  it('is steps, hours (by default) since the first point, or wall time', () => {
    expect(xValues(series, 'step')).toEqual([0, 10, 20]);
    expect(xValues(series, 'relative')).toEqual([0, 0.5, 2]);
    expect(xValues(series, 'wall')).toEqual([1000, 2800, 8200]);
  });
  it('is relative time in the unit picked from the span', () => {
    const short = { steps: [0, 1, 2], wall_times: [1000, 1030, 1300], values: [1, 2, 3] };
    const unit = relativeUnit(relativeSpan([short]));
    expect(unit.name).toBe('min');
    expect(xValues(short, 'relative', unit)).toEqual([0, 0.5, 5]);
    expect(xAxisLabel('relative', unit)).toBe('Relative time (min)');
    expect(xAxisLabel('step', unit)).toBe('Step');
    expect(xAxisLabel('wall', unit)).toBe('Wall time');
  });
});

describe('relativeUnit', () => {
  it('picks s, min, h or d so that a short run is not all "0"', () => {
    expect([0, 45, 119, 120, 300, 7199, 7200, 3 * 3600, 2 * 86400, 30 * 86400].map(s => relativeUnit(s).name)).toEqual([
      's',
      's',
      's',
      'min',
      'min',
      'min',
      'h',
      'h',
      'd',
      'd'
    ]);
  });
  it('reads the longest span of the runs', () => {
    const run = (times: number[]) => ({ steps: times.map((_, i) => i), wall_times: times, values: times });
    expect(relativeSpan([run([100, 160]), run([50, 4000]), run([])])).toBe(3950);
    expect(relativeSpan([])).toBe(0);
  });
});

describe('zoomedRange', () => {
  it('is the x scale when narrower than the data, else null', () => {
    expect(zoomedRange({ min: 10, max: 20 }, [0, 49])).toEqual([10, 20]);
    expect(zoomedRange({ min: 0, max: 30 }, [0, 49])).toEqual([0, 30]);
    expect(zoomedRange({ min: 0, max: 49 }, [0, 49])).toBeNull();
    expect(zoomedRange({ min: -1, max: 50 }, [0, 49])).toBeNull();
    expect(zoomedRange({ min: null, max: null }, [0, 49])).toBeNull();
    expect(zoomedRange({ min: 1, max: 2 }, null)).toBeNull();
  });
});

describe('refreshPlan', () => {
  const run = (name: string, updated: number, live: boolean) => ({ name, updated, live });
  const plotted = [run('a', 1, true), run('b', 1, false), run('c', 1, false)];
  it('reloads changed runs, leaving live ones to the panel poll', () => {
    const latest = [run('a', 2, true), run('b', 2, false), run('c', 1, false)];
    const plan = refreshPlan(plotted, latest, true);
    expect(plan.reload).toEqual(['b']);
    expect(plan.infos).toEqual(latest);
  });
  it('reloads a live run when nothing polls it, and one that stopped being live', () => {
    expect(refreshPlan(plotted, [run('a', 2, true)], false).reload).toEqual(['a']);
    expect(refreshPlan(plotted, [run('a', 2, false)], true).reload).toEqual(['a']);
  });
  it('keeps a run missing from the list as it was', () => {
    expect(refreshPlan(plotted, [], true)).toEqual({ infos: plotted, reload: [] });
  });
});

describe('runSeries', () => {
  it('lists each run once in the legend, its raw line faint and behind', () => {
    const series = runSeries([
      { run: 'a', color: 'red' },
      { run: 'b', color: 'blue' },
      { run: 'c', color: 'green' }
    ]);
    expect(series).toHaveLength(6);
    expect(series.filter(s => s.class !== RAW_SERIES_CLASS).map(s => s.label)).toEqual(['a', 'b', 'c']);
    expect(series[0]).toMatchObject({ label: 'a', class: RAW_SERIES_CLASS, stroke: 'red', alpha: 0.3 });
    expect(series[1].width).toBeGreaterThan(series[0].width);
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

describe('sameScalars', () => {
  const series = (n: number) => ({
    steps: Array.from({ length: n }, (_, i) => i),
    wall_times: Array.from({ length: n }, (_, i) => 100 + i),
    values: new Array(n).fill(1)
  });
  it('is true only when every tag has the same points up to the same last step and time', () => {
    expect(sameScalars({ a: series(3) }, { a: series(3) })).toBe(true);
    expect(sameScalars({ a: series(3) }, { a: series(4) })).toBe(false);
    expect(sameScalars({ a: series(3) }, { a: series(3), b: series(1) })).toBe(false);
    expect(sameScalars({ a: series(3) }, { b: series(3) })).toBe(false);
    expect(sameScalars(undefined, { a: series(3) })).toBe(false);
    const rewritten = { ...series(3), wall_times: [100, 101, 500] };
    expect(sameScalars({ a: series(3) }, { a: rewritten })).toBe(false);
  });
});
