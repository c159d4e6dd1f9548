import { describe, expect, it } from 'vitest';
import { scalarsCsv } from './csv';

describe('scalarsCsv', () => {
  const series = (values: number[]) => ({
    steps: values.map((_, i) => i * 10),
    wall_times: values.map((_, i) => 1700000000 + i),
    values
  });

  it('writes one row per point with raw and smoothed values', () => {
    const csv = scalarsCsv([{ run: 'a', tags: { loss: series([2, 4]) } }], 0);
    expect(csv).toBe('run,tag,step,wall_time,value,smoothed\na,loss,0,1700000000,2,2\na,loss,10,1700000001,4,4\n');
  });

  it('quotes fields holding commas, quotes or newlines', () => {
    const csv = scalarsCsv([{ run: 'lr=1e-3,bs="8"', tags: { 'a\nb': series([1]) } }], 0.5);
    expect(csv.split('\n')[1]).toBe('"lr=1e-3,bs=""8""","a');
    expect(csv).toContain('b",0,1700000000,1,1');
  });

  it('leaves NaN (a missing value) empty', () => {
    const csv = scalarsCsv([{ run: 'r', tags: { t: series([1, Number.NaN]) } }], 0);
    expect(csv.trim().split('\n')[2]).toBe('r,t,10,1700000001,,');
  });

  it('smooths with the given weight', () => {
    const rows = scalarsCsv([{ run: 'r', tags: { t: series([0, 10]) } }], 0.5)
      .trim()
      .split('\n');
    expect(Number(rows[2].split(',')[5])).toBeCloseTo((0.25 * 0 + 0.5 * 10) / 0.75);
  });
});
