/** Head statistics as rows to sort and show, and their labels (attn_widget.analysis.head_statistics). */

import type { Stats } from '../protocol/decode';

/** Column titles of the statistics (head_statistics' keys). */
export const STAT_LABELS: Record<string, string> = {
  entropy: 'entropy',
  entropy_ratio: 'entropy / uniform',
  distance: 'mean distance',
  first: '→ first',
  cls: '→ [CLS]',
  sep: '→ [SEP]',
  punctuation: '→ punct.',
  self: '→ self',
  previous: '→ prev',
  next: '→ next',
  confidence: 'confidence',
  previous_token_score: 'prev-token score',
  induction_score: 'induction score'
};

interface StatRow {
  /** Stored layer index and head index (what the traits hold). */
  layer: number;
  head: number;
  values: Record<string, number>;
}

/** One row per (layer, head) of `stats` ({name: (layers, heads)}). */
export function statRows(stats: Stats): StatRow[] {
  const first = Object.values(stats)[0] ?? [];
  return first.flatMap((heads, layer) =>
    heads.map((_, head) => ({ layer, head, values: Object.fromEntries(Object.entries(stats).map(([k, v]) => [k, v[layer][head]])) }))
  );
}

/** Rows sorted by `key` ('layer', 'head' or a statistic), ties in (layer, head) order. */
export function sortRows(rows: StatRow[], key: string, descending: boolean): StatRow[] {
  const get = (r: StatRow) => (key === 'layer' ? r.layer : key === 'head' ? r.head : r.values[key]);
  const sign = descending ? -1 : 1;
  return [...rows].sort((a, b) => sign * (get(a) - get(b)) || a.layer - b.layer || a.head - b.head);
}

/** Each value's place between the statistic's minimum (0) and maximum (1); all 0 when constant. */
export function normalizeStat(values: number[][]): number[][] {
  const flat = values.flat();
  const lo = Math.min(...flat);
  const span = Math.max(...flat) - lo;
  return values.map(row => row.map(v => (span > 0 ? (v - lo) / span : 0)));
}
