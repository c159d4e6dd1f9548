/**
 * What to draw, derived from the traits without touching the DOM: the toolbar's state and one plan
 * for the body (head lines, heatmap, model grid, neuron, summary, generation, or a message). app.ts calls
 * `derive` on every change and hands the plan to the views.
 */

import type { AttentionBlock, NeuronData, Stats } from '../protocol/decode';
import { decodeBlocks, decodeNeuron, decodeStats } from '../protocol/decode';
import type { Aggregation, Traits } from '../protocol/model';
import { type GenerationPlan, generationPlan, restrictToGeneration } from './generation';
import { type Blocks, filterOptions, hideSpecialTokens, type Slice, sliceFor, type Tokens } from './layout';
import { thumbSlice } from './pool';
import { normalizeStat, STAT_LABELS } from './stats';

/** Reads traits (an anywidget model does). */
export interface TraitReader {
  get<K extends keyof Traits>(key: K): Traits[K];
}

/** Heatmap instead of lines above this many tokens in 'auto' mode. */
const AUTO_HEATMAP_TOKENS = 96;

/** Lines mode keeps each query's links up to this share of its weight above this many tokens (exBERT's 0.7). */
const AUTO_PRUNE_TOKENS = 64;

/** The "Colour by" value that asks for head statistics before they are computed. */
export const PENDING_STAT = '…';

/** Labels of the aggregation select (attn_widget.widget.AGGREGATIONS). */
export const AGGREGATION_LABELS: Record<Aggregation, string> = { raw: 'Raw', rollout: 'Rollout', flow: 'Flow', value: 'Value-weighted' };

type DrawMode = 'lines' | 'heatmap';

export function resolveMode(mode: 'auto' | DrawMode, tokens: number, heatmapOnly = false): DrawMode {
  if (heatmapOnly) return 'heatmap'; // tiled (only windows of the weights are here) or signed differences
  return mode === 'auto' ? (tokens > AUTO_HEATMAP_TOKENS ? 'heatmap' : 'lines') : mode;
}

export function resolveCoverage(setting: string, tokens: number): number {
  return setting === 'auto' ? (tokens > AUTO_PRUNE_TOKENS ? 0.7 : 1) : Number(setting);
}

/** The traits' payloads, decoded (app.ts re-decodes one only when its trait changes). */
export interface Decoded {
  blocks: Blocks;
  aggregated: Partial<Record<string, AttentionBlock>>;
  neuron: NeuronData | null;
  stats: Stats;
}

export function decodeAttention(traits: TraitReader): Pick<Decoded, 'blocks' | 'aggregated'> {
  return { blocks: decodeBlocks(traits.get('attention_data')), aggregated: decodeBlocks(traits.get('aggregation_data')) };
}

export function decodeTraits(traits: TraitReader): Decoded {
  return { ...decodeAttention(traits), neuron: decodeNeuron(traits.get('neuron_data')), stats: decodeStats(traits.get('head_stats')) };
}

/** The blocks and tokens the head and model views draw: the weights or the chosen aggregation, special tokens hidden if asked. */
export interface Prepared {
  blocks: Blocks;
  tokens: Tokens;
}

function rawTokens(traits: TraitReader): Tokens {
  return { tokens: traits.get('tokens'), decoderTokens: traits.get('decoder_tokens'), sentenceBStart: traits.get('sentence_b_start') };
}

/** Why special tokens cannot be hidden now ('' when they can). */
export function hideRefusal(traits: TraitReader, data: Decoded): string {
  if (Object.values(data.blocks).some(b => b?.tiled)) return 'tiled transport: only thumbnails are in the browser, rows cannot be renormalised';
  return traits.get('view') === 'neuron' ? 'the neuron view shows q·k of every token' : '';
}

/** Whether special tokens are hidden now (asked for and possible). */
export function hiding(traits: TraitReader, data: Decoded): boolean {
  return traits.get('hide_special') && !hideRefusal(traits, data);
}

export function prepare(traits: TraitReader, data: Decoded): Prepared {
  const agg = data.aggregated[traits.get('aggregation')];
  const source: Blocks = agg ? { self: agg } : data.blocks;
  const tokens = rawTokens(traits);
  if (!hiding(traits, data)) return { blocks: source, tokens };
  return hideSpecialTokens(source, tokens, traits.get('special_positions'), traits.get('decoder_special_positions'), !traits.get('signed'));
}

/** Whether the kernel can compute head statistics (the rule of attn_widget: self-attention held whole, not differences). */
function statsPossible(traits: TraitReader, data: Decoded): boolean {
  const self = data.blocks.self;
  return Object.keys(data.stats).length > 0 || (!!self && !self.tiled && !traits.get('signed'));
}

export interface Option {
  value: string;
  label: string;
  /** Shown but not selectable; `title` says why. */
  disabled?: boolean;
  title?: string;
}

