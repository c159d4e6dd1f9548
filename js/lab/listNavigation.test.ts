import { describe, expect, it } from 'vitest';
import { followActive, listKeyAction, scrollToRow } from './listNavigation';

describe('listKeyAction', () => {
  it('moves the active row with arrows, Home/End and PageUp/PageDown, clamped to the list', () => {
    expect(listKeyAction('ArrowDown', -1, 5, 3)).toEqual({ kind: 'move', index: 0 });
    expect(listKeyAction('ArrowDown', 1, 5, 3)).toEqual({ kind: 'move', index: 2 });
    expect(listKeyAction('ArrowDown', 4, 5, 3)).toEqual({ kind: 'move', index: 4 });
    expect(listKeyAction('ArrowUp', 0, 5, 3)).toEqual({ kind: 'move', index: 0 });
    expect(listKeyAction('ArrowUp', 3, 5, 3)).toEqual({ kind: 'move', index: 2 });
    expect(listKeyAction('Home', 3, 5, 3)).toEqual({ kind: 'move', index: 0 });
    expect(listKeyAction('End', 0, 5, 3)).toEqual({ kind: 'move', index: 4 });
    expect(listKeyAction('PageDown', 0, 5, 3)).toEqual({ kind: 'move', index: 3 });
    expect(listKeyAction('PageDown', 3, 5, 3)).toEqual({ kind: 'move', index: 4 });
    expect(listKeyAction('PageUp', 4, 5, 3)).toEqual({ kind: 'move', index: 1 });
    expect(listKeyAction('PageDown', 0, 5, 0)).toEqual({ kind: 'move', index: 1 }); // a viewport under one row
  });

  it('toggles with Space and opens with Enter only on an active row', () => {
    expect(listKeyAction(' ', 2, 5, 3)).toEqual({ kind: 'toggle' });
    expect(listKeyAction('Enter', 2, 5, 3)).toEqual({ kind: 'open' });
    expect(listKeyAction(' ', -1, 5, 3)).toBeNull();
    expect(listKeyAction('Enter', -1, 5, 3)).toBeNull();
  });

  it('leaves other keys and empty lists alone', () => {
    expect(listKeyAction('Tab', 1, 5, 3)).toBeNull();
    expect(listKeyAction('a', 1, 5, 3)).toBeNull();
    expect(listKeyAction('ArrowDown', -1, 0, 3)).toBeNull();
  });
});

describe('followActive', () => {
  it('keeps the active run when the list is filtered or refreshed, else clamps', () => {
    expect(followActive(['a', 'c', 'b'], 'b', 1)).toBe(2);
    expect(followActive(['a', 'c'], 'b', 1)).toBe(1);
    expect(followActive(['a'], 'b', 3)).toBe(0);
    expect(followActive([], 'b', 3)).toBe(-1);
    expect(followActive(['a'], null, -1)).toBe(-1);
  });
});

describe('scrollToRow', () => {
  it('scrolls just enough to show the whole row', () => {
    expect(scrollToRow(0, 100, 46, 1)).toBe(0); // in view
    expect(scrollToRow(0, 100, 46, 2)).toBe(138 - 100); // below: bottom-aligned
    expect(scrollToRow(460, 100, 46, 3)).toBe(138); // above: top-aligned
  });
});
