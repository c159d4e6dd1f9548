/**
 * Decoding of everything the kernel sends, one function per payload (attn_widget/wire_schema.json):
 * attention blocks, tiles, neuron queries/keys and head statistics. The field tables below are the
 * decoders' own declaration of the payloads; protocol/schema.test.ts checks them against the schema.
 */

import type { BlockState, NeuronState, StatsState, ThumbsState, TileRequest, TileResult, WireBuffer } from './model';

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

/** A max-pooled window of some heads of one layer (see state/pool.ts), from the kernel or pooled here. */
export interface Tile extends TileRequest {
  rows: number;
  cols: number;
  /** (heads.length, rows, cols), C order; weight = values[i] × mul[head index]. */
  values: Uint8Array | Float32Array;
  mul: Float32Array;
  /** Said next to the view when the tile is not what was asked for (e.g. thumbnails without a kernel). */
  note?: string;
}

export interface NeuronData {
  layers: number[];
  heads: number;
  seq: number;
  dim: number;
  scaling: number[];
  /** queries[i] / keys[i]: heads × seq × dim floats of layers[i], C order. */
  queries: Float32Array[];
  keys: Float32Array[];
  causal: boolean;
}

/** Head statistics as {name: (layers, heads)}. */
export type Stats = Record<string, number[][]>;

/** Fields of each payload: true = required, false = optional. */
type Fields<T> = Record<keyof T, boolean>;
export const BLOCK_FIELDS: Fields<BlockState> = { shape: true, dtype: true, scale: true, layers: true, tiled: false, thumbs: false };
export const THUMBS_FIELDS: Fields<ThumbsState> = { step: true, shape: true, layers: true };
export const NEURON_FIELDS: Fields<NeuronState> = {
  shape: true,
  head_dim: true,
  dtype: true,
  layers: true,
  scaling: true,
  queries: true,
  keys: true,
  causal: true
};
export const STATS_FIELDS: Fields<StatsState> = { names: true, shape: true, values: true };
export const TILE_RESULT_FIELDS: Fields<TileResult> = { rows: true, cols: true, scale: true };

function requireFields<T>(value: object, fields: Fields<T>, what: string): void {
  const missing = Object.entries(fields)
    .filter(([name, required]) => required && !(name in value))
    .map(([name]) => name);
  if (missing.length) throw new Error(`${what}: missing ${missing.join(', ')}`);
}

function toBytes(buf: WireBuffer): Uint8Array {
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
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

let HALF_TABLE: Float32Array | null = null;
function halfTable(): Float32Array {
  if (!HALF_TABLE) {
    HALF_TABLE = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) HALF_TABLE[h] = halfToFloat(h);
  }
  return HALF_TABLE;
}

/** Little-endian float16 bytes → floats. */
export function decodeFloat16(bytes: Uint8Array): Float32Array {
  const n = bytes.length >> 1;
  const out = new Float32Array(n);
  const table = halfTable();
  for (let i = 0; i < n; i++) out[i] = table[bytes[2 * i] | (bytes[2 * i + 1] << 8)];
  return out;
}

/** How each block dtype becomes values and per-head multipliers. */
export const DTYPES: Record<BlockState['dtype'], { bytes: number; values: (b: Uint8Array) => Uint8Array | Float32Array; mul: (scale: number) => number }> = {
  uint8: { bytes: 1, values: b => b, mul: scale => scale / 255 },
  float16: { bytes: 2, values: decodeFloat16, mul: () => 1 }
};

function dtypeOf(dtype: string, what: string): (typeof DTYPES)[keyof typeof DTYPES] {
  if (!Object.keys(DTYPES).includes(dtype)) {
    throw new Error(`${what}: unknown dtype '${dtype}' (expected ${Object.keys(DTYPES).join(' or ')})`);
  }
  return DTYPES[dtype as BlockState['dtype']];
}

export function decodeBlock(state: BlockState): AttentionBlock {
  requireFields(state, BLOCK_FIELDS, 'attention block');
  const [layers, heads, queries, keys] = state.shape;
  const size = heads * queries * keys;
  if (state.tiled && state.thumbs) {
    requireFields(state.thumbs, THUMBS_FIELDS, 'attention thumbnails');
    const [rows, cols] = state.thumbs.shape;
    const thumbs = decodeBlock({ shape: [layers, heads, rows, cols], dtype: 'uint8', scale: state.scale, layers: state.thumbs.layers });
    return { layers, heads, queries, keys, values: [], mul: thumbs.mul, tiled: true, thumbs, thumbStep: state.thumbs.step };
  }
  const dtype = dtypeOf(state.dtype, 'attention block');
  const values = state.layers.map((buf, l) => {
    const v = dtype.values(toBytes(buf));
    if (v.length !== size) throw new Error(`attention layer ${l}: expected ${size} values, got ${v.length}`);
    return v;
  });
  const mul = new Float32Array(layers * heads);
  for (let l = 0; l < layers; l++) {
    for (let h = 0; h < heads; h++) mul[l * heads + h] = dtype.mul(state.scale[l]?.[h] ?? Number.NaN);
  }
  return { layers, heads, queries, keys, values, mul, tiled: false, thumbs: null, thumbStep: 1 };
}

/** Every block of `attention_data` or `aggregation_data`. */
export function decodeBlocks<K extends string>(data: Record<string, BlockState>): Partial<Record<K, AttentionBlock>> {
  const out: Partial<Record<K, AttentionBlock>> = {};
  for (const [kind, state] of Object.entries(data)) out[kind as K] = decodeBlock(state);
  return out;
}

/** The answer to a `tile` request: uint8 (heads, rows, cols) with a per-head scale. */
export function decodeTile(request: TileRequest, result: TileResult, buffer: WireBuffer | undefined): Tile {
  requireFields(result, TILE_RESULT_FIELDS, 'tile');
  const values = toBytes(buffer ?? new Uint8Array(0));
  const expected = request.heads.length * result.rows * result.cols;
  if (values.length !== expected) throw new Error(`tile: expected ${expected} values, got ${values.length}`);
  const mul = Float32Array.from(result.scale, DTYPES.uint8.mul);
  return { ...request, rows: result.rows, cols: result.cols, values, mul };
}

/** `neuron_data`, or null when the widget has no queries/keys (`{}`). */
export function decodeNeuron(state: NeuronState | Record<string, never>): NeuronData | null {
  if (!('shape' in state)) return null;
  requireFields(state, NEURON_FIELDS, 'neuron data');
  const [, heads, seq, dim] = state.shape;
  const decode = (bufs: WireBuffer[]) =>
    bufs.map((b, i) => {
      const v = decodeFloat16(toBytes(b));
      if (v.length !== heads * seq * dim) throw new Error(`neuron layer ${i}: expected ${heads * seq * dim} values, got ${v.length}`);
      return v;
    });
  return { layers: state.layers, heads, seq, dim, scaling: state.scaling, queries: decode(state.queries), keys: decode(state.keys), causal: state.causal };
}

/** `head_stats` as {name: (layers, heads)}; {} when the widget has none (yet). */
export function decodeStats(state: StatsState | Record<string, never>): Stats {
  if (!('names' in state)) return {};
  requireFields(state, STATS_FIELDS, 'head statistics');
  const [layers, heads] = state.shape;
  const f = new Float32Array(toBytes(state.values).slice().buffer);
  const rows = (i: number) => Array.from({ length: layers }, (_, l) => Array.from(f.subarray((i * layers + l) * heads, (i * layers + l + 1) * heads)));
  return Object.fromEntries(state.names.map((name, i) => [name, rows(i)]));
}
