import { describe, expect, it } from 'vitest';
import { decodeBlock } from '../protocol/decode';
import type { HeadViewState } from './headView';
import { linesSvg } from './imageExport';

/** Text measurement stand-in: 7 px per character. */
const measure = { font: '', measureText: (t: string) => ({ width: 7 * t.length }) } as unknown as CanvasRenderingContext2D;

describe('linesSvg', () => {
  it('draws one path per head and opacity, skips faint lines, and escapes tokens', () => {
    // 1 layer, 2 heads, 2 × 2: head 0 attends fully q→k (identity), head 1 has a faint 0.01 weight.
    const values = Uint8Array.from([255, 0, 0, 255, 3, 0, 0, 0]);
    const block = decodeBlock({ shape: [1, 2, 2, 2], dtype: 'uint8', scale: [[1, 1]], layers: [values] });
    const state: HeadViewState = {
      slice: { kind: 'self', block, q0: 0, q1: 2, k0: 0, k1: 2, queryTokens: ['<s>', 'a'], keyTokens: ['<s>', 'a'] },
      layer: 0,
      heads: [0, 1],
      coverage: 1,
      colors: { bg: '#fff', fg: '#111', highlight: '#eee', dark: false }
    };
    const svg = linesSvg(state, measure);
    expect(svg.match(/<path /g)).toHaveLength(1); // head 0: both lines at opacity 1.00; head 1: too faint
    expect(svg).toContain('stroke-opacity="1.00"');
    expect(svg.match(/<text /g)).toHaveLength(4);
    expect(svg).toContain('&lt;s&gt;</text>');
  });
});
