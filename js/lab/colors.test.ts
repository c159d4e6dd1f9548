import { describe, expect, it } from 'vitest';
import { RUN_COLORS, RunColors } from './colors';

describe('RunColors', () => {
  it('gives 24 different colours to the first 24 runs', () => {
    expect(new Set(RUN_COLORS).size).toBe(24);
    const colors = new RunColors();
    const names = Array.from({ length: 24 }, (_, i) => `run${i}`);
    colors.assign(names);
    expect(new Set(names.map(n => colors.colorOf(n))).size).toBe(24);
  });

  it('keeps a run its colour when others appear', () => {
    const colors = new RunColors();
    colors.assign(['b', 'c']);
    const c = colors.colorOf('c');
    colors.assign(['a', 'b', 'c', 'd']);
    expect(colors.colorOf('c')).toBe(c);
    expect(colors.colorOf('a')).not.toBe(c);
  });
});
