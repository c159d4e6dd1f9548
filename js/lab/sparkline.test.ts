import { describe, expect, it } from 'vitest';
import { sparkline, sparklinePoints } from './sparkline';

describe('sparklinePoints', () => {
  it('fits the values into the box, y downwards', () => {
    expect(sparklinePoints([0, 5, 10], 100, 20)).toBe('0,20 50,10 100,0');
  });

  it('draws a flat series at the bottom and drops non-finite values', () => {
    expect(sparklinePoints([2, null, NaN, 2], 10, 4)).toBe('0,4 10,4');
    expect(sparklinePoints([], 10, 4)).toBe('');
    expect(sparklinePoints([7], 10, 4)).toBe('0,4');
  });

  it('uses a shared range when given, so equal values sit at equal heights', () => {
    expect(sparklinePoints([0.001, 0.001], 10, 4, [0, 0.01])).toBe('0,3.6 10,3.6');
    expect(sparklinePoints([0.01, 0.01], 10, 4, [0, 0.01])).toBe('0,0 10,0');
  });
});

describe('sparkline', () => {
  it('is an SVG polyline of the given size', () => {
    const svg = sparkline([1, 3, 2], 60, 12);
    expect(svg.getAttribute('width')).toBe('60');
    expect(svg.querySelector('polyline')?.getAttribute('points')).toBe('0,12 30,0 60,6');
  });
});