/** What the toolbar shows. */
export interface ToolbarState {
  view: string;
  views: Option[];
  aggregation: string;
  /** Aggregations with data, and {name: why not} for those asked for but unavailable. */
  aggregations: string[];
  notes: Record<string, string>;
  /** Why special tokens cannot be hidden ('' when they can), whether they are, and whether there are any. */
  hideRefusal: string;
  hidden: boolean;
  hasSpecial: boolean;
  /** "Colour by" choices: {statistic: label}. */
  stats: Record<string, string>;
  layerNumbers: number[];
  layerIndex: number;
  filters: Option[];
  filter: string;
  modes: Option[];
  mode: string;
  /** Resolved drawing mode of the head view. */
  drawing: DrawMode;
  autoCoverage: number;
  heads: number;
  selectedHeads: number[];
  head: number;
  /** Rollout/flow: one map per layer, no head selection. */
  single: boolean;
  hasNeuron: boolean;
  singleLayer: boolean;
}

/** Heads of one stored layer of a slice. */
export interface HeadSelection {
  slice: Slice;
  /** Index of the stored layer (not the model's layer number). */
  layer: number;
  heads: number[];
}

/** A statistic shown as each thumbnail's background tint and border: `values` and `norm` (0–1) are (layers, heads). */
interface Tint {
  name: string;
  values: number[][];
  norm: number[][];
}

export interface ModelPlan {
  slice: Slice;
  /** Label of each stored layer (row). */
  rows: string[];
  /** Heads shown (columns), and their labels. */
  heads: number[];
  columns: string[];
  width: number;
  selected: { layer: number; head: number } | null;
  /** Query heads per KV head (grouped-query attention); 1 when not grouped. */
  groupSize: number;
  signed: boolean;
  tint: Tint | null;
}

export type BodyPlan =
  | { kind: 'lines'; selection: HeadSelection; coverage: number }
  | { kind: 'heatmap'; selection: HeadSelection; signed: boolean }
  | {
      kind: 'model';
      model: ModelPlan;
      /** The opened head below the grid: title, and lines or heatmap. */
      detail: { title: string; selection: HeadSelection; signed: boolean; mode: DrawMode } | null;
    }
  | { kind: 'neuron'; slice: Slice; data: NeuronData; layer: number; qkLayer: number; head: number }
  | { kind: 'summary'; stats: Stats; layerNumbers: number[]; headNumbers: number[] }
  | { kind: 'generation'; generation: GenerationPlan }
  | { kind: 'message'; text: string };

/** View-local settings (not traits). */
export interface Local {
  /** Statistic tinting the model view's thumbnails ('' : head colours; PENDING_STAT: asked for, not computed yet). */
  tintStat: string;
  /** Lines' coverage setting ('auto' or a share). */
  coverage: string;
  /** Width available to the model view in CSS pixels. */
  width: number;
  /** Head opened below the model view. */
  detail: { layer: number; head: number } | null;
}

interface Plan {
  toolbar: ToolbarState;
  body: BodyPlan;
  /** The body needs head statistics the kernel has not computed yet. */
  needsStats: boolean;
}

export const COMPUTING_STATS = 'computing statistics…';

