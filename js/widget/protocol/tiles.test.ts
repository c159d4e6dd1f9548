import { describe, expect, it } from 'vitest';
import { tileWeight } from '../state/pool';
import type { Messenger } from './rpc';
import { TileClient } from './tiles';

/** A kernel end of the comm that answers tile requests by hand, in the `rpc` envelope. */
class FakeKernel implements Messenger {
  listeners: ((msg: any, buffers: DataView[]) => void)[] = [];
  sent: any[] = [];
  send(content: any) {
    this.sent.push(content);
  }
  on(_: string, cb: (msg: any, buffers: DataView[]) => void) {
    this.listeners.push(cb);
  }
  off() {
    this.listeners = [];
  }
  /** Answer the n-th request sent (1-based) with a 1-row tile. */
  reply(n: number, bytes: number[], scale: number[]) {
    const buf = new Uint8Array(bytes);
    const response = { rpc: 'response', id: this.sent[n - 1].id, result: { rows: 1, cols: bytes.length, scale } };
    for (const l of this.listeners) l(response, [new DataView(buf.buffer)]);
  }
}

describe('TileClient', () => {
  const req = { kind: 'self' as const, layer: 0, heads: [0], q0: 0, q1: 1, k0: 0, k1: 2, step: 1 };

  it('requests once, caches, and decodes the per-head scale', async () => {
    const kernel = new FakeKernel();
    const client = new TileClient(kernel);
    const a = client.get(req);
    const b = client.get(req); // same request in flight: no second message
    expect(kernel.sent).toHaveLength(1);
    expect(kernel.sent[0]).toEqual({ rpc: 'request', id: expect.any(String), method: 'tile', params: req });
    kernel.reply(1, [255, 51], [0.5]);
    const tile = await a;
    expect(await b).toBe(tile);
    expect(tileWeight(tile, 0, 0, 1)).toBeCloseTo(0.1);
    expect(client.peek(req)).toBe(tile);
    await client.get(req);
    expect(kernel.sent).toHaveLength(1);
  });

  it('evicts least recently used tiles beyond its byte budget, and rejects kernel errors', async () => {
    const kernel = new FakeKernel();
    const client = new TileClient(kernel, 3);
    const first = client.get(req);
    kernel.reply(1, [1, 2], [1]);
    await first;
    const second = client.get({ ...req, layer: 1 });
    kernel.reply(2, [3, 4], [1]);
    await second;
    expect(client.peek(req)).toBeUndefined();
    const bad = client.get({ ...req, layer: 2 });
    for (const l of kernel.listeners) l({ rpc: 'response', id: kernel.sent[2].id, error: 'layer 2 is out of range' }, []);
    await expect(bad).rejects.toThrow('layer 2 is out of range');
  });

  it('gives up on a kernel that never answers', async () => {
    const client = new TileClient(new FakeKernel(), 1024, 10);
    await expect(client.get(req)).rejects.toThrow('did not answer');
  });
});
