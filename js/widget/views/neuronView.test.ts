import { describe, expect, it } from 'vitest';
import { defaultCell } from './neuronView';
import { diverging } from './palette';

describe('neuron view helpers', () => {
  it('sizes cells so head_dim up to 128 fits about 256 px', () => {
    expect([8, 64, 128, 256].map(defaultCell)).toEqual([12, 4, 2, 2]);
  });

  it('colours positive blue and negative orange, opacity by magnitude', () => {
    expect(diverging(2, 4)).toBe('rgba(31,119,180,0.5)');
    expect(diverging(-4, 4)).toBe('rgb(255,127,14)');
    expect(diverging(1, 0)).toBe('rgba(31,119,180,0)');
  });
});
