/**
 * Keyboard model of the runs list, a WAI-ARIA multi-select listbox
 * (https://www.w3.org/WAI/ARIA/apg/patterns/listbox/): which row is active and what a key does.
 * Kept free of the DOM so the virtualised list can re-create its rows at any time.
 */

/** What a key press asks of the list: move the active row, toggle its selection, or plot. */
export type ListAction = { kind: 'move'; index: number } | { kind: 'toggle' } | { kind: 'open' };

/**
 * The action of `key` with row `active` of `count` active (-1: none yet), `page` rows per
 * viewport; null for keys the list leaves alone (Tab, letters for the browser...).
 */
export function listKeyAction(key: string, active: number, count: number, page: number): ListAction | null {
  if (count === 0) {
    return null;
  }
  const last = count - 1;
  const clamp = (i: number) => Math.max(0, Math.min(last, i));
  switch (key) {
    case 'ArrowDown':
      return { kind: 'move', index: active < 0 ? 0 : clamp(active + 1) };
    case 'ArrowUp':
      return { kind: 'move', index: active < 0 ? 0 : clamp(active - 1) };
    case 'Home':
      return { kind: 'move', index: 0 };
    case 'End':
      return { kind: 'move', index: last };
    case 'PageDown':
      return { kind: 'move', index: clamp(active + Math.max(1, page)) };
    case 'PageUp':
      return { kind: 'move', index: clamp(active - Math.max(1, page)) };
    case ' ':
      return active < 0 ? null : { kind: 'toggle' };
    case 'Enter':
      return active < 0 ? null : { kind: 'open' };
    default:
      return null;
  }
}

/** The active row kept on the same run when the list changes (filter, refresh), else clamped. */
export function followActive(names: readonly string[], activeName: string | null, active: number): number {
  const found = activeName === null ? -1 : names.indexOf(activeName);
  if (found >= 0) {
    return found;
  }
  return active < 0 || names.length === 0 ? -1 : Math.min(active, names.length - 1);
}

/** The scrollTop (px) that brings row `index` fully into a viewport of `height` px, or the current one. */
export function scrollToRow(scrollTop: number, height: number, rowHeight: number, index: number): number {
  const top = index * rowHeight;
  if (top < scrollTop) {
    return top;
  }
  if (top + rowHeight > scrollTop + height) {
    return top + rowHeight - height;
  }
  return scrollTop;
}
