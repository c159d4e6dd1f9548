/**
 * Head colours: d3's category10 up to 10 heads (as BertViz); beyond, evenly spaced hues with
 * alternating lightness, so neighbouring heads differ in both and 32+ heads stay distinct.
 */

const CATEGORY10 = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

export type RGB = [number, number, number];

function hslToRgb(h: number, s: number, l: number): RGB {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

function hexToRgb(hex: string): RGB {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** RGB colour of head `h` out of `count` heads. */
export function headColor(h: number, count: number): RGB {
  if (count <= CATEGORY10.length) return hexToRgb(CATEGORY10[h]);
  return hslToRgb((h * 360) / count, 0.75, h % 2 ? 0.62 : 0.4);
}

export function css([r, g, b]: RGB, alpha = 1): string {
  return alpha === 1 ? `rgb(${r},${g},${b})` : `rgba(${r},${g},${b},${alpha})`;
}

const BLUE = hexToRgb(CATEGORY10[0]);
const ORANGE = hexToRgb(CATEGORY10[1]);

/** Colour and opacity of `v` on a ±`max` scale: blue positive, orange negative, opacity ∝ |v| / max (0 at 0). */
function divergingColor(v: number, max: number): [RGB, number] {
  return [v < 0 ? ORANGE : BLUE, max > 0 ? Math.min(1, Math.abs(v) / max) : 0];
}

/** Canvas pixel (alpha 0–255) of `v` on a ±`max` scale. */
export function divergingRGBA(v: number, max: number): [number, number, number, number] {
  const [color, alpha] = divergingColor(v, max);
  return [...color, Math.round(255 * alpha)];
}

/** CSS colour of `v` on a ±`max` scale. */
export function diverging(v: number, max: number): string {
  return css(...divergingColor(v, max));
}
