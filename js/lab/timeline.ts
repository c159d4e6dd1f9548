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
