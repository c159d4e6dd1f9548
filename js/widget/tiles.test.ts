import { describe, expect, it } from 'vitest';
import { decodeBlock } from './data';
import { denseTile, TileClient, tileWeight, type Messenger } from './tiles';

describe('denseTile', () => {
  it('max-pools a window of the requested heads', () => {
    const n = 6;
    const values = new Uint8Array(2 * n * n);
    values[(1 * n + 4) * n + 5] = 200; // head 1, q 4, k 5
    values[(0 * n + 2) * n + 2] = 100; // head 0, q 2, k 2
    const block = decodeBlock({ shape: [1, 2, n, n], dtype: 'uint8', scale: [[1, 0.5]], layers: [values] });
    const t = denseTile(block, { kind: 'self', layer: 0, heads: [1, 0], q0: 2, q1: 6, k0: 1, k1: 6, step: 2 });
    expect([t.rows, t.cols]).toEqual([2, 3]);
    expect(tileWeight(t, 0, 1, 2)).toBeCloseTo((200 * 0.5) / 255);
    expect(tileWeight(t, 1, 0, 0)).toBeCloseTo(100 / 255);
    expect(Array.from(t.values).filter(v => v).length).toBe(2);
  });
});

class FakeKernel implements Messenger {
  listeners: ((msg: any, buffers: DataView[]) => void)[] = [];
  sent: any[] = [];
  send(content: any) {
    this.sent.push(content);
  }
  on(_: 'msg:custom', cb: (msg: any, buffers: DataView[]) => void) {
    this.listeners.push(cb);
  }
  off() {
    this.listeners = [];
  }
  reply(id: number, bytes: number[], scale: number[]) {
    const buf = new Uint8Array(bytes);
    for (const l of this.listeners) l({ type: 'tile', request: id, rows: 1, cols: bytes.length, scale }, [new DataView(buf.buffer)]);
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
    kernel.reply(kernel.sent[0].request, [255, 51], [0.5]);
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
    for (const l of kernel.listeners) l({ type: 'tile', request: 3, error: 'layer 2 is out of range' }, []);
    await expect(bad).rejects.toThrow('layer 2 is out of range');
  });

  it('gives up on a kernel that never answers', async () => {
    const client = new TileClient(new FakeKernel(), 1024, 10);
    await expect(client.get(req)).rejects.toThrow('did not answer');
  });
});
