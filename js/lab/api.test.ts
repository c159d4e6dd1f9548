import { describe, expect, it } from 'vitest';
import { decodeValues } from './api';

describe('decodeValues', () => {
  it('turns the server strings for NaN and ±inf back into distinct numbers', () => {
    const values = decodeValues([1.5, 'NaN', 'Infinity', '-Infinity', -2]);
    expect(values[0]).toBe(1.5);
    expect(Number.isNaN(values[1])).toBe(true);
    expect(values[2]).toBe(Infinity);
    expect(values[3]).toBe(-Infinity);
    expect(values[4]).toBe(-2);
  });
});
