/**
 * Exported pages: a widget model backed by a plain object, so the same widget runs without Jupyter.
 * Binary buffers arrive as `{"$b64z": "<base64 of zlib data>"}` (see attn_widget/export.py) and are
 * inflated with the browser's DecompressionStream. RPC requests get an error response.
 */

import type { Traits, WidgetModel } from './model';
import { isRequest, type RpcResponse } from './rpc';

type Listener = (...args: any[]) => void;

const NO_KERNEL = 'this exported page has no kernel';

export class StandaloneModel implements WidgetModel {
  private listeners = new Map<string, Set<Listener>>();
  readonly widget_manager: WidgetModel['widget_manager'] = { get_model: () => Promise.reject(new Error(NO_KERNEL)) };

  constructor(private state: Traits) {}

  get<K extends keyof Traits>(key: K): Traits[K] {
    return this.state[key];
  }

  set<K extends keyof Traits>(key: K, value: Traits[K]): void {
    if (this.state[key] === value) return;
    this.state[key] = value;
    this.emit(`change:${key}`);
  }

  save_changes(): void {
    // Nothing to sync to: the page has no kernel.
  }

  /** Requests (e.g. tiles) are answered with an error response: there is no kernel to answer them. */
  send(content: unknown): void {
    if (!isRequest(content)) return;
    const response: RpcResponse = { rpc: 'response', id: content.id, error: NO_KERNEL };
    queueMicrotask(() => this.emit('msg:custom', response, []));
  }

  on(event: string, callback: Listener): void {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event)?.add(callback);
  }

  off(event?: string | null, callback?: Listener | null): void {
    if (!event) this.listeners.clear();
    else if (!callback) this.listeners.delete(event);
    else this.listeners.get(event)?.delete(callback);
  }

  private emit(event: string, ...args: unknown[]): void {
    for (const cb of this.listeners.get(event) ?? []) cb(...args);
  }
}

function base64ToBytes(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

async function inflate(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Replace every `{"$b64z": ...}` in `value` by its inflated bytes (as a DataView, like ipywidgets). */
export async function decodeBuffers(value: unknown): Promise<unknown> {
  if (Array.isArray(value)) return Promise.all(value.map(decodeBuffers));
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    if (typeof obj.$b64z === 'string') {
      const bytes = await inflate(base64ToBytes(obj.$b64z));
      return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) out[k] = await decodeBuffers(v);
    return out;
  }
  return value;
}
