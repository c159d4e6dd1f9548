/** Toolbar building blocks: selects, labels and the head colour squares (assembled in toolbar.ts). */

import type { Option } from '../state/derive';
import { css, headColor } from './palette';

export function select(label: string, className: string, onChange: (value: string) => void): HTMLSelectElement {
  const el = document.createElement('select');
  el.className = `aw-select ${className}`;
  el.title = label;
  el.setAttribute('aria-label', label);
  el.addEventListener('change', () => onChange(el.value));
  return el;
}

export function setOptions(el: HTMLSelectElement, options: Option[], value: string): void {
  const key = options.map(o => `${o.value}:${o.label}:${o.disabled ?? ''}`).join('|');
  if (el.dataset.options !== key) {
    el.replaceChildren(
      ...options.map(o => {
        const opt = document.createElement('option');
        opt.value = o.value;
        opt.textContent = o.label;
        opt.disabled = !!o.disabled;
        if (o.title) opt.title = o.title;
        return opt;
      })
    );
    el.dataset.options = key;
  }
  el.value = value;
  const host = el.closest('label') ?? el;
  host.hidden = options.length <= 1 && !el.classList.contains('aw-always');
}

export function labelled(text: string, control: HTMLElement): HTMLLabelElement {
  const label = document.createElement('label');
  label.className = 'aw-label';
  label.append(text, control);
  return label;
}

/**
 * Head squares: click toggles a head, double-click selects only that head (BertViz's gestures).
 * Calls `onChange` with the new sorted selection.
 */
export class HeadSquares {
  readonly el = document.createElement('div');
  private count = 0;
  private selected = new Set<number>();

  constructor(private onChange: (heads: number[]) => void) {
    this.el.className = 'aw-heads';
    this.el.setAttribute('role', 'group');
    this.el.setAttribute('aria-label', 'Heads');
    this.el.addEventListener('click', e => {
      const h = this.headOf(e);
      if (h === null) return;
      const next = new Set(this.selected);
      if (next.has(h)) next.delete(h);
      else next.add(h);
      this.emit(next);
    });
    this.el.addEventListener('dblclick', e => {
      const h = this.headOf(e);
      if (h !== null) this.emit(new Set([h]));
    });
  }

  private headOf(e: Event): number | null {
    const target = (e.target as HTMLElement).closest('[data-head]') as HTMLElement | null;
    return target ? Number(target.dataset.head) : null;
  }

  private emit(next: Set<number>): void {
    this.set(this.count, [...next]);
    this.onChange([...next].sort((a, b) => a - b));
  }

  set(count: number, selected: number[]): void {
    this.selected = new Set(selected);
    if (count !== this.count) {
      this.count = count;
      this.el.replaceChildren(
        ...Array.from({ length: count }, (_, h) => {
          const sq = document.createElement('button');
          sq.type = 'button';
          sq.className = 'aw-head';
          sq.dataset.head = String(h);
          sq.title = `Head ${h} (click: toggle, double-click: only this head)`;
          sq.style.setProperty('--aw-head-color', css(headColor(h, count)));
          return sq;
        })
      );
    }
    for (const sq of this.el.children as HTMLCollectionOf<HTMLElement>) {
      const on = this.selected.has(Number(sq.dataset.head));
      sq.classList.toggle('aw-on', on);
      sq.setAttribute('aria-pressed', String(on));
    }
  }
}
