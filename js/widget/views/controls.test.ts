import { describe, expect, it } from 'vitest';
import { HeadSquares } from './controls';

describe('HeadSquares', () => {
  it('toggles on click and solos on double-click', () => {
    const changes: number[][] = [];
    const squares = new HeadSquares(h => changes.push(h));
    squares.set(4, [0, 1, 2, 3]);
    const sq = (h: number) => squares.el.querySelector(`[data-head="${h}"]`) as HTMLElement;
    sq(2).click();
    expect(changes.at(-1)).toEqual([0, 1, 3]);
    expect(sq(2).getAttribute('aria-pressed')).toBe('false');
    sq(1).dispatchEvent(new MouseEvent('dblclick', { bubbles: true }));
    expect(changes.at(-1)).toEqual([1]);
    expect(squares.el.querySelectorAll('.aw-on').length).toBe(1);
  });
});
