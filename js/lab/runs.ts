import type { IRunInfo } from './api';

/** A run's name as shown under the listed folder `root` (both relative to the server's root). */
export function displayName(name: string, root: string): string {
  if (!root) {
    return name;
  }
  return name === root ? '.' : name.startsWith(`${root}/`) ? name.slice(root.length + 1) : name;
}

/** Runs whose shown name contains every whitespace-separated term of `query` (case-insensitive). */
export function filterRuns(runs: IRunInfo[], query: string, root = ''): IRunInfo[] {
  const terms = query.toLowerCase().split(/\s+/).filter(Boolean);
  return runs.filter(r => terms.every(t => displayName(r.name, root).toLowerCase().includes(t)));
}

const UNITS: [number, string][] = [
  [86400 * 365, 'y'],
  [86400 * 30, 'mo'],
  [86400, 'd'],
  [3600, 'h'],
  [60, 'min'],
  [1, 's']
];

/** "just now", "42 s ago", "3 min ago", "5 d ago"... from unix seconds, relative to `nowMs`. */
export function relativeTime(unixSeconds: number, nowMs: number = Date.now()): string {
  const ago = Math.floor(nowMs / 1000 - unixSeconds);
  if (ago < 5) {
    return 'just now';
  }
  const [size, unit] = UNITS.find(([size]) => ago >= size)!;
  return `${Math.floor(ago / size)} ${unit} ago`;
}

/** Sorted union of the runs' tags. */
export function allTags(runs: IRunInfo[]): string[] {
  return [...new Set(runs.flatMap(r => r.tags))].sort();
}

/**
 * Selection after a click on `index` in `names`: plain click selects one, ctrl/cmd toggles,
 * shift extends from `anchor` (the last plainly or ctrl-clicked row).
 */
export function clickSelection(
  names: string[],
  selected: ReadonlySet<string>,
  index: number,
  anchor: number,
  mod: { toggle: boolean; range: boolean }
): Set<string> {
  if (mod.range && anchor >= 0) {
    const [a, b] = anchor < index ? [anchor, index] : [index, anchor];
    return new Set(names.slice(a, b + 1));
  }
  const name = names[index];
  if (!mod.toggle) {
    return new Set([name]);
  }
  const next = new Set(selected);
  if (!next.delete(name)) {
    next.add(name);
  }
  return next;
}
