/**
 * Run colours: 24 hues 15° apart with alternating lightness (so hue neighbours also differ in
 * lightness), saturated enough for light and dark themes. See `RunColors` for who gets which.
 */
export const RUN_COLORS = Array.from({ length: 24 }, (_, i) => `hsl(${i * 15}, 80%, ${i % 2 ? 58 : 40}%)`);

/**
 * A run's home colour: the FNV-1a hash of its name (UTF-16 code units) into `RUN_COLORS`. Written
 * here, not taken from a library: ten lines, and the palette index must not depend on a library
 * version.
 */
export function homeColor(name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % RUN_COLORS.length;
}

/**
 * Palette indices for `names` (any order) that have none yet, given the indices `taken` by runs
 * listed with them that already have one. A run whose home colour (`homeColor`) is not taken and
 * not shared with another of `names` gets it; where several of `names` share a free home colour,
 * the first in name order gets it; the others, in name order, take the next free index after their
 * home (cyclically). Once all 24 are taken, a run gets its home colour, shared.
 */
export function pickColors(names: string[], taken: Iterable<number>): Map<string, number> {
  const used = new Set(taken);
  const picked = new Map<string, number>();
  const sorted = [...new Set(names)].sort();
  const displaced: string[] = [];
  for (const name of sorted) {
    const home = homeColor(name);
    if (used.has(home)) {
      displaced.push(name);
    } else {
      used.add(home);
      picked.set(name, home);
    }
  }
  for (const name of displaced) {
    const home = homeColor(name);
    const step = Array.from(RUN_COLORS, (_, i) => i).find(i => !used.has((home + i) % RUN_COLORS.length));
    const index = step === undefined ? home : (home + step) % RUN_COLORS.length;
    used.add(index);
    picked.set(name, index);
  }
  return picked;
}

/**
 * Colours of runs, kept for the session, in the sidebar and every chart. The guarantees:
 * - a run keeps its colour for the session, whatever runs appear or go (it never moves);
 * - a run's colour depends on its name, not its place in the list: a run whose home colour
 *   (`homeColor`) no other listed run has has that colour in every session, after any reload;
 * - runs listed together never share a colour while at most 24 are listed (see `pickColors`):
 *   a run appearing later takes a colour not used by the listed runs.
 * So after a reload only runs whose home colour is contested may get another colour than before
 * (then decided by name order, the same on every reload of the same listing).
 */
export class RunColors {
  private readonly given = new Map<string, number>();

  /** Give colours to the runs of a listing that have none yet (call with each new listing). */
  assign(names: string[]): void {
    const fresh = names.filter(name => !this.given.has(name));
    if (!fresh.length) {
      return;
    }
    const taken = names.flatMap(name => (this.given.has(name) ? [this.given.get(name)!] : []));
    for (const [name, index] of pickColors(fresh, taken)) {
      this.given.set(name, index);
    }
  }

  /** The colour of run `name` (its home colour if it was never listed). */
  colorOf(name: string): string {
    if (!this.given.has(name)) {
      this.given.set(name, homeColor(name));
    }
    return RUN_COLORS[this.given.get(name)!];
  }
}
