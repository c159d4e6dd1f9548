import { describe, expect, it } from 'vitest';
import { ByteLRU, headPixels, LatestLoader, lossTag, nearestStep, statisticTags } from './timeline';

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

/** A loader whose loads are settled by the test, recording what was loaded and shown. */
function scrubbing(cache = new Map<number, string>()) {
  const pending = new Map<number, { resolve: (v: string) => void; reject: (e: Error) => void }>();
  const loaded: number[] = [];
  const shown: string[] = [];
  const loader = new LatestLoader<number, string>({
    load: step => {
      loaded.push(step);
      return new Promise((resolve, reject) => pending.set(step, { resolve, reject }));
    },
    cached: step => cache.get(step),
    show: (step, value) => shown.push(`${step}:${value}`),
    fail: (step, error) => shown.push(`${step}:failed ${(error as Error).message}`)
  });
  const answer = async (step: number, value = `s${step}`) => {
    pending.get(step)?.resolve(value);
    pending.delete(step);
    await new Promise(r => setTimeout(r)); // the loader's then/finally run
  };
  return { loader, loaded, shown, answer, pending, cache };
}

describe('LatestLoader (slider scrubbing)', () => {
  it('loads one step at a time and, of the steps passed meanwhile, only the last', async () => {
    const { loader, loaded, shown, answer } = scrubbing();
    for (const step of [1, 2, 3, 4, 5]) loader.request(step); // a fast drag
    expect(loaded).toEqual([1]);
    await answer(1);
    expect(shown).toEqual(['1:s1']); // the first answer shows while the drag goes on
    expect(loaded).toEqual([1, 5]); // 2, 3, 4 are skipped
    await answer(5);
    expect(shown).toEqual(['1:s1', '5:s5']);
    expect(loader.busy).toBe(false);
  });

  it('shows cached steps at once and never lets a late answer paint over them', async () => {
    const { loader, loaded, shown, answer } = scrubbing(new Map([[0, 'kept0']]));
    loader.request(7);
    loader.request(0); // scrubbing back to a kept step while 7 loads
    expect(shown).toEqual(['0:kept0']);
    await answer(7);
    expect(shown).toEqual(['0:kept0']); // 7 was asked before 0: dropped
    expect(loaded).toEqual([7]);
    expect(loader.busy).toBe(false);
  });

  it('a step that became cached while it waited is not loaded twice; arrow keys one step at a time stay in order', async () => {
    const { loader, loaded, shown, answer, cache } = scrubbing();
    loader.request(3);
    loader.request(4);
    loader.request(3); // back to the step loading now: it waits, then comes from the cache
    cache.set(3, 'kept3');
    await answer(3);
    expect(loaded).toEqual([3]);
    expect(shown).toEqual(['3:s3', '3:kept3']);
    for (const step of [4, 5, 6]) {
      loader.request(step);
      await answer(step);
    }
    expect(shown.slice(2)).toEqual(['4:s4', '5:s5', '6:s6']);
  });

  it('reports a failed load unless a newer step was shown', async () => {
    const { loader, shown, pending } = scrubbing();
    loader.request(9);
    pending.get(9)?.reject(new Error('404: no attention snapshot at step 9'));
    await new Promise(r => setTimeout(r));
    expect(shown).toEqual(['9:failed 404: no attention snapshot at step 9']);
    expect(loader.busy).toBe(false);
  });
});

describe('ByteLRU', () => {
  it('keeps the most recently used values within its byte budget', () => {
    const lru = new ByteLRU<string>(10);
    lru.set('a', 'A', 4);
    lru.set('b', 'B', 4);
    expect(lru.get('a')).toBe('A'); // now b is the least recently used
    lru.set('c', 'C', 4);
    expect(lru.get('b')).toBeUndefined();
    expect([lru.get('a'), lru.get('c'), lru.bytes]).toEqual(['A', 'C', 8]);
    lru.set('huge', 'H', 11); // larger than the budget: not kept, nothing evicted
    expect([lru.get('huge'), lru.bytes]).toEqual([undefined, 8]);
    lru.set('a', 'A2', 7); // replacing a value counts its new size only: c (4) no longer fits
    expect([lru.get('a'), lru.get('c'), lru.bytes]).toEqual(['A2', undefined, 7]);
    lru.clear();
    expect([lru.get('a'), lru.bytes]).toEqual([undefined, 0]);
  });
});
