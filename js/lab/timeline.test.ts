import { describe, expect, it } from 'vitest';
import { headPixels, lossTag, nearestStep, statisticTags } from './timeline';

describe('timeline helpers', () => {
  it('snaps a clicked x to the nearest logged step', () => {
    expect(nearestStep([10, 20, 40], 27)).toBe(20);
    expect(nearestStep([10, 20, 40], 33)).toBe(40);
    expect(nearestStep([10, 20, 40], -5)).toBe(10);
  });

  it('groups head statistic tags and finds the loss', () => {
    const tags = ['attention/induction_score/L0H0', 'attention/induction_score/L1H2', 'attention/first/L0H0', 'lr', 'train/loss'];
    expect([...statisticTags(tags)]).toEqual([
      ['induction_score', ['L0H0', 'L1H2']],
      ['first', ['L0H0']]
    ]);
    expect(lossTag(tags)).toBe('train/loss');
    expect(lossTag(['attention/first/L0H0'])).toBeNull();
  });

  it('paints one head of a (layers, heads, query, key) block, darkest at its maximum', () => {
    const shape = [1, 2, 2, 2];
    const data = Uint8Array.from([0, 0, 0, 0, 0, 51, 102, 102]);
    const pixels = headPixels(data, shape, 0, 1);
    expect(pixels.length).toBe(16);
    expect(Array.from(pixels.slice(0, 4))).toEqual([255, 255, 255, 255]); // weight 0: white
    expect(Array.from(pixels.slice(8, 12))).toEqual([8, 48, 107, 255]); // the maximum: dark blue
    expect(pixels[4]).toBeGreaterThan(pixels[8]);
    expect(Array.from(headPixels(data, shape, 0, 0).slice(0, 4))).toEqual([255, 255, 255, 255]);
  });
});
