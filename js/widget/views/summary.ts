/**
 * Heads summary: a sortable table of attn_widget.analysis.head_statistics, one row per (layer, head).
 * Column headers are buttons (click or Enter sorts, again reverses) whose tooltip gives the formula;
 * rows are focusable (click or Enter opens that head). Columns that cannot apply (attention to
 * [CLS]/[SEP]/punctuation when the input has none) are left out and named below the table.
 * Exports: CSV of the numbers, and the table as vector SVG (the PNG is that SVG rasterised).
 */

import type { Stats } from '../protocol/decode';
import { inapplicableStats, normalizeStat, STAT_FORMULAS, STAT_LABELS, sortRows, statRows, statsCsv } from '../state/stats';
import { FONT } from './canvas';
import type { Colors } from './theme';
import { escapeHtml } from './tooltip';

interface SummaryState {
  stats: Stats;
  layerNumbers: number[];
  /** Model head numbers when only some heads are stored; empty: 0, 1, … */
  headNumbers: number[];
}

const TINT = '148,103,189';
const ROW_H = 20;
const PAD = 6;

export class SummaryView {
  readonly el = document.createElement('div');
  private sort = { key: 'layer', descending: false };
  private state: SummaryState | null = null;

  constructor(private onOpen: (layerIndex: number, head: number) => void) {
    this.el.className = 'aw-summary';
    this.el.addEventListener('click', e => this.activate(e.target as HTMLElement));
    this.el.addEventListener('keydown', e => {
      const target = e.target as HTMLElement;
      if (target.matches('tr[data-layer]') && (e.key === 'Enter' || e.key === ' ')) {
        e.preventDefault();
        this.activate(target);
      } else if (target.matches('tr[data-layer]') && (e.key === 'ArrowDown' || e.key === 'ArrowUp')) {
        const next = (e.key === 'ArrowDown' ? target.nextElementSibling : target.previousElementSibling) as HTMLElement | null;
        if (next) {
          e.preventDefault();
          next.focus();
        }
      }
    });
  }

  private activate(target: HTMLElement): void {
    const button = target.closest('[data-sort]') as HTMLElement | null;
    const tr = target.closest('tr[data-layer]') as HTMLElement | null;
    if (button) {
      const key = button.dataset.sort!;
      this.sort = { key, descending: this.sort.key === key ? !this.sort.descending : key !== 'layer' && key !== 'head' };
      this.render();
      this.el.querySelector<HTMLElement>(`[data-sort="${key}"]`)?.focus();
    } else if (tr) this.onOpen(Number(tr.dataset.layer), Number(tr.dataset.head));
  }

  update(state: SummaryState): void {
    this.state = state;
    this.render();
  }

  /** Statistics shown, in order (those that cannot apply left out). */
  private columns(): string[] {
    const { stats } = this.state!;
    const skip = new Set(inapplicableStats(stats));
    return Object.keys(stats).filter(n => !skip.has(n));
  }

  private rows() {
    return sortRows(statRows(this.state!.stats), this.sort.key, this.sort.descending);
  }