export function derive(traits: TraitReader, data: Decoded, prepared: Prepared, local: Local): Plan {
  const { tokens } = prepared;
  const { neuron, stats } = data;
  const layerNumbers = traits.get('layer_numbers');
  const view = traits.get('view');
  const filter = traits.get('attention_filter');
  const slice = restrictToGeneration(sliceFor(prepared.blocks, tokens, filter), traits, view);
  const aggregation = traits.get('aggregation');
  /** Rollout/flow: one map per layer (flow: one for all layers), drawn as head 0. */
  const single = aggregation === 'rollout' || aggregation === 'flow';
  const layerIndex = slice.block.layers === 1 ? 0 : Math.max(0, layerNumbers.indexOf(traits.get('layer')));
  const heads = single ? [0] : traits.get('heads');
  const n = Math.max(slice.q1 - slice.q0, slice.k1 - slice.k0);
  const tiled = slice.block.tiled;
  const signed = traits.get('signed');
  const mode = resolveMode(traits.get('mode'), n, tiled || signed);
  const kvHeads = traits.get('num_kv_heads');
  const groupSize = kvHeads > 0 && slice.block.heads % kvHeads === 0 ? slice.block.heads / kvHeads : 1;
  const statsReady = Object.keys(stats).length > 0;
  const canStats = statsPossible(traits, data);

  const generation = generationPlan(traits, data.blocks, layerIndex, heads);
  const views: Option[] = [
    ...(generation ? [{ value: 'generation', label: 'Generation' }] : []),
    { value: 'head', label: 'Head' },
    { value: 'model', label: 'Model' }
  ];
  if (neuron) views.push({ value: 'neuron', label: 'Neuron' });
  if (canStats) views.push({ value: 'summary', label: 'Heads summary' });
  const refusal = hideRefusal(traits, data);
  const tintChoices: Record<string, string> = statsReady
    ? Object.fromEntries(Object.keys(stats).map(k => [k, STAT_LABELS[k] ?? k]))
    : canStats
      ? { [PENDING_STAT]: local.tintStat === PENDING_STAT ? COMPUTING_STATS : 'a statistic…' }
      : {};
  const toolbar: ToolbarState = {
    view,
    views,
    aggregation,
    aggregations: Object.keys(traits.get('aggregation_data')),
    notes: traits.get('aggregation_notes'),
    hideRefusal: refusal,
    hidden: traits.get('hide_special') && !refusal,
    hasSpecial: traits.get('special_positions').length + traits.get('decoder_special_positions').length > 0,
    stats: tintChoices,
    layerNumbers,
    layerIndex,
    filters: filterOptions(data.blocks, tokens),
    filter: slice.kind === 'self' ? filter : slice.kind,
    modes:
      tiled || signed
        ? [{ value: traits.get('mode'), label: tiled ? 'Heatmap (tiles)' : 'Heatmap (a − b)' }]
        : [
            { value: 'auto', label: `Auto (${mode})` },
            { value: 'lines', label: 'Lines' },
            { value: 'heatmap', label: 'Heatmap' }
          ],
    mode: traits.get('mode'),
    drawing: mode,
    autoCoverage: resolveCoverage('auto', n),
    heads: slice.block.heads,
    selectedHeads: heads,
    head: traits.get('head'),
    single,
    hasNeuron: !!neuron,
    singleLayer: slice.block.layers === 1
  };
  const plan = (body: BodyPlan, needsStats = false): Plan => ({ toolbar, body, needsStats });

  if (view === 'model') {
    const include = traits.get('include_heads');
    const shown = single ? [0] : include.length ? include : Array.from({ length: slice.block.heads }, (_, h) => h);
    const rows = slice.block.layers === 1 ? [`Layers ${layerNumbers[0]}–${layerNumbers[layerNumbers.length - 1]}`] : layerNumbers.map(l => `Layer ${l}`);
    const columns = single ? [AGGREGATION_LABELS[aggregation]] : shown.map(h => `H${h}`);
    const stat = local.tintStat;
    const tint = stat && !single && stats[stat] ? { name: STAT_LABELS[stat] ?? stat, values: stats[stat], norm: normalizeStat(stats[stat]) } : null;
    const detail = local.detail
      ? {
          title: `${rows[local.detail.layer]}, ${single ? columns[0] : `Head ${local.detail.head}`}`,
          selection: { slice, layer: local.detail.layer, heads: [local.detail.head] },
          signed,
          mode: resolveMode('auto', n, tiled || signed)
        }
      : null;
    const model: ModelPlan = { slice: thumbSlice(slice), rows, heads: shown, columns, width: local.width, selected: local.detail, groupSize, signed, tint };
    return plan({ kind: 'model', model, detail }, stat === PENDING_STAT && !statsReady && !single);
  }
  if (view === 'neuron' && neuron) {
    const layer = Math.max(0, layerNumbers.indexOf(traits.get('layer')));
    const qkLayer = neuron.layers.indexOf(layerNumbers[layer]);
    const raw = sliceFor(data.blocks, rawTokens(traits), filter);
    return plan({ kind: 'neuron', slice: raw, data: neuron, layer, qkLayer, head: traits.get('head') });
  }
  if (view === 'generation' && generation) return plan({ kind: 'generation', generation });
  if (view === 'summary') {
    if (!statsReady) return plan({ kind: 'message', text: canStats ? COMPUTING_STATS : 'no head statistics for this widget' }, canStats);
    return plan({ kind: 'summary', stats, layerNumbers, headNumbers: traits.get('head_numbers') });
  }
  const selection = { slice, layer: layerIndex, heads };
  if (mode === 'lines') return plan({ kind: 'lines', selection, coverage: resolveCoverage(local.coverage, n) });
  return plan({ kind: 'heatmap', selection, signed });
}

/** Which work a trait's change needs: decode a payload, prepare the blocks again, or only redraw. */
export const TRAIT_EFFECTS: Record<keyof Traits, 'attention' | 'neuron' | 'stats' | 'prepare' | 'view' | 'draw' | 'none'> = {
  tokens: 'prepare',
  decoder_tokens: 'prepare',
  sentence_b_start: 'prepare',
  attention_data: 'attention',
  layer_numbers: 'draw',
  head_numbers: 'draw',
  num_kv_heads: 'draw',
  neuron_data: 'neuron',
  aggregation_data: 'attention',
  aggregation_notes: 'draw',
  special_positions: 'prepare',
  decoder_special_positions: 'prepare',
  head_stats: 'stats',
  signed: 'prepare',
  steps: 'draw',
  stats_requested: 'none',
  view: 'view',
  aggregation: 'prepare',
  hide_special: 'prepare',
  layer: 'draw',
  heads: 'draw',
  head: 'draw',
  include_heads: 'draw',
  attention_filter: 'draw',
  mode: 'draw',
  theme: 'draw',
  prompt_length: 'draw',
  token_probs: 'draw',
  top_tokens: 'draw',
  entropy: 'draw',
  step: 'draw'
};
