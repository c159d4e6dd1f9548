/**
 * Decoding of the attention buffers synced from Python (see attn_widget/quantize.py).
 *
 * uint8: weight ≈ byte × scale[layer][head] / 255. float16: little-endian halves, scale 1.
 */

export type Kind = 'self' | 'encoder' | 'decoder' | 'cross';

/** One block as synced: shape (layers, heads, query, key), one buffer per layer. */
export interface BlockState {
  shape: [number, number, number, number];
  dtype: 'uint8' | 'float16';
  scale: number[][];
  layers: (DataView | ArrayBuffer | Uint8Array)[];
  /** Tiled transport: `layers` is empty; thumbnails (max-pooled by `step`) come instead, full windows on request. */
  tiled?: boolean;
  thumbs?: { step: number; shape: [number, number]; layers: (DataView | ArrayBuffer | Uint8Array)[] };
}

/** A decoded block: per-layer values plus per-(layer, head) multipliers. */
export interface AttentionBlock {
  layers: number;
  heads: number;
  queries: number;
  keys: number;
  /** values[layer] has heads × queries × keys entries, C order. */
  values: (Uint8Array | Float32Array)[];
  /** weight = values[layer][i] × mul[layer × heads + head]. */
  mul: Float32Array;
  /** Tiled transport: no `values`; `thumbs` is the (layers, heads, ⌈q/step⌉, ⌈k/step⌉) max-pooled block. */
  tiled: boolean;
  thumbs: AttentionBlock | null;
  thumbStep: number;
}

export function toBytes(buf: DataView | ArrayBuffer | Uint8Array): Uint8Array {
  if (buf instanceof Uint8Array) return buf;
  if (buf instanceof ArrayBuffer) return new Uint8Array(buf);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** IEEE 754 half → float. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Little-endian float16 bytes → floats. */
export function decodeFloat16(bytes: Uint8Array): Float32Array {
  const n = bytes.length >> 1;
  const out = new Float32Array(n);
  const table = halfTable();
  for (let i = 0; i < n; i++) out[i] = table[bytes[2 * i] | (bytes[2 * i + 1] << 8)];
  return out;
}

let HALF_TABLE: Float32Array | null = null;
function halfTable(): Float32Array {
  if (!HALF_TABLE) {
    HALF_TABLE = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) HALF_TABLE[h] = halfToFloat(h);
  }
  return HALF_TABLE;
}

export function decodeBlock(state: BlockState): AttentionBlock {
  const [layers, heads, queries, keys] = state.shape;
  const size = heads * queries * keys;
  const mul = new Float32Array(layers * heads).fill(1);
  if (state.tiled && state.thumbs) {
    const [rows, cols] = state.thumbs.shape;
    const thumbs = decodeBlock({ shape: [layers, heads, rows, cols], dtype: 'uint8', scale: state.scale, layers: state.thumbs.layers });
    return { layers, heads, queries, keys, values: [], mul: thumbs.mul, tiled: true, thumbs, thumbStep: state.thumbs.step };
  }
  const values = state.layers.map((buf, l) => {
    const bytes = toBytes(buf);
    const v = state.dtype === 'float16' ? decodeFloat16(bytes) : bytes;
    if (v.length !== size) {
      throw new Error(`attention layer ${l}: expected ${size} values, got ${v.length}`);
    }
    return v;
  });
  if (state.dtype === 'uint8') {
    for (let l = 0; l < layers; l++) {
      for (let h = 0; h < heads; h++) mul[l * heads + h] = state.scale[l][h] / 255;
    }
  }
  return { layers, heads, queries, keys, values, mul, tiled: false, thumbs: null, thumbStep: 1 };
}

export function decodeAll<K extends string = Kind>(data: Record<string, BlockState>): Partial<Record<K, AttentionBlock>> {
  const out: Partial<Record<K, AttentionBlock>> = {};
  for (const [kind, state] of Object.entries(data)) out[kind as K] = decodeBlock(state);
  return out;
}

/** Positions 0 … n − 1 that are not in `hidden`, ascending. */
export function keptPositions(n: number, hidden: number[]): number[] {
  const drop = new Set(hidden);
  return Array.from({ length: n }, (_, i) => i).filter(i => !drop.has(i));
}

/**
 * The block restricted to query `rows` × key `cols` (exBERT's hiding of special tokens), as float
 * weights (mul 1). With `renormalize` each row is divided by its kept weight,
 * α'_ij = α_ij / Σ_{k kept} α_ik (rows with none stay 0), as attn_widget.analysis.hide_special_tokens.
 */
export function hideSpecial(block: AttentionBlock, rows: number[], cols: number[], renormalize: boolean): AttentionBlock {
  const { layers, heads } = block;
  const nr = rows.length;
  const nc = cols.length;
  const values = block.values.map((src, l) => {
    const out = new Float32Array(heads * nr * nc);
    for (let h = 0; h < heads; h++) {
      const m = block.mul[l * heads + h];
      rows.forEach((q, i) => {
        const base = (h * block.queries + q) * block.keys;
        const o = (h * nr + i) * nc;
        let sum = 0;
        cols.forEach((k, j) => (sum += out[o + j] = src[base + k] * m));
        if (renormalize && sum > 0) for (let j = 0; j < nc; j++) out[o + j] /= sum;
      });
    }
    return out;
  });
  const mul = new Float32Array(layers * heads).fill(1);
  return { layers, heads, queries: nr, keys: nc, values, mul, tiled: false, thumbs: null, thumbStep: 1 };
}

/** Weight of (query q, key k) in one head of one stored layer. */
export function weight(block: AttentionBlock, layer: number, head: number, q: number, k: number): number {
  const i = (head * block.queries + q) * block.keys + k;
  return block.values[layer][i] * block.mul[layer * block.heads + head];
}