  private render(): void {
    const { stats, layerNumbers, headNumbers } = this.state!;
    const names = this.columns();
    const norm = Object.fromEntries(names.map(n => [n, normalizeStat(stats[n])]));
    const { key, descending } = this.sort;
    const header = ['layer', 'head', ...names]
      .map(k => {
        const sorted = k === key ? (descending ? 'descending' : 'ascending') : 'none';
        const arrow = k === key ? (descending ? ' ▼' : ' ▲') : '';
        const label = k === 'layer' ? 'Layer' : k === 'head' ? 'Head' : (STAT_LABELS[k] ?? k);
        const tip = STAT_FORMULAS[k] ? `${STAT_FORMULAS[k]} Click to sort.` : `Sort by ${label.toLowerCase()}.`;
        return `<th scope="col" aria-sort="${sorted}"><button type="button" data-sort="${k}" title="${escapeHtml(tip)}">${escapeHtml(label)}${arrow}</button></th>`;
      })
      .join('');
    const body = this.rows()
      .map(r => {
        const cells = names.map(n => `<td style="--aw-v:${norm[n][r.layer][r.head].toFixed(3)}">${r.values[n].toFixed(3)}</td>`).join('');
        const head = headNumbers[r.head] ?? r.head;
        return `<tr tabindex="0" data-layer="${r.layer}" data-head="${r.head}" title="Open layer ${layerNumbers[r.layer]}, head ${head} (click or Enter)"><td>${layerNumbers[r.layer]}</td><td>${head}</td>${cells}</tr>`;
      })
      .join('');
    const hidden = inapplicableStats(stats).map(n => STAT_LABELS[n] ?? n);
    const note = hidden.length ? `<p class="aw-muted aw-summary-note">Not shown (no such tokens in this input): ${escapeHtml(hidden.join(', '))}.</p>` : '';
    this.el.innerHTML = `<table><caption class="aw-sr-only">Head statistics, one row per layer and head</caption><thead><tr>${header}</tr></thead><tbody>${body}</tbody></table>${note}`;
  }

  /** The numbers as CSV (every statistic, applicable or not, in stored order). */
  csv(): string {
    const { stats, layerNumbers, headNumbers } = this.state!;
    return statsCsv(stats, layerNumbers, headNumbers);
  }

  /** The table as it is sorted now, as vector SVG (text and tinted cells). */
  svg(colors: Colors): string | null {
    if (!this.state) return null;
    const { stats, layerNumbers, headNumbers } = this.state;
    const names = this.columns();
    const norm = Object.fromEntries(names.map(n => [n, normalizeStat(stats[n])]));
    const measure = document.createElement('canvas').getContext('2d')!;
    measure.font = FONT;
    const titles = ['Layer', 'Head', ...names.map(n => STAT_LABELS[n] ?? n)];
    const widths = titles.map(t => Math.max(48, Math.ceil(measure.measureText(t).width) + 2 * PAD));
    const xs = widths.map((_, i) => widths.slice(0, i).reduce((a, b) => a + b, 0));
    const width = xs[xs.length - 1] + widths[widths.length - 1];
    const rows = this.rows();
    const height = (rows.length + 1) * ROW_H;
    const esc = (t: string) => escapeHtml(t);
    const parts: string[] = [];
    titles.forEach((t, i) => {
      parts.push(`<text x="${xs[i] + widths[i] - PAD}" y="${ROW_H / 2}" text-anchor="end" font-weight="600">${esc(t)}</text>`);
    });
    parts.push(`<rect x="0" y="${ROW_H - 1}" width="${width}" height="1" fill="${colors.fg}"/>`);
    rows.forEach((r, j) => {
      const y = (j + 1) * ROW_H;
      const cells = [String(layerNumbers[r.layer]), String(headNumbers[r.head] ?? r.head), ...names.map(n => r.values[n].toFixed(3))];
      names.forEach((n, i) => {
        const alpha = (norm[n][r.layer][r.head] * 0.45).toFixed(3);
        parts.push(`<rect x="${xs[i + 2]}" y="${y}" width="${widths[i + 2]}" height="${ROW_H}" fill="rgb(${TINT})" fill-opacity="${alpha}"/>`);
      });
      cells.forEach((c, i) => {
        parts.push(`<text x="${xs[i] + widths[i] - PAD}" y="${y + ROW_H / 2}" text-anchor="end">${esc(c)}</text>`);
      });
    });
    return (
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
      `<rect width="100%" height="100%" fill="${colors.bg}"/>` +
      `<g fill="${colors.fg}" font-family="ui-monospace, Menlo, monospace" font-size="12" dominant-baseline="middle">${parts.join('')}</g></svg>`
    );
  }
}
