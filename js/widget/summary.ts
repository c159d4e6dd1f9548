/**
 * Heads summary: a sortable table of attn_widget.analysis.head_statistics, one row per (layer, head);
 * click a header to sort (again: reverse), click a row to open that head.
 */

import { toBytes } from './data';
import { escapeHtml } from './tooltip';

/** The synced head_stats: float32 little-endian values (names, layers, heads) in one buffer. */
export interface StatsState {
  names: string[];
  shape: [number, number];
  values: DataView | ArrayBuffer | Uint8Array;
}

/** head_stats as {name: (layers, heads)}; {} when the widget has none. */
export function decodeStats(state: StatsState | Record<string, never>): Record<string, number[][]> {
  if (!state.names) return {};
  const [layers, heads] = state.shape;
  const f = new Float32Array(toBytes(state.values).slice().buffer);
  const rows = (i: number) => Array.from({ length: layers }, (_, l) => Array.from(f.subarray((i * layers + l) * heads, (i * layers + l + 1) * heads)));
  return Object.fromEntries(state.names.map((name, i) => [name, rows(i)]));
}

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

export interface StatRow {
  /** Stored layer index and head index (what the traits hold). */
  layer: number;
  head: number;
  values: Record<string, number>;
}

/** One row per (layer, head) of `stats` ({name: (layers, heads)}). */
export function statRows(stats: Record<string, number[][]>): StatRow[] {
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

export interface SummaryState {
  stats: Record<string, number[][]>;
  layerNumbers: number[];
  /** Model head numbers when only some heads are stored; empty: 0, 1, … */
  headNumbers: number[];
}

export class SummaryView {
  readonly el = document.createElement('div');
  private sort = { key: 'layer', descending: false };
  private state: SummaryState | null = null;

  constructor(private onOpen: (layerIndex: number, head: number) => void) {
    this.el.className = 'aw-summary';
    this.el.addEventListener('click', e => {
      const target = e.target as HTMLElement;
      const th = target.closest('[data-sort]') as HTMLElement | null;
      const tr = target.closest('tr[data-layer]') as HTMLElement | null;
      if (th) {
        const key = th.dataset.sort!;
        this.sort = { key, descending: this.sort.key === key ? !this.sort.descending : key !== 'layer' && key !== 'head' };
        this.render();
      } else if (tr) this.onOpen(Number(tr.dataset.layer), Number(tr.dataset.head));
    });
  }

  update(state: SummaryState): void {
    this.state = state;
    this.render();
  }

  private render(): void {
    const { stats, layerNumbers, headNumbers } = this.state!;
    const names = Object.keys(stats);
    const norm = Object.fromEntries(names.map(n => [n, normalizeStat(stats[n])]));
    const { key, descending } = this.sort;
    const header = ['layer', 'head', ...names]
      .map(k => {
        const arrow = k === key ? (descending ? ' ▼' : ' ▲') : '';
        return `<th data-sort="${k}" title="Sort by ${k}">${escapeHtml(STAT_LABELS[k] ?? k)}${arrow}</th>`;
      })
      .join('');
    const body = sortRows(statRows(stats), key, descending)
      .map(r => {
        const cells = names.map(n => `<td style="--aw-v:${norm[n][r.layer][r.head].toFixed(3)}">${r.values[n].toFixed(3)}</td>`).join('');
        const head = headNumbers[r.head] ?? r.head;
        return `<tr data-layer="${r.layer}" data-head="${r.head}" title="Open layer ${layerNumbers[r.layer]}, head ${head}"><td>${layerNumbers[r.layer]}</td><td>${head}</td>${cells}</tr>`;
      })
      .join('');
    this.el.innerHTML = `<table><thead><tr>${header}</tr></thead><tbody>${body}</tbody></table>`;
  }
}
