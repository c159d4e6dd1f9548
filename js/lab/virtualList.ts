/**
 * Rows `[first, end)` of a fixed-row-height list to put in the DOM: those overlapping the
 * viewport (`scrollTop`, `height` in px) plus `overscan` rows on each side, clamped to `count`.
 */
export function visibleRange(scrollTop: number, height: number, rowHeight: number, count: number, overscan: number): [number, number] {
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const end = Math.min(count, Math.ceil((scrollTop + height) / rowHeight) + overscan);
  return [Math.min(first, end), end];
}
