/**
 * Tiles of tiled blocks (too large to send whole) from the kernel: the `tile` RPC method, cached
 * (least recently used out). Dense blocks are pooled in the browser instead (state/pool.ts).
 */

import { decodeTile, type Tile } from './decode';
import type { TileRequest, TileResult } from './model';
import { type Messenger, RpcClient } from './rpc';

function tileKey(r: TileRequest): string {
  return `${r.kind}/${r.layer}/${r.heads.join(',')}/${r.q0}:${r.q1}/${r.k0}:${r.k1}/${r.step}`;
}

/** Fetches tiles from the kernel; caches up to `maxBytes`. */
export class TileClient {
  private cache = new Map<string, Tile>();
  private bytes = 0;
  private inflight = new Map<string, Promise<Tile>>();
  private rpc: RpcClient;

  constructor(
    model: Messenger,
    private maxBytes = 256 * 2 ** 20,
    timeoutMs = 15_000
  ) {
    this.rpc = new RpcClient(model, timeoutMs);
  }

  dispose(): void {
    this.rpc.dispose();
  }

  /** A cached tile, if any (marks it recently used). */
  peek(r: TileRequest): Tile | undefined {
    const key = tileKey(r);
    const tile = this.cache.get(key);
    if (tile) {
      this.cache.delete(key);
      this.cache.set(key, tile);
    }
    return tile;
  }

  get(r: TileRequest): Promise<Tile> {
    const cached = this.peek(r);
    if (cached) return Promise.resolve(cached);
    const key = tileKey(r);
    let p = this.inflight.get(key);
    if (!p) {
      const request: TileRequest = { kind: r.kind, layer: r.layer, heads: r.heads, q0: r.q0, q1: r.q1, k0: r.k0, k1: r.k1, step: r.step };
      p = this.rpc
        .call<TileResult>('tile', { ...request })
        .then(({ result, buffers }) => this.store(key, decodeTile(request, result, buffers[0])))
        .finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  private store(key: string, tile: Tile): Tile {
    this.cache.set(key, tile);
    this.bytes += tile.values.byteLength;
    for (const [old, t] of this.cache) {
      if (this.bytes <= this.maxBytes) break;
      this.cache.delete(old);
      this.bytes -= t.values.byteLength;
    }
    return tile;
  }
}
