import type { IScalarSeries } from './api';
import { emaSmooth } from './smoothing';

/** One run's scalars, as plotted. */
export interface IRunScalars {
  run: string;
  tags: Record<string, IScalarSeries>;
}

function field(value: string | number | null): string {
  const text = value === null || Number.isNaN(value) ? '' : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Long-format CSV (one row per point), with the smoothed value at `weight` beside the raw one. */
export function scalarsCsv(runs: IRunScalars[], weight: number): string {
  const rows = ['run,tag,step,wall_time,value,smoothed'];
  for (const { run, tags } of runs) {
    for (const [tag, s] of Object.entries(tags)) {
      const smoothed = emaSmooth(s.values, weight);
      s.steps.forEach((step, i) => {
        rows.push([run, tag, step, s.wall_times[i], s.values[i], smoothed[i]].map(field).join(','));
      });
    }
  }
  return `${rows.join('\n')}\n`;
}
