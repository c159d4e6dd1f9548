import { describe, expect, it } from 'vitest';
import { diverging, divergingRGBA, headColor } from './palette';

describe('headColor', () => {
  it('matches d3 category10 for up to 10 heads (as BertViz)', () => {
    expect(headColor(0, 12 - 2)).toEqual([0x1f, 0x77, 0xb4]);
  });

  it('keeps 32 heads pairwise distinct', () => {
    const colors = Array.from({ length: 32 }, (_, h) => headColor(h, 32));
    let min = Infinity;
    for (let i = 0; i < 32; i++) {
      for (let j = i + 1; j < 32; j++) {
        min = Math.min(min, Math.hypot(...colors[i].map((c, k) => c - colors[j][k])));
      }
    }
    expect(min).toBeGreaterThan(20);
  });
});

describe('diverging', () => {
  it('maps sign to blue (+) / orange (−) and |v| / max to opacity, transparent at 0', () => {
    expect(divergingRGBA(0.5, 1)).toEqual([0x1f, 0x77, 0xb4, 128]);
    expect(divergingRGBA(-2, 1)).toEqual([0xff, 0x7f, 0x0e, 255]); // clamped
    expect(divergingRGBA(0, 1)[3]).toBe(0);
    expect(divergingRGBA(0.3, 0)[3]).toBe(0);
    expect(diverging(-0.25, 1)).toBe('rgba(255,127,14,0.25)');
  });
});
