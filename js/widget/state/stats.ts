/** Head statistics as rows to sort and show, and their labels (attn_widget.analysis.head_statistics). */

import type { Stats } from '../protocol/decode';

/** Column titles of the statistics (head_statistics' keys). */
export const STAT_LABELS: Record<string, string> = {
  entropy: 'Entropy (nats)',
  entropy_ratio: 'Entropy ÷ uniform',
  distance: 'Mean distance',
  first: 'To first token',
  cls: 'To [CLS]',
  sep: 'To [SEP]',
  punctuation: 'To punctuation',
  self: 'To self',
  previous: 'To previous token',
  next: 'To next token',
  confidence: 'Confidence',
  previous_token_score: 'Previous-token score',
  induction_score: 'Induction score (this input)'
};

/** What each statistic is, with its formula (attn_widget.analysis.head_statistics; α_ij: query i → key j, n queries). */
export const STAT_FORMULAS: Record<string, string> = {
  entropy: 'Mean over queries of the row entropy: −(1/n) Σ_i Σ_j α_ij log α_ij (Clark et al. 2019), in nats.',
  entropy_ratio: 'Σ_i H_i ÷ Σ_i log k_i, k_i = keys query i may attend to: 1 = uniform, 0 = one key.',
  distance: 'Mean attention distance: (1/n) Σ_i Σ_j α_ij |i − j| (Vig & Belinkov 2019).',
  first: 'Mean weight on the first token: (1/n) Σ_i α_i0.',
  cls: 'Mean weight on [CLS]-like tokens ([CLS], <s>, <bos>…): (1/n) Σ_i Σ_{j ∈ CLS} α_ij (Clark et al. 2019).',
  sep: 'Mean weight on [SEP]-like tokens ([SEP], </s>, <eos>…): (1/n) Σ_i Σ_{j ∈ SEP} α_ij (Clark et al. 2019).',
  punctuation: 'Mean weight on punctuation tokens: (1/n) Σ_i Σ_{j punct.} α_ij (Clark et al. 2019).',
  self: 'Mean weight on the query itself: (1/n) Σ_i α_ii.',
  previous: 'Mean weight on the token before: mean over i ≥ 1 of α_i,i−1.',
  next: 'Mean weight on the token after: mean over i < n − 1 of α_i,i+1.',
  confidence: 'Mean of each row’s largest weight: (1/n) Σ_i max_j α_ij (Voita et al. 2019).',
  previous_token_score: 'Σ_i α_i,i−1 ÷ Σ_ij α_ij (TransformerLens detect_head, previous-token pattern).',
  induction_score:
    'Σ α_ij over pairs where token j − 1 equals token i (j − 1 < i) ÷ Σ_ij α_ij, on the tokens shown ' +
    '(TransformerLens detect_head, induction pattern). attn_widget.models.induction_scores computes the same ' +
    'score on random repeated sequences [BOS] + r + r instead, so its values differ.'
};

/** Statistics of attention to a kind of token: all zero means the input has no such token (shown as not applicable). */
export const TOKEN_KIND_STATS = ['cls', 'sep', 'punctuation'];

/** Statistics that cannot apply: token-kind columns whose tokens the input lacks (every value exactly 0). */
export function inapplicableStats(stats: Stats): string[] {
  return TOKEN_KIND_STATS.filter(name => stats[name]?.every(row => row.every(v => v === 0)));
}

/** The table as CSV: layer, head and each statistic, one row per (layer, head) in stored order. */
export function statsCsv(stats: Stats, layerNumbers: number[], headNumbers: number[]): string {
  const names = Object.keys(stats);
  const lines = [['layer', 'head', ...names].join(',')];
  for (const r of statRows(stats)) {
    lines.push([layerNumbers[r.layer] ?? r.layer, headNumbers[r.head] ?? r.head, ...names.map(n => String(r.values[n]))].join(','));
  }
  return `${lines.join('\n')}\n`;
}

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
