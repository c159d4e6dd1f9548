/**
 * One request/response mechanism over anywidget custom messages, used both ways (the `rpc` envelope
 * of attn_widget/wire_schema.json): `{rpc: "request", id, method, params}` is answered by
 * `{rpc: "response", id, result}` plus buffers, or `{rpc: "response", id, error}` (a message for
 * people). The browser calls the kernel (tiles) with RpcClient and answers it (images) with RpcServer.
 *
 * Written here rather than with anywidget's experimental `invoke`: the kernel also asks the browser,
 * which `invoke` does not do, and the exported page must answer with the same envelope.
 */

import type { AnyModel } from '@anywidget/types';

/** The part of an anywidget model that carries custom messages. */
export type Messenger = Pick<AnyModel, 'send' | 'on' | 'off'>;

interface RpcRequest {
  rpc: 'request';
  id: string;
  method: string;
  params: Record<string, unknown>;
}

export interface RpcResponse {
  rpc: 'response';
  id: string;
  result?: Record<string, unknown>;
  error?: string;
}

/** A successful answer: the result and the buffers that came with it. */
interface RpcAnswer<R = Record<string, unknown>> {
  result: R;
  buffers: DataView[];
}

export function isRequest(msg: unknown): msg is RpcRequest {
  return (msg as RpcRequest | null)?.rpc === 'request' && typeof (msg as RpcRequest).method === 'string';
}

function isResponse(msg: unknown): msg is RpcResponse {
  return (msg as RpcResponse | null)?.rpc === 'response';
}

function asDataViews(buffers: unknown[] | undefined): DataView[] {
  return (buffers ?? []).map(b => {
    if (b instanceof DataView) return b;
    if (b instanceof ArrayBuffer) return new DataView(b);
    const view = b as ArrayBufferView;
    return new DataView(view.buffer, view.byteOffset, view.byteLength);
  });
}

interface Pending {
  resolve: (answer: RpcAnswer) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** Calls methods on the other side; each call resolves with its answer or rejects with the error message. */
export class RpcClient {
  private pending = new Map<string, Pending>();
  private next = 0;
  /** Ids are unique per client: several views of one model each get every response. */
  private readonly prefix = Math.random().toString(36).slice(2, 10);
  private readonly listener = (msg: unknown, buffers: unknown[]) => this.receive(msg, buffers);

  constructor(
    private model: Messenger,
    private timeoutMs = 15_000
  ) {
    model.on('msg:custom', this.listener);
  }

  call<R = Record<string, unknown>>(method: string, params: Record<string, unknown>): Promise<RpcAnswer<R>> {
    const id = `${this.prefix}-${++this.next}`;
    return new Promise<RpcAnswer<R>>((resolve, reject) => {
      // A kernel that died or restarted never answers: reject, so the caller can fall back.
      const timer = setTimeout(() => {
        if (this.pending.delete(id)) reject(new Error(`the kernel did not answer the ${method} request`));
      }, this.timeoutMs);
      this.pending.set(id, { resolve: resolve as Pending['resolve'], reject, timer });
      const request: RpcRequest = { rpc: 'request', id, method, params };
      this.model.send(request);
    });
  }

  dispose(): void {
    this.model.off('msg:custom', this.listener);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error('view closed'));
    }
    this.pending.clear();
  }

  private receive(msg: unknown, buffers: unknown[]): void {
    if (!isResponse(msg)) return;
    const p = this.pending.get(msg.id);
    if (!p) return; // another client's call
    this.pending.delete(msg.id);
    clearTimeout(p.timer);
    if (typeof msg.error === 'string') p.reject(new Error(msg.error));
    else p.resolve({ result: msg.result ?? {}, buffers: asDataViews(buffers) });
  }
}

/** A method the other side may call: its result and buffers, or a thrown error (sent as its message). */
type RpcHandler = (params: Record<string, unknown>) => Promise<{ result: Record<string, unknown>; buffers: ArrayBuffer[] }>;

/** Answers the other side's requests with `handlers`; unknown methods get an error response. */
export class RpcServer {
  private readonly listener = (msg: unknown) => this.receive(msg);

  constructor(
    private model: Messenger,
    private handlers: Record<string, RpcHandler>
  ) {
    model.on('msg:custom', this.listener);
  }

  dispose(): void {
    this.model.off('msg:custom', this.listener);
  }

  private async receive(msg: unknown): Promise<void> {
    if (!isRequest(msg)) return;
    const handler = Object.keys(this.handlers).includes(msg.method) ? this.handlers[msg.method] : undefined;
    let response: RpcResponse;
    let buffers: ArrayBuffer[] = [];
    try {
      if (!handler) throw new Error(`unknown method '${msg.method}' (known: ${Object.keys(this.handlers).join(', ')})`);
      const answer = await handler(msg.params ?? {});
      response = { rpc: 'response', id: msg.id, result: answer.result };
      buffers = answer.buffers;
    } catch (e) {
      response = { rpc: 'response', id: msg.id, error: e instanceof Error ? e.message : String(e) };
    }
    this.model.send(response, undefined, buffers);
  }
}
