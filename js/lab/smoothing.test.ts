import { describe, expect, it } from 'vitest';
import { emaSmooth } from './smoothing';

describe('emaSmooth (TensorBoard debiased EMA)', () => {
  it('is the identity at weight 0', () => {
    expect(Array.from(emaSmooth([3, 1, 4, 1, 5], 0))).toEqual([3, 1, 4, 1, 5]);
  });

  it('matches the debiased EMA by hand', () => {
    const w = 0.6;
    const [a, b, c] = emaSmooth([1, 2, 4], w);
    expect(a).toBeCloseTo(1); // debiasing: the first point is not pulled towards 0
    expect(b).toBeCloseTo(((1 - w) * w * 1 + (1 - w) * 2) / (1 - w ** 2));
    expect(c).toBeCloseTo(((1 - w) * (w * w * 1 + w * 2 + 4)) / (1 - w ** 3));
  });

  it('keeps constant series constant and skips non-finite values', () => {
    expect(Array.from(emaSmooth([0.1, 0.1, 0.1], 0.9))).toEqual([0.1, 0.1, 0.1]);
    const out = emaSmooth([1, null, 1, Infinity, 3], 0.5);
    expect(out[1]).toBeNaN();
    expect(out[3]).toBe(Infinity);
    expect(out[2]).toBeCloseTo(1);
    expect(out[4]).toBeCloseTo((0.5 * (0.25 * 1 + 0.5 * 1) + 0.5 * 3) / (1 - 0.125));
  });

  it('lags a step change more as the weight grows', () => {
    const step = [0, 0, 0, 0, 1, 1, 1, 1];
    const light = emaSmooth(step, 0.3)[5];
    const heavy = emaSmooth(step, 0.9)[5];
    expect(light).toBeGreaterThan(heavy);
    expect(heavy).toBeGreaterThan(0);
  });
});
