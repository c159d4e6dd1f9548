/** SVG `points` for a polyline of `values` fitted into width × height (y grows downwards). */
export function sparklinePoints(
  values: ArrayLike<number | null>,
  width: number,
  height: number
): string {
  const ys = Array.from(values).filter((v): v is number => Number.isFinite(v));
  if (ys.length === 0) {
    return '';
  }
  const lo = Math.min(...ys);
  const span = Math.max(...ys) - lo || 1;
  const dx = ys.length > 1 ? width / (ys.length - 1) : 0;
  return ys
    .map((v, i) => `${+(i * dx).toFixed(2)},${+(height - ((v - lo) / span) * height).toFixed(2)}`)
    .join(' ');
}

const SVG = 'http://www.w3.org/2000/svg';

/** A small inline SVG line chart of `values`. */
export function sparkline(values: ArrayLike<number | null>, width = 80, height = 20): SVGSVGElement {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'jp-AttnRuns-sparkline');
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  svg.setAttribute('viewBox', `-1 -1 ${width + 2} ${height + 2}`);
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('points', sparklinePoints(values, width, height));
  svg.appendChild(line);
  return svg;
}
