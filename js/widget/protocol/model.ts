/**
 * The wire format of attn_widget.AttentionWidget as TypeScript types: the synced traits, the block,
 * neuron and stats payloads and the RPC methods' parameters. attn_widget/wire_schema.json declares
 * the same once for both sides; protocol/schema.test.ts checks these declarations against it.
 */

import type { AnyModel } from '@anywidget/types';

/** A binary buffer as it arrives: DataView from ipywidgets, Uint8Array/ArrayBuffer from pages and tests. */
export type WireBuffer = DataView | ArrayBuffer | Uint8Array;

export type Kind = 'self' | 'encoder' | 'decoder' | 'cross';
export type Filter = 'all' | 'aa' | 'bb' | 'ab' | 'ba' | 'encoder' | 'decoder' | 'cross';
/** 'generation' only on attn_widget.generation_widget.GenerationWidget (the schema's subclass_values). */
type ViewName = 'head' | 'model' | 'neuron' | 'summary' | 'generation';
export type Aggregation = 'raw' | 'rollout' | 'flow' | 'value';
type DrawSetting = 'auto' | 'lines' | 'heatmap';
export type ThemeSetting = 'auto' | 'light' | 'dark';

/** One attention block (layers, heads, query, key): one buffer per layer, C order (heads, query, key). */
export interface BlockState {
  shape: [number, number, number, number];
  dtype: 'uint8' | 'float16';
  /** (layers, heads): uint8 weight = byte × scale / 255; all 1 for float16. */
  scale: number[][];
  layers: WireBuffer[];
  /** Tiled transport: `layers` is empty; thumbnails (max-pooled by `step`) come instead, full windows on request. */
  tiled?: boolean;
  thumbs?: ThumbsState;
}

/** Max-pooled uint8 thumbnails of a tiled block: (heads, ⌈query/step⌉, ⌈key/step⌉) per layer. */
export interface ThumbsState {
  step: number;
  shape: [number, number];
  layers: WireBuffer[];
}

/** `neuron_data`: float16 little-endian queries/keys, one buffer per stored layer, (heads, seq, head_dim). */
export interface NeuronState {
  shape: [number, number, number, number];
  head_dim: number;
  dtype: 'float16';
  /** Model layer number of each buffer. */
  layers: number[];
  /** Factor applied to q·k before the softmax, per buffer (1/√head_dim for the supported families). */
  scaling: number[];
  queries: WireBuffer[];
  keys: WireBuffer[];
  causal: boolean;
}

/** `head_stats`: float32 little-endian values (names, layers, heads) in one buffer. */
export interface StatsState {
  names: string[];
  shape: [number, number];
  values: WireBuffer;
}

/** The synced traits of attn_widget.AttentionWidget. */
export interface Traits {
  tokens: string[];
  decoder_tokens: string[];
  sentence_b_start: number | null;
  attention_data: Record<string, BlockState>;
  layer_numbers: number[];
  head_numbers: number[];
  num_kv_heads: number;
  neuron_data: NeuronState | Record<string, never>;
  aggregation_data: Record<string, BlockState>;
  aggregation_notes: Record<string, string>;
  special_positions: number[];
  decoder_special_positions: number[];
  head_stats: StatsState | Record<string, never>;
  signed: boolean;
  /** Training steps with an attention snapshot (AttentionWidget.from_run); empty otherwise. */
  steps: number[];
  /** Set by the browser when a view needs `head_stats` (the kernel computes them on demand). */
  stats_requested: boolean;
  view: ViewName;
  aggregation: Aggregation;
  hide_special: boolean;
  layer: number;
  heads: number[];
  head: number;
  include_heads: number[];
  attention_filter: Filter;
  mode: DrawSetting;
  theme: ThemeSetting;
  // Traits of attn_widget.generation_widget.GenerationWidget only (the schema's "subclass"): absent on AttentionWidget.
  /** Prompt (decoder) tokens before the first generated one. */
  prompt_length?: number;
  /** Per generated token: its probability, the top [token, probability] alternatives, the entropy (nats) of its step. */
  token_probs?: number[];
  top_tokens?: [string, number][][];
  entropy?: number[];
  /** Two-way step: the training step shown by a from_run widget (one of `steps`), or the generated tokens revealed by a GenerationWidget. */
  step: number;
}

/** The anywidget model of AttentionWidget (the standalone page implements the same interface). */
export type WidgetModel = AnyModel<Traits>;

/** Parameters of the `tile` method (browser → kernel): a max-pooled window of some heads of one layer. */
export interface TileRequest {
  kind: Kind;
  /** Stored layer index. */
  layer: number;
  heads: number[];
  q0: number;
  q1: number;
  k0: number;
  k1: number;
  /** Pooling factor: one cell covers step × step weights (max). */
  step: number;
}

/** Result of the `tile` method, beside one uint8 buffer (heads, rows, cols). */
export interface TileResult {
  rows: number;
  cols: number;
  /** Per requested head: weight = byte × scale / 255. */
  scale: number[];
}

/** Parameter and result of the `image` method (kernel → browser), beside one buffer: the file. */
export type ImageFormat = 'png' | 'svg';
