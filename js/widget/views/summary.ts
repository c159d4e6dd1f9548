/**
 * Heads summary: a sortable table of attn_widget.analysis.head_statistics, one row per (layer, head);
 * click a header to sort (again: reverse), click a row to open that head.
 */

import type { Stats } from '../protocol/decode';
import { normalizeStat, STAT_LABELS, sortRows, statRows } from '../state/stats';
import { escapeHtml } from './tooltip';

interface SummaryState {
  stats: Stats;
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
