import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Traits } from './model';
import { decodeBuffers, StandaloneModel } from './standalone';

describe('standalone page support', () => {
  it('inflates {$b64z} buffers into DataViews, wherever they sit', async () => {
    const raw = Uint8Array.from([1, 2, 3, 250]);
    const b64 = Buffer.from(deflateSync(raw)).toString('base64');
    const out = (await decodeBuffers({ a: { layers: [{ $b64z: b64 }] }, n: 3 })) as { a: { layers: DataView[] }; n: number };
    const dv = out.a.layers[0];
    expect(Array.from(new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength))).toEqual([1, 2, 3, 250]);
    expect(out.n).toBe(3);
  });

  it('models emit change events like a widget model', () => {
    const model = new StandaloneModel({ layer: 0 } as Traits);
    const seen: number[] = [];
    const cb = () => seen.push(model.get('layer'));
    model.on('change:layer', cb);
    model.set('layer', 2);
    model.set('layer', 2); // unchanged: no event
    model.off('change:layer', cb);
    model.set('layer', 3);
    expect(seen).toEqual([2]);
  });
});
