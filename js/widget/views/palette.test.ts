import { describe, expect, it } from 'vitest';
import { diverging, divergingRGBA, headColor, scalePosition, scaleTicks } from './palette';

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

describe('scalePosition', () => {
  it('maps weights to 0–1 linearly, with gamma 0.5 or over three decades', () => {
    expect(scalePosition(0.5, 1, 'linear')).toBe(0.5);
    expect(scalePosition(0.25, 1, 'sqrt')).toBe(0.5);
    expect(scalePosition(0.01, 1, 'log')).toBeCloseTo(1 / 3);
    expect(scalePosition(1e-6, 1, 'log')).toBe(0);
    expect(scalePosition(2, 1, 'linear')).toBe(1);
    expect(scalePosition(0.3, 0, 'linear')).toBe(0);
  });

  it('puts colour-bar ticks at quarters, or at decades on the log scale', () => {
    expect(scaleTicks(0.8, 'linear')).toEqual([0, 0.2, 0.4, 0.6000000000000001, 0.8]);
    expect(scaleTicks(1, 'log').map(t => Math.log10(t))).toEqual([-3, -2, -1, 0]);
  });
});
