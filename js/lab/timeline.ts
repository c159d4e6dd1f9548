/** Pure helpers of the training timeline panel (tested without a browser). */

/** The logged step nearest to `x` (a clicked position on a step axis); `steps` sorted, non-empty. */
export function nearestStep(steps: number[], x: number): number {
  let best = steps[0];
  for (const s of steps) {
    if (Math.abs(s - x) < Math.abs(best - x)) best = s;
  }
  return best;
}

/** The statistic names and head keys of `attention/<stat>/L<l>H<h>` tags, e.g. {induction_score: ['L0H1', ...]}. */
export function statisticTags(tags: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const tag of tags) {
    const match = /^attention\/([^/]+)\/(L\d+H\d+)$/.exec(tag);
    if (match) out.set(match[1], [...(out.get(match[1]) ?? []), match[2]]);
  }
  return out;
}

/** The loss tag of a run: the first tag naming a loss, else the first tag that is not a head statistic. */
export function lossTag(tags: string[]): string | null {
  const own = tags.filter(t => !t.startsWith('attention/'));
  return own.find(t => /loss/i.test(t)) ?? own[0] ?? null;
}

/**
 * RGBA pixels (query rows × key columns) of head (`layer`, `head`) of a uint8 block `data` of
 * `shape` (layers, heads, query, key): white for 0 to dark blue for the head's largest weight.
 */
export function headPixels(data: Uint8Array, shape: number[], layer: number, head: number): Uint8ClampedArray<ArrayBuffer> {
  const [, heads, nq, nk] = shape;
  const size = nq * nk;
  const start = (layer * heads + head) * size;
  let max = 1;
  for (let i = 0; i < size; i++) max = Math.max(max, data[start + i]);
  const pixels = new Uint8ClampedArray(size * 4);
  for (let i = 0; i < size; i++) {
    const t = data[start + i] / max;
    pixels[4 * i] = 255 - 247 * t;
    pixels[4 * i + 1] = 255 - 207 * t;
    pixels[4 * i + 2] = 255 - 148 * t;
    pixels[4 * i + 3] = 255;
  }
  return pixels;
}

/** Where `LatestLoader` gets values and shows them. */
export interface ILatestSource<K, V> {
  /** Fetch (and decode) the value of `key`. */
  load(key: K): Promise<V>;
  /** The value of `key` if already at hand (shown at once, even while a load runs), else undefined. */
  cached(key: K): V | undefined;
  show(key: K, value: V): void;
  fail(key: K, error: unknown): void;
}

/**
 * Shows the value of the latest requested key, loading at most one at a time: while a load runs,
 * a new request only replaces the one waiting (a slider drag's intermediate steps are skipped, only
 * the last one asked for is loaded next), and an answer is shown only if nothing asked for later was
 * shown before it (a stale response never paints over a newer step). A cached value is shown at once.
 */
export class LatestLoader<K, V> {
  private asked = 0; // sequence number of the latest request
  private shown = 0; // sequence number of the request last shown (or failed)
  private loading = false;
  private waiting: { key: K; asked: number } | null = null;

  constructor(private readonly source: ILatestSource<K, V>) {}

  /** Whether a load is running or waiting. */
  get busy(): boolean {
    return this.loading || this.waiting !== null;
  }

  /** Ask for `key`'s value: shown now if cached, after the running load otherwise. */
  request(key: K): void {
    this.waiting = { key, asked: ++this.asked };
    this.next();
  }

  private next(): void {
    const waiting = this.waiting;
    if (!waiting) return;
    const hit = this.source.cached(waiting.key);
    if (hit !== undefined) {
      this.waiting = null;
      this.shown = waiting.asked;
      this.source.show(waiting.key, hit);
      return;
    }
    if (this.loading) return;
    this.waiting = null;
    this.loading = true;
    const { key, asked } = waiting;
    this.source
      .load(key)
      .then(
        value => this.settle(asked, () => this.source.show(key, value)),
        error => this.settle(asked, () => this.source.fail(key, error))
      )
      .finally(() => {
        this.loading = false;
        this.next();
      });
  }

  private settle(asked: number, report: () => void): void {
    if (asked > this.shown) {
      this.shown = asked;
      report();
    }
  }
}

/**
 * Least-recently-used values up to `budget` bytes in all (each value's size given when stored; a
 * value larger than the budget is not kept). A Map keeps insertion order, so its first key is the
 * least recently used one: a few lines, no library needed.
 */
export class ByteLRU<V> {
  private readonly items = new Map<string, { value: V; bytes: number }>();
  private total = 0;

  constructor(readonly budget: number) {}

  /** Bytes held now (≤ budget). */
  get bytes(): number {
    return this.total;
  }

  get(key: string): V | undefined {
    const item = this.items.get(key);
    if (!item) return undefined;
    this.items.delete(key);
    this.items.set(key, item);
    return item.value;
  }

  set(key: string, value: V, bytes: number): void {
    this.delete(key);
    if (bytes > this.budget) return;
    this.items.set(key, { value, bytes });
    this.total += bytes;
    for (const [oldest, item] of this.items) {
      if (this.total <= this.budget) break;
      this.items.delete(oldest);
      this.total -= item.bytes;
    }
  }

  delete(key: string): void {
    const item = this.items.get(key);
    if (item) {
      this.items.delete(key);
      this.total -= item.bytes;
    }
  }

  clear(): void {
    this.items.clear();
    this.total = 0;
  }
}
