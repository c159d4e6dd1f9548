/**
 * SVG `points` for a polyline of the finite `values` fitted into width × height (y grows
 * downwards), on the y `range` [lo, hi] when given (shared by several sparklines), else their own.
 */
export function sparklinePoints(values: ArrayLike<number | null>, width: number, height: number, range: [number, number] | null = null): string {
  const ys = Array.from(values).filter((v): v is number => Number.isFinite(v));
  if (ys.length === 0) {
    return '';
  }
  const lo = range ? range[0] : Math.min(...ys);
  const span = (range ? range[1] : Math.max(...ys)) - lo || 1;
  const dx = ys.length > 1 ? width / (ys.length - 1) : 0;
  return ys.map((v, i) => `${+(i * dx).toFixed(2)},${+(height - ((v - lo) / span) * height).toFixed(2)}`).join(' ');
}

const SVG = 'http://www.w3.org/2000/svg';

/** A small inline SVG line chart of `values` (see `sparklinePoints` for `range`). */
export function sparkline(values: ArrayLike<number | null>, width = 80, height = 20, range: [number, number] | null = null): SVGSVGElement {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'jp-AttnRuns-sparkline');
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  svg.setAttribute('viewBox', `-1 -1 ${width + 2} ${height + 2}`);
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('points', sparklinePoints(values, width, height, range));
  svg.appendChild(line);
  return svg;
}
