import type { IScalarSeries } from './api';
import { runMatcher } from './runs';

/** What the x axis shows: the step, the time since the run's first point, or the wall-clock time. */
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

/** A unit of the relative-time axis: its name and length in seconds. */
export interface ITimeUnit {
  name: 's' | 'min' | 'h' | 'd';
  seconds: number;
}

const TIME_UNITS: ITimeUnit[] = [
  { name: 's', seconds: 1 },
  { name: 'min', seconds: 60 },
  { name: 'h', seconds: 3600 },
  { name: 'd', seconds: 86400 }
];

/**
 * The unit of a relative-time axis spanning `spanSeconds`, as TensorBoard picks it: the largest
 * unit the span holds at least twice, so a 5-minute run reads 0…5 min (not 0…0.08 h, shown "0").
 */
export function relativeUnit(spanSeconds: number): ITimeUnit {
  return TIME_UNITS.reduce((unit, next) => (spanSeconds >= 2 * next.seconds ? next : unit), TIME_UNITS[0]);
}

/** The longest time any of `series` spans from its first point (seconds). */
export function relativeSpan(series: IScalarSeries[]): number {
  return Math.max(0, ...series.map(s => (s.wall_times.length ? s.wall_times[s.wall_times.length - 1] - s.wall_times[0] : 0)));
}

/** The x axis's title: what it shows, with the relative axis's unit. */
export function xAxisLabel(axis: XAxis, unit: ITimeUnit): string {
  return axis === 'step' ? 'Step' : axis === 'wall' ? 'Wall time' : `Relative time (${unit.name})`;
}

/** x values of `series` for `axis` (relative: `unit`s since its first point; wall: unix seconds). */
export function xValues(series: IScalarSeries, axis: XAxis, unit: ITimeUnit = TIME_UNITS[2]): number[] {
  if (axis === 'step') {
    return series.steps;
  }
  if (axis === 'wall') {
    return series.wall_times;
  }
  const start = series.wall_times[0] ?? 0;
  return series.wall_times.map(t => (t - start) / unit.seconds);
}

/**
 * The x range a user zoomed to, or null when the chart shows all its data: `scale` is the chart's
 * x scale, `extent` the data's first and last x. A range covering the whole extent is no zoom.
 */
export function zoomedRange(scale: { min?: number | null; max?: number | null }, extent: [number, number] | null): [number, number] | null {
  const { min, max } = scale;
  if (min == null || max == null || !extent) {
    return null;
  }
  const tolerance = (extent[1] - extent[0]) * 1e-9;
  return min > extent[0] + tolerance || max < extent[1] - tolerance ? [min, max] : null;
}

/**
 * What a runs-list reload means for the plotted runs: their latest infos (the live flag may have
 * changed), and the names of those to fetch again: changed on disk since loaded, and not live (a
 * live run is fetched by the chart panel's own poll when `livePolled`, so each run costs one request
 * per interval).
 */
export function refreshPlan<T extends { name: string; updated: number; live: boolean }>(
  plotted: T[],
  latest: T[],
  livePolled: boolean
): { infos: T[]; reload: string[] } {
  const byName = new Map(latest.map(r => [r.name, r]));
  const infos = plotted.map(r => byName.get(r.name) ?? r);
  const reload = infos.filter((r, i) => r.updated !== plotted[i].updated && !(r.live && livePolled)).map(r => r.name);
  return { infos, reload };
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

/** Class of a raw (unsmoothed) series: drawn faintly, left out of the legend. */
export const RAW_SERIES_CLASS = 'jp-AttnScalars-raw';

/**
 * uPlot series of a chart's runs, two per run in data order (raw, then smoothed): the raw line
 * faint and behind, classed `RAW_SERIES_CLASS` so the legend lists each run once (its smoothed line).
 */
export function runSeries(runs: { run: string; color: string }[]): { label: string; stroke: string; width: number; alpha?: number; class?: string }[] {
  return runs.flatMap(({ run, color: stroke }) => [
    { label: run, class: RAW_SERIES_CLASS, stroke, width: 1, alpha: 0.3 },
    { label: run, stroke, width: 2 }
  ]);
}

/**
 * Whether a fresh fetch of a run's scalars holds what is drawn already (same tags, and each the
 * same count of points ending at the same step and time): then a poll redraws nothing.
 */
export function sameScalars(drawn: Record<string, IScalarSeries> | undefined, fresh: Record<string, IScalarSeries>): boolean {
  if (!drawn || Object.keys(drawn).length !== Object.keys(fresh).length) {
    return false;
  }
  return Object.entries(fresh).every(([tag, s]) => {
    const d = drawn[tag];
    const last = s.steps.length - 1;
    return !!d && d.steps.length === s.steps.length && d.steps[last] === s.steps[last] && d.wall_times[last] === s.wall_times[last];
  });
}
