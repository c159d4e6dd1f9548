import type { IRunInfo } from './api';
import { runMatcher } from './runs';

type Cell = string | number | boolean | null;

/** One row of the hparams table: an hparams session run, the run to plot with it, its cells. */
export interface IHParamsRow {
  run: string;
  /** Runs a selected row plots: the session and the run it was logged under (torch writes the
   * session in a subfolder of the training run), when that is a run too. */
  plots: string[];
  cells: Record<string, Cell>;
}

/**
 * The hparams table of `runs`: a row per run with hyperparameters (torch `add_hparams`, the
 * hparams plugin's session records), columns `hparams` then `metrics` (final values), sorted.
 */
export function hparamsTable(runs: IRunInfo[]): { hparams: string[]; metrics: string[]; rows: IHParamsRow[] } {
  const names = new Set(runs.map(r => r.name));
  const sessions = runs.filter(r => Object.keys(r.hparams ?? {}).length);
  const rows = sessions.map(r => {
    const parent = r.name.includes('/') ? r.name.slice(0, r.name.lastIndexOf('/')) : '.';
    return {
      run: r.name,
      plots: names.has(parent) ? [parent, r.name] : [r.name],
      cells: { ...r.hparams, ...r.metrics }
    };
  });
  const keys = (pick: (r: IRunInfo) => object) => [...new Set(sessions.flatMap(r => Object.keys(pick(r))))].sort();
  return { hparams: keys(r => r.hparams), metrics: keys(r => r.metrics), rows };
}

/** Rows sorted by `column` ('run' or a cell), blanks last; numbers numerically, else as text. */
export function sortRows(rows: IHParamsRow[], column: string, descending: boolean): IHParamsRow[] {
  const value = (r: IHParamsRow): Cell | undefined => (column === 'run' ? r.run : r.cells[column]);
  return [...rows].sort((a, b) => {
    const x = value(a);
    const y = value(b);
    if (x === undefined || x === null || y === undefined || y === null) {
      return (x === undefined || x === null ? 1 : 0) - (y === undefined || y === null ? 1 : 0);
    }
    const order = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return descending ? -order : order;
  });
}

/** Rows where the run name or any cell matches the regex `query` (see `runMatcher`). */
export function filterRows(rows: IHParamsRow[], query: string): IHParamsRow[] {
  const { test } = runMatcher(query);
  return rows.filter(r => test(r.run) || Object.values(r.cells).some(v => v !== null && test(String(v))));
}
