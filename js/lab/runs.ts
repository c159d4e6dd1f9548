import type { IRunInfo } from './api';

/** A run's name as shown under the listed folder `root` (both relative to the server's root). */
export function displayName(name: string, root: string): string {
  if (!root) {
    return name;
  }
  return name === root ? '.' : name.startsWith(`${root}/`) ? name.slice(root.length + 1) : name;
}

/**
 * A shown name split for display: `folder` (the parent folders with their trailing "/", '' when
 * none), dimmed and elided first, and `run` (the last path segment), which tells runs apart.
 * `folder + run` is the name.
 */
export function nameParts(shown: string): { folder: string; run: string } {
  const cut = shown.lastIndexOf('/', shown.length - 2) + 1; // a trailing "/" stays with the run
  return { folder: shown.slice(0, cut), run: shown.slice(cut) };
}

/**
 * The run filter: `query` as a case-insensitive regular expression (TensorBoard's run filter), or
 * as literal text when it is not a valid one (`valid` false then, so the box can say so).
 */
export function runMatcher(query: string): { test: (name: string) => boolean; valid: boolean } {
  const trimmed = query.trim();
  if (!trimmed) {
    return { test: () => true, valid: true };
  }
  try {
    const re = new RegExp(trimmed, 'i');
    return { test: name => re.test(name), valid: true };
  } catch {
    const lower = trimmed.toLowerCase();
    return { test: name => name.toLowerCase().includes(lower), valid: false };
  }
}

/** What the sidebar says under the filter box: that it is not a valid regex, so matched as text. */
export function filterNote(matcher: { valid: boolean }): string {
  return matcher.valid ? '' : 'Not a valid regular expression: matched as text';
}

/** Runs whose shown name (below the listed folder `root`) matches `query` (see `runMatcher`). */
export function filterRuns(runs: IRunInfo[], query: string, root = ''): IRunInfo[] {
  const { test } = runMatcher(query);
  return runs.filter(r => test(displayName(r.name, root)));
}

/** Runs in list order, and the names of those shown as children under their parent run. */
export interface INestedRuns {
  runs: IRunInfo[];
  children: Set<string>;
}

/**
 * `runs` (in their order) with each `add_scalars` folder (`scalars_group`) moved directly after its
 * parent run when the parent is among `runs`, in the folders' own order; a folder whose parent is
 * not among them (filtered out) keeps its place. Folders of a nested folder follow it in turn (a
 * parent is a folder above its child, as the server finds them, so there is no cycle).
 */
export function nestScalarsGroups(runs: IRunInfo[]): INestedRuns {
  const listed = new Set(runs.map(r => r.name));
  const below = new Map<string, IRunInfo[]>();
  const children = new Set<string>();
  for (const run of runs) {
    const parent = run.scalars_group?.parent;
    if (parent !== undefined && listed.has(parent)) {
      const siblings = below.get(parent);
      if (siblings) {
        siblings.push(run);
      } else {
        below.set(parent, [run]);
      }
      children.add(run.name);
    }
  }
  const ordered: IRunInfo[] = [];
  const emit = (run: IRunInfo): void => {
    ordered.push(run);
    for (const child of below.get(run.name) ?? []) {
      emit(child);
    }
  };
  for (const run of runs) {
    if (!children.has(run.name)) {
      emit(run);
    }
  }
  return { runs: ordered, children };
}

/** The tooltip of an `add_scalars` folder shown under its parent: what it is, then its full name. */
export function scalarsGroupTitle(run: IRunInfo, root: string): string {
  const group = run.scalars_group;
  if (!group) {
    return run.name;
  }
  return `add_scalars("${group.tag}") series “${group.key}” of run ${displayName(group.parent, root)}\n${run.name}`;
}

/**
 * What the sidebar says above its list, '' when the rows speak for themselves: the listing's
 * error; "Listing runs…" until the first listing arrives (a cold listing reads every event file
 * once: minutes for thousands of runs, and an empty list meanwhile would read as "no runs"); that
 * the listed folder holds no runs; that none matches the filter `query`.
 */
export function listMessage(state: { error: string; loaded: boolean; total: number; shown: number; root: string; query: string }): string {
  if (state.error) {
    return state.error;
  }
  if (!state.loaded) {
    return 'Listing runs…';
  }
  if (state.total === 0) {
    return `No TensorBoard runs in ${state.root ? `“${state.root}”` : 'the runs root'}: a run is a folder holding *tfevents* files.`;
  }
  return state.shown === 0 ? `No runs match “${state.query}”.` : '';
}

/**
 * The tag sparklines show by default: the training loss. Tags of hparams sessions (their final
 * metrics) never count. Preference: a tag with "loss" and "train", then any "loss", then the tag
 * most runs share, then the first.
 */
export function defaultSparkTag(runs: IRunInfo[]): string {
  const counts = new Map<string, number>();
  for (const run of runs) {
    if (Object.keys(run.hparams ?? {}).length) {
      continue;
    }
    for (const tag of run.tags) {
      counts.set(tag, (counts.get(tag) ?? 0) + 1);
    }
  }
  const tags = [...counts.keys()].sort();
  return (
    tags.find(t => /loss/i.test(t) && /train/i.test(t)) ??
    tags.find(t => /loss/i.test(t)) ??
    tags.sort((a, b) => counts.get(b)! - counts.get(a)! || a.localeCompare(b))[0] ??
    ''
  );
}

/** [min, max] of the finite values of all `series` (one scale for sparklines of a shared tag). */
export function sharedRange(series: ArrayLike<number>[]): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const values of series) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (Number.isFinite(v)) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
  }
  return lo <= hi ? [lo, hi] : null;
}

/** A short text for a value: 4 significant digits, NaN/±inf spelled out. */
export function formatValue(v: number | undefined): string {
  if (v === undefined) {
    return '';
  }
  if (Number.isNaN(v)) {
    return 'NaN';
  }
  if (!Number.isFinite(v)) {
    return v > 0 ? '+inf' : '−inf';
  }
  return Number(v.toPrecision(4)).toString();
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
