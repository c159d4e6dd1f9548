/** The views' shared tooltip (one element per widget, so widgets on a page stay independent). */

/** Show `html` in `tip` next to the mouse. */
export function showTooltip(tip: HTMLDivElement, e: MouseEvent, html: string): void {
  tip.innerHTML = html;
  tip.hidden = false;
  const host = tip.offsetParent?.getBoundingClientRect() ?? { left: 0, top: 0 };
  tip.style.left = `${e.clientX - host.left + 14}px`;
  tip.style.top = `${e.clientY - host.top + 14}px`;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
