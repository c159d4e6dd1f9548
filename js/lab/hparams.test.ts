import { describe, expect, it } from 'vitest';
import type { IRunInfo } from './api';
import { filterRows, hparamsTable, sortRows } from './hparams';

const run = (name: string, hparams = {}, metrics = {}): IRunInfo => ({
  name,
  last_step: 0,
  updated: 0,
  size: 1,
  tags: Object.keys(metrics),
  live: false,
  warnings: [],
  hparams,
  metrics,
  scalars_group: null
});

const runs = [
  run('exp1'),
  run('exp1/1700000000.1', { lr: 0.1, opt: 'adam' }, { 'hparam/acc': 0.7 }),
  run('exp2'),
  run('exp2/1700000000.2', { lr: 0.01, opt: 'sgd' }, { 'hparam/acc': 0.9 }),
  run('lonely', { lr: 0.5 }, {})
];

describe('hparamsTable', () => {
  it('has a row per session, hparams and metrics columns, and plots the session with its run', () => {
    const table = hparamsTable(runs);
    expect(table.hparams).toEqual(['lr', 'opt']);
    expect(table.metrics).toEqual(['hparam/acc']);
    expect(table.rows.map(r => r.plots)).toEqual([['exp1', 'exp1/1700000000.1'], ['exp2', 'exp2/1700000000.2'], ['lonely']]);
  });

  it('sorts numerically either way, blanks last, and filters by regex over names and cells', () => {
    const { rows } = hparamsTable(runs);
    expect(sortRows(rows, 'lr', false).map(r => r.cells.lr)).toEqual([0.01, 0.1, 0.5]);
    expect(sortRows(rows, 'hparam/acc', true).map(r => r.run)).toEqual(['exp2/1700000000.2', 'exp1/1700000000.1', 'lonely']);
    expect(filterRows(rows, '^sgd$').map(r => r.run)).toEqual(['exp2/1700000000.2']);
    expect(filterRows(rows, 'lonely').map(r => r.run)).toEqual(['lonely']);
  });
});
