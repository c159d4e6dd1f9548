/** The synced traits of attn_widget.AttentionWidget, and the part of the widget model we use. */

import type { BlockState } from './data';
import type { Filter } from './layout';
import type { NeuronState } from './neuron';
import type { StatsState } from './summary';
import type { ThemeSetting } from './theme';

export interface Traits {
  tokens: string[];
  decoder_tokens: string[];
  sentence_b_start: number | null;
  attention_data: Record<string, BlockState>;
  layer_numbers: number[];
  num_kv_heads: number;
  neuron_data: NeuronState | Record<string, never>;
  aggregation_data: Record<string, BlockState>;
  aggregation_notes: Record<string, string>;
  special_positions: number[];
  decoder_special_positions: number[];
  head_stats: StatsState | Record<string, never>;
  signed: boolean;
  head_numbers: number[];
  view: 'head' | 'model' | 'neuron' | 'summary';
  aggregation: 'raw' | 'rollout' | 'flow' | 'value';
  hide_special: boolean;
  layer: number;
  heads: number[];
  head: number;
  include_heads: number[];
  attention_filter: Filter;
  mode: 'auto' | 'lines' | 'heatmap';
  theme: ThemeSetting;
}

/** What the views need of an anywidget model (the standalone page provides the same). */
export interface WidgetModel {
  get<K extends keyof Traits>(key: K): Traits[K];
  set<K extends keyof Traits>(key: K, value: Traits[K]): void;
  save_changes(): void;
  send(content: unknown, callbacks?: unknown, buffers?: ArrayBuffer[]): void;
  on(event: string, callback: (...args: any[]) => void): void;
  off(event: string, callback: (...args: any[]) => void): void;
}
