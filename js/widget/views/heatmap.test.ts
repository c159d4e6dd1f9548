import { describe, expect, it } from 'vitest';
import { findTokens, panViewport, poolStep, zoomViewport } from './heatmap';

const bounds = { q0: 0, q1: 4096, k0: 0, k1: 4096 };

describe('heatmap viewport', () => {
  it('pools to the screen: one cell per ≤ 640 px', () => {
    expect(poolStep(4096)).toBe(7);
    expect(poolStep(640)).toBe(1);
  });

  it('zooms around the pointer and stays in bounds', () => {
    const v = zoomViewport(bounds, bounds, 0.5, 0.25, 0.75);
    expect(v.q1 - v.q0).toBe(2048);
    expect(v.q0).toBe(512); // the point at 25 % stays at 25 %
    expect([v.k0, v.k1]).toEqual([1536, 3584]); // and the point at 75 % stays at 75 %
    const tiny = zoomViewport({ q0: 10, q1: 20, k0: 10, k1: 20 }, bounds, 0.1, 0.5, 0.5);
    expect(tiny.q1 - tiny.q0).toBe(8); // minimum span
    expect(zoomViewport(v, bounds, 10, 0.5, 0.5)).toEqual(bounds);
  });

  it('pans and clamps at the edges', () => {
    const v = { q0: 100, q1: 200, k0: 4000, k1: 4096 };
    expect(panViewport(v, bounds, -500, 50)).toEqual({ q0: 0, q1: 100, k0: 4000, k1: 4096 });
  });

  it('finds tokens by text, case-insensitive, as absolute positions', () => {
    expect(findTokens(['The', 'cat', 'the', 'then'], 10, 'the')).toEqual([10, 12, 13]);
    expect(findTokens(['a'], 0, '  ')).toEqual([]);
  });
});
