/**
 * Standalone pages (exported HTML): a widget model backed by a plain object, so the same
 * `render` runs without Jupyter. Binary buffers arrive as `{"$b64z": "<base64 of zlib data>"}`
 * (see attn_widget/export.py) and are inflated with the browser's DecompressionStream.
 */

import type { Traits, WidgetModel } from './model';

export class StandaloneModel implements WidgetModel {
  private listeners = new Map<string, Set<(...args: any[]) => void>>();

  constructor(private state: Traits) {}

  get<K extends keyof Traits>(key: K): Traits[K] {
    return this.state[key];
  }

  set<K extends keyof Traits>(key: K, value: Traits[K]): void {
    if (this.state[key] === value) return;
    this.state[key] = value;
    for (const cb of this.listeners.get(`change:${key}`) ?? []) cb();
  }

  save_changes(): void {
    // Nothing to sync to: the page has no kernel.
  }

  /** Custom messages (e.g. tile requests) get an error reply: there is no kernel to answer them. */
  send(content: unknown): void {
    const { type, request } = (content ?? {}) as { type?: string; request?: number };
    const reply = { type, request, error: 'this exported page has no kernel' };
    queueMicrotask(() => {
      for (const cb of this.listeners.get('msg:custom') ?? []) cb(reply, []);
    });
  }

  on(event: string, callback: (...args: any[]) => void): void {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event)!.add(callback);
  }

  off(event: string, callback: (...args: any[]) => void): void {
    this.listeners.get(event)?.delete(callback);
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

/** Render a widget from its exported state into `el`; returns the model (for scripting/tests). */
export async function mountStandalone(el: HTMLElement, encodedState: unknown): Promise<StandaloneModel> {
  const widget = (await import('./index')).default;
  const model = new StandaloneModel((await decodeBuffers(encodedState)) as Traits);
  widget.render({ model, el });
  return model;
}
