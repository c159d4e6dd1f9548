import { describe, expect, it } from 'vitest';
import { type Messenger, RpcClient, RpcServer } from './rpc';

/** Both ends of one comm: what one side sends reaches the other side's msg:custom listeners. */
function comm(): [Messenger & { sent: unknown[] }, Messenger & { sent: unknown[] }] {
  type Listener = (msg: unknown, buffers: DataView[]) => void;
  const make = () => ({ listeners: new Set<Listener>(), sent: [] as unknown[], peer: null as null | { listeners: Set<Listener> } });
  const a = make();
  const b = make();
  a.peer = b;
  b.peer = a;
  const end = (self: ReturnType<typeof make>) => ({
    sent: self.sent,
    send(content: unknown, _callbacks?: unknown, buffers?: ArrayBuffer[] | ArrayBufferView[]) {
      self.sent.push(content);
      const views = (buffers ?? []).map(x => (x instanceof ArrayBuffer ? new DataView(x) : new DataView(x.buffer, x.byteOffset, x.byteLength)));
      queueMicrotask(() => {
        for (const l of self.peer?.listeners ?? []) l(content, views);
      });
    },
    on(_event: string, cb: Listener) {
      self.listeners.add(cb);
    },
    off(_event?: string | null, cb?: Listener | null) {
      if (cb) self.listeners.delete(cb);
    }
  });
  return [end(a), end(b)];
}

describe('rpc', () => {
  it('sends the schema envelope and resolves with the result and buffers', async () => {
    const [browser, kernel] = comm();
    const server = new RpcServer(kernel, {
      echo: async params => ({ result: { got: params.x }, buffers: [Uint8Array.from([7, 8]).buffer] })
    });
    const client = new RpcClient(browser);
    const answer = await client.call('echo', { x: 3 });
    expect(browser.sent[0]).toEqual({ rpc: 'request', id: expect.any(String), method: 'echo', params: { x: 3 } });
    expect(kernel.sent[0]).toEqual({ rpc: 'response', id: (browser.sent[0] as { id: string }).id, result: { got: 3 } });
    expect(answer.result).toEqual({ got: 3 });
    expect(Array.from(new Uint8Array(answer.buffers[0].buffer))).toEqual([7, 8]);
    server.dispose();
    client.dispose();
  });

  it('rejects with the error message of an error response, and answers unknown methods with one', async () => {
    const [browser, kernel] = comm();
    new RpcServer(kernel, {
      fail: async () => {
        throw new Error('layer 9 is out of range');
      }
    });
    const client = new RpcClient(browser);
    await expect(client.call('fail', {})).rejects.toThrow('layer 9 is out of range');
    await expect(client.call('nope', {})).rejects.toThrow("unknown method 'nope'");
    expect(kernel.sent.every(m => (m as { error?: string }).error && !('result' in (m as object)))).toBe(true);
  });

  it('matches responses to their caller: two clients on one comm each get their own answer', async () => {
    const [browser, kernel] = comm();
    new RpcServer(kernel, { who: async params => ({ result: { me: params.me }, buffers: [] }) });
    const one = new RpcClient(browser);
    const two = new RpcClient(browser);
    const [a, b] = await Promise.all([one.call('who', { me: 1 }), two.call('who', { me: 2 })]);
    expect([a.result.me, b.result.me]).toEqual([1, 2]);
  });

  it('times out when nobody answers, and rejects pending calls when disposed', async () => {
    const [browser] = comm();
    await expect(new RpcClient(browser, 10).call('tile', {})).rejects.toThrow('the kernel did not answer the tile request');
    const client = new RpcClient(browser);
    const pending = client.call('tile', {});
    client.dispose();
    await expect(pending).rejects.toThrow('view closed');
  });
});
