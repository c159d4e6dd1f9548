/** The views' shared tooltip (one element per widget, so widgets on a page stay independent). */

/** A point on the page: the mouse, or the centre of what the keyboard inspects. */
export interface Point {
  clientX: number;
  clientY: number;
}

/** Show `html` in `tip` next to `e` (the mouse, or a point the keyboard inspects). */
export function showTooltip(tip: HTMLDivElement, e: Point, html: string): void {
  tip.innerHTML = html;
  tip.hidden = false;
  const host = tip.offsetParent?.getBoundingClientRect() ?? { left: 0, top: 0 };
  tip.style.left = `${e.clientX - host.left + 14}px`;
  tip.style.top = `${e.clientY - host.top + 14}px`;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
