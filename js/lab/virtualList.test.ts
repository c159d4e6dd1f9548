import { describe, expect, it } from 'vitest';
import { visibleRange } from './virtualList';

describe('visibleRange', () => {
  it('covers the viewport plus the overscan, clamped to the list', () => {
    expect(visibleRange(0, 460, 46, 2000, 5)).toEqual([0, 15]);
    expect(visibleRange(46 * 100, 460, 46, 2000, 5)).toEqual([95, 115]);
    expect(visibleRange(46 * 1995, 460, 46, 2000, 5)).toEqual([1990, 2000]);
    expect(visibleRange(0, 460, 46, 3, 5)).toEqual([0, 3]);
    expect(visibleRange(0, 460, 46, 0, 5)).toEqual([0, 0]);
  });
});
