import { describe, expect, it } from 'vitest';
import type { IRunInfo } from './api';
import {
  allTags,
  clickSelection,
  defaultSparkTag,
  displayName,
  filterNote,
  filterRuns,
  formatValue,
  listMessage,
  nameParts,
  nestScalarsGroups,
  relativeTime,
  runMatcher,
  scalarsGroupTitle,
  sharedRange
} from './runs';

const run = (name: string, tags: string[] = [], hparams: IRunInfo['hparams'] = {}): IRunInfo => ({
  name,
  last_step: 1,
  updated: 0,
  size: 1,
  tags,
  live: false,
  warnings: [],
  hparams,
  metrics: {},
  scalars_group: null
});

describe('filterNote', () => {
  it('says an invalid regex is matched as text, and nothing for a valid one', () => {
    expect(filterNote(runMatcher('lr_('))).toBe('Not a valid regular expression: matched as text');
    expect(runMatcher('lr_(').test('tb/lr_(1)')).toBe(true);
    expect(filterNote(runMatcher('lr_\\(|beta'))).toBe('');
    expect(filterNote(runMatcher(''))).toBe('');
  });
});

describe('nameParts', () => {
  it('splits the parent folders (elided first) from the run, the last path segment', () => {
    expect(nameParts('lr_sweep/batch_512/run_lr0.1')).toEqual({ folder: 'lr_sweep/batch_512/', run: 'run_lr0.1' });
    expect(nameParts('alpha')).toEqual({ folder: '', run: 'alpha' });
    expect(nameParts('.')).toEqual({ folder: '', run: '.' });
    expect(nameParts('exp 2/beta/')).toEqual({ folder: 'exp 2/', run: 'beta/' });
  });
});

describe('displayName', () => {
  it('is the name below the listed folder', () => {
    expect(displayName('logs/exp 1/a', 'logs')).toBe('exp 1/a');
    expect(displayName('logs', 'logs')).toBe('.');
    expect(displayName('logs2/a', 'logs')).toBe('logs2/a');
    expect(displayName('a/b', '')).toBe('a/b');
  });
});

describe('filterRuns', () => {
  const runs = ['bert/lr-1e-3', 'bert/lr-1e-4', 'gpt2/LR-1e-3'].map(n => run(n));
  const names = (q: string) => filterRuns(runs, q).map(r => r.name);

  it('keeps everything for an empty query', () => {
    expect(names('  ')).toHaveLength(3);
  });

  it('is a case-insensitive regular expression', () => {
    expect(names('lr-1e-3')).toEqual(['bert/lr-1e-3', 'gpt2/LR-1e-3']);
    expect(names('^BERT.*4$')).toEqual(['bert/lr-1e-4']);
    expect(names('gpt|e-4')).toEqual(['bert/lr-1e-4', 'gpt2/LR-1e-3']);
    expect(names('nothing')).toEqual([]);
  });

  it('matches an invalid expression as text, and says so', () => {
    expect(runMatcher('lr-1e-3(').valid).toBe(false);
    expect(names('[')).toEqual([]);
    expect(filterRuns([run('a[1]')], '[1').map(r => r.name)).toEqual(['a[1]']);
  });

  it('matches across the path of many runs', () => {
    const many = Array.from({ length: 2000 }, (_, i) => run(`exp${i % 20}/lr-${i}/seed-${i % 3}`));
    const kept = filterRuns(many, 'exp1[0-9]/.*seed-2$').map(r => r.name);
    expect(kept).toHaveLength(many.filter(r => /^exp1\d\/.*seed-2$/.test(r.name)).length);
    expect(kept.every(n => /^exp1\d\/.*seed-2$/.test(n))).toBe(true);
  });

  it('looks at the names below the listed folder only', () => {
    expect(filterRuns(runs, 'bert', 'bert').map(r => r.name)).toEqual([]);
    expect(filterRuns(runs, '1e-4', 'bert').map(r => r.name)).toEqual(['bert/lr-1e-4']);
  });
});

