import { describe, expect, it } from 'vitest';
import { homeColor, pickColors, RUN_COLORS, RunColors } from './colors';

const names = (count: number, prefix = 'exp/run'): string[] => Array.from({ length: count }, (_, i) => `${prefix}${i}`);

describe('RunColors', () => {
  it('gives 24 different colours to 24 runs listed together', () => {
    expect(new Set(RUN_COLORS).size).toBe(24);
    const colors = new RunColors();
    const runs = names(24);
    colors.assign(runs);
    expect(new Set(runs.map(n => colors.colorOf(n))).size).toBe(24);
  });

  it('gives a run the colour of its name, whatever runs come before it (a reload)', () => {
    const before = new RunColors();
    before.assign(['b', 'c']);
    const after = new RunColors(); // the page reloaded, and a run sorting first appeared
    after.assign(['a', 'b', 'c']);
    for (const run of ['b', 'c']) {
      expect(homeColor(run)).not.toBe(homeColor('a'));
      expect(after.colorOf(run)).toBe(before.colorOf(run));
      expect(after.colorOf(run)).toBe(RUN_COLORS[homeColor(run)]);
    }
  });

  it('never changes a run colour when runs appear, and new ones avoid the listed colours', () => {
    const colors = new RunColors();
    const first = names(12);
    colors.assign(first);
    const kept = first.map(n => colors.colorOf(n));
    const all = [...names(12, 'a/'), ...first]; // new runs sorting before the old ones
    colors.assign(all);
    expect(first.map(n => colors.colorOf(n))).toEqual(kept);
    expect(new Set(all.map(n => colors.colorOf(n))).size).toBe(24);
  });

  it('is the same on every reload of one listing, in any order', () => {
    const runs = names(20);
    const once = new RunColors();
    once.assign(runs);
    const again = new RunColors();
    again.assign([...runs].reverse());
    expect(runs.map(n => again.colorOf(n))).toEqual(runs.map(n => once.colorOf(n)));
  });

  it('gives a run never listed its home colour (charts of a run the sidebar has not listed)', () => {
    expect(new RunColors().colorOf('tb/zeta')).toBe(RUN_COLORS[homeColor('tb/zeta')]);
  });
});

describe('pickColors', () => {
  it('resolves a shared home colour by name order: the first keeps it, the next probes on', () => {
    // find two names with one home colour
    const home = homeColor('run0');
    const twin = names(500, 'x').find(n => homeColor(n) === home)!;
    const [first, second] = ['run0', twin].sort();
    const picked = pickColors([second, first], []);
    expect(picked.get(first)).toBe(home);
    expect(picked.get(second)).toBe((home + 1) % 24);
  });

  it('skips the colours taken by listed runs, and shares home colours once all 24 are used', () => {
    const home = homeColor('tb/alpha');
    expect(pickColors(['tb/alpha'], [home]).get('tb/alpha')).toBe((home + 1) % 24);
    const all = RUN_COLORS.map((_, i) => i);
    expect(pickColors(['tb/alpha'], all).get('tb/alpha')).toBe(home);
  });
});
