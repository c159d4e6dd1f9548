import type { IScalarSeries } from './api';
import { runMatcher } from './runs';

/** What the x axis shows: the step, hours since the run's first point, or the wall-clock time. */
export type XAxis = 'step' | 'relative' | 'wall';

/**
 * Tags matching the regex `query` (see `runMatcher`), grouped as TensorBoard groups them: by the
 * part before the first '/' (a tag without '/' is a group of its own). Groups and tags sorted.
 */
export function groupTags(tags: string[], query: string): { group: string; tags: string[] }[] {
  const { test } = runMatcher(query);
  const groups = new Map<string, string[]>();
  for (const tag of [...tags].sort()) {
    if (test(tag)) {
      const group = tag.includes('/') ? tag.slice(0, tag.indexOf('/')) : tag;
      groups.set(group, [...(groups.get(group) ?? []), tag]);
    }
  }
  return [...groups].sort(([a], [b]) => a.localeCompare(b)).map(([group, tags]) => ({ group, tags }));
}

/** x values of `series` for `axis` (relative: hours since its first point; wall: unix seconds). */
export function xValues(series: IScalarSeries, axis: XAxis): number[] {
  if (axis === 'step') {
    return series.steps;
  }
  if (axis === 'wall') {
    return series.wall_times;
  }
  const start = series.wall_times[0] ?? 0;
  return series.wall_times.map(t => (t - start) / 3600);
}

/**
 * y range ignoring outliers: the `q` and `1 − q` quantiles of the finite values of all `series`,
 * padded by 5 %, so one spike (a divergent step, a huge first loss) does not flatten the rest.
 * Null when there are no finite values.
 */
export function robustRange(series: ArrayLike<number>[], q = 0.01): [number, number] | null {
  const all: number[] = [];
  for (const values of series) {
    for (let i = 0; i < values.length; i++) {
      if (Number.isFinite(values[i])) {
        all.push(values[i]);
      }
    }
  }
  if (!all.length) {
    return null;
  }
  all.sort((a, b) => a - b);
  const at = (p: number) => all[Math.min(all.length - 1, Math.max(0, Math.round(p * (all.length - 1))))];
  const lo = at(q);
  const hi = at(1 - q);
  const pad = (hi - lo) * 0.05 || Math.abs(hi) * 0.05 || 1;
  return [lo - pad, hi + pad];
}

/** How many NaN, +inf and −inf values `values` holds (shown beside the chart, never dropped silently). */
export function nonFinite(values: ArrayLike<number>): { nan: number; posInf: number; negInf: number } {
  const out = { nan: 0, posInf: 0, negInf: 0 };
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) {
      out.nan++;
    } else if (v === Infinity) {
      out.posInf++;
    } else if (v === -Infinity) {
      out.negInf++;
    }
  }
  return out;
}