describe('nestScalarsGroups', () => {
  // what torch's add_scalars("loss", {train, val}) writes below run logs/exp, sorted by name
  const series = (name: string, parent: string, key: string): IRunInfo => ({ ...run(name, ['loss']), scalars_group: { parent, tag: 'loss', key } });
  const runs = [
    run('logs/exp'),
    run('logs/exp/a'),
    series('logs/exp/loss_train', 'logs/exp', 'train'),
    series('logs/exp/loss_val', 'logs/exp', 'val'),
    run('logs/exp2'),
    series('logs/exp2/loss_train', 'logs/exp2', 'train')
  ];

  it('puts the add_scalars folders directly after their parent, in their order', () => {
    const { runs: ordered, children } = nestScalarsGroups(runs);
    expect(ordered.map(r => r.name)).toEqual(['logs/exp', 'logs/exp/loss_train', 'logs/exp/loss_val', 'logs/exp/a', 'logs/exp2', 'logs/exp2/loss_train']);
    expect([...children].sort()).toEqual(['logs/exp/loss_train', 'logs/exp/loss_val', 'logs/exp2/loss_train']);
  });

  it('leaves a folder whose parent is filtered out in place, as a run of its own', () => {
    const { runs: ordered, children } = nestScalarsGroups(filterRuns(runs, 'train'));
    expect(ordered.map(r => r.name)).toEqual(['logs/exp/loss_train', 'logs/exp2/loss_train']);
    expect(children.size).toBe(0);
  });

  it('puts the folders of a folder after it in turn', () => {
    const inner = series('logs/exp/loss_train/x_a', 'logs/exp/loss_train', 'a');
    expect(nestScalarsGroups([...runs.slice(0, 3), inner]).runs.map(r => r.name)).toEqual([
      'logs/exp',
      'logs/exp/loss_train',
      'logs/exp/loss_train/x_a',
      'logs/exp/a'
    ]);
  });

  it('changes nothing without add_scalars folders', () => {
    const plain = ['b', 'a/x', 'a'].map(n => run(n));
    expect(nestScalarsGroups(plain).runs).toEqual(plain);
  });

  it('titles a folder by what it is and its full name', () => {
    expect(scalarsGroupTitle(runs[2], 'logs')).toBe('add_scalars("loss") series “train” of run exp\nlogs/exp/loss_train');
  });
});

describe('relativeTime', () => {
  const now = 1_700_000_000_000;
  it.each([
    [1, 'just now'],
    [42, '42 s ago'],
    [3 * 60 + 5, '3 min ago'],
    [2 * 3600, '2 h ago'],
    [5 * 86400 + 10, '5 d ago'],
    [400 * 86400, '1 y ago']
  ])('%i s ago reads "%s"', (ago, text) => {
    expect(relativeTime(now / 1000 - ago, now)).toBe(text);
  });
});

describe('allTags', () => {
  it('is the sorted union', () => {
    expect(allTags([run('a', ['loss', 'acc']), run('b', ['loss', 'lr'])])).toEqual(['acc', 'loss', 'lr']);
  });
});

describe('clickSelection', () => {
  const names = ['a', 'b', 'c', 'd'];
  const plain = { toggle: false, range: false };

  it('selects one on a plain click', () => {
    expect([...clickSelection(names, new Set(['a', 'b']), 2, 0, plain)]).toEqual(['c']);
  });

  it('toggles with ctrl', () => {
    const toggle = { toggle: true, range: false };
    expect([...clickSelection(names, new Set(['a']), 2, 0, toggle)].sort()).toEqual(['a', 'c']);
    expect([...clickSelection(names, new Set(['a', 'c']), 0, 2, toggle)]).toEqual(['c']);
  });

  it('extends a range from the anchor with shift, in either direction', () => {
    const range = { toggle: false, range: true };
    expect([...clickSelection(names, new Set(['b']), 3, 1, range)]).toEqual(['b', 'c', 'd']);
    expect([...clickSelection(names, new Set(['c']), 0, 2, range)]).toEqual(['a', 'b', 'c']);
    expect([...clickSelection(names, new Set(), 1, -1, range)]).toEqual(['b']);
  });
});

describe('defaultSparkTag', () => {
  it('prefers the training loss and never an hparams session tag', () => {
    expect(defaultSparkTag([run('a', ['acc', 'train/loss', 'val/loss'])])).toBe('train/loss');
    expect(defaultSparkTag([run('a', ['acc', 'val/loss'])])).toBe('val/loss');
    expect(defaultSparkTag([run('a', ['acc']), run('hp', ['hparam/loss'], { lr: 0.1 })])).toBe('acc');
    expect(defaultSparkTag([run('a', ['b', 'a']), run('c', ['b'])])).toBe('b');
    expect(defaultSparkTag([])).toBe('');
  });
});

describe('sharedRange and formatValue', () => {
  it('spans the finite values of every series', () => {
    expect(
      sharedRange([
        [1, NaN, 3],
        [Infinity, -2]
      ])
    ).toEqual([-2, 3]);
    expect(sharedRange([[NaN]])).toBeNull();
  });

  it('spells NaN and infinities', () => {
    expect([NaN, Infinity, -Infinity, 0.123456, undefined].map(formatValue)).toEqual(['NaN', '+inf', '−inf', '0.1235', '']);
  });
});

describe('listMessage', () => {
  const state = { error: '', loaded: true, total: 5000, shown: 5000, root: '', query: '' };
  it('says a listing is on its way until the first one arrives, never "no runs"', () => {
    expect(listMessage({ ...state, loaded: false, total: 0, shown: 0 })).toBe('Listing runs…');
    expect(listMessage({ ...state, loaded: false, error: 'Cannot read runs: 500' })).toBe('Cannot read runs: 500');
  });
  it('explains an empty folder or a filter matching nothing; silent when rows are shown', () => {
    expect(listMessage({ ...state, total: 0, shown: 0, root: 'logs' })).toMatch(/^No TensorBoard runs in “logs”/);
    expect(listMessage({ ...state, total: 0, shown: 0 })).toMatch(/^No TensorBoard runs in the runs root/);
    expect(listMessage({ ...state, shown: 0, query: 'zzz' })).toBe('No runs match “zzz”.');
    expect(listMessage(state)).toBe('');
  });
});
