import { describe, expect, it } from 'vitest';
import { scalarsPath } from './api';

describe('scalarsPath', () => {
  it('encodes each run path segment and keeps the slashes', () => {
    expect(scalarsPath('exp 1/lr=1e-3#a', ['loss', 'acc/top1'], 500)).toBe(
      'attn-widget/runs/exp%201/lr%3D1e-3%23a/scalars?tags=loss%2Cacc%2Ftop1&max_points=500'
    );
  });
});
