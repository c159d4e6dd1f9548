/**
 * Generation view state (no DOM): which tokens are revealed at step s, which attention row a focused
 * token shows, the averaged row over heads/layers, the top-k strip and keyboard focus moves.
 *
 * Positions: tokens[0..promptLength) are the prompt, generated token s (0-based) is at
 * promptLength + s. Its probability, alternatives and entropy (token_probs[s], top_tokens[s],
 * entropy[s]) come from the step that chose it, whose query is the previous position.
 */

import type { AttentionBlock, Tile } from '../protocol/decode';
import type { Kind, TileRequest, Traits } from '../protocol/model';
import type { Blocks, Slice } from './layout';
import { tileWeight } from './pool';

/** The traits only attn_widget.generation_widget.GenerationWidget has (the schema's "subclass"). */
export const GENERATION_TRAITS = ['prompt_length', 'token_probs', 'top_tokens', 'entropy', 'step'] as const;

/** Those traits' values, present. */
export type GenerationTraits = Required<Pick<Traits, (typeof GENERATION_TRAITS)[number]>>;

/** Reads traits (an anywidget model does). */
interface TraitReader {
  get<K extends keyof Traits>(key: K): Traits[K];
}

/** Which row a focused token shows: its own (what it attended to) or the one of the step that chose it. */
export type RowChoice = 'token' | 'chooser';
/** Averaged over the selected heads of the shown layer, over every layer and head, or one head (`head:3`) of the shown layer. */
export type Pooling = 'heads' | 'all' | `head:${number}`;

/** The (stored) layers and heads a pooling averages over. */
export function poolSelection(pooling: Pooling, layerIndex: number, selected: number[], layers: number, heads: number): { layers: number[]; heads: number[] } {
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  if (pooling === 'all') return { layers: range(layers), heads: range(heads) };
  const layer = [Math.max(0, Math.min(layerIndex, layers - 1))];
  if (pooling.startsWith('head:')) {
    const h = Number(pooling.slice(5));
    return { layers: layer, heads: h >= 0 && h < heads ? [h] : [] };
  }
  return { layers: layer, heads: selected.filter(h => h >= 0 && h < heads) };
}

/** Tokens shown at `step` (prompt + the first `step` generated), clamped to what there is. */
export function visibleCount(promptLength: number, total: number, step: number): number {
  return Math.max(promptLength, Math.min(total, promptLength + Math.max(0, step)));
}

/** The attention row (query position) shown for the token at `position`. */
export function rowFor(position: number, choice: RowChoice): number {
  return choice === 'chooser' ? Math.max(0, position - 1) : position;
}

/** Most tokens a strip shows at once (long generations: a window, so a step repaints in bounded time). */
export const STRIP_WINDOW = 400;

/** Token positions [start, end) a strip shows: the last `size` visible ones, moved back to include `focus`. */
export function stripWindow(visible: number, focus: number, size = STRIP_WINDOW): [number, number] {
  let start = Math.max(0, visible - size);
  if (focus < start) start = Math.max(0, focus);
  return [start, Math.min(visible, start + size)];
}

/** Index of generated token at `position` in token_probs/top_tokens, or -1 for a prompt token. */
export function generatedIndex(position: number, promptLength: number): number {
  return position >= promptLength ? position - promptLength : -1;
}

/** Focus after a key: ←/→ move one token, Home/End jump; stays within the visible tokens. `null`: not a navigation key. */
export function moveFocus(key: string, focus: number, visible: number): number | null {
  const last = visible - 1;
  switch (key) {
    case 'ArrowLeft':
      return Math.max(0, focus - 1);
    case 'ArrowRight':
      return Math.min(last, focus + 1);
    case 'Home':
      return 0;
    case 'End':
      return last;
    default:
      return null;
  }
}

/** One bar of the top-k strip: an alternative, its probability, and whether it was the token chosen. */
export interface TopBar {
  token: string;
  prob: number;
  chosen: boolean;
}

/** The top-k alternatives of generated token `index`, the chosen one marked (appended when it is not among them, e.g. sampled). */
export function topStrip(traits: Pick<GenerationTraits, 'top_tokens' | 'token_probs'>, index: number, chosen: string): TopBar[] {
  const alts = traits.top_tokens[index] ?? [];
  const bars = alts.map(([token, prob]) => ({ token, prob, chosen: token === chosen }));
  if (!bars.some(b => b.chosen) && index < traits.token_probs.length) bars.push({ token: chosen, prob: traits.token_probs[index], chosen: true });
  return bars;
}

/** The tile requests of one query row: per layer, the given heads, every key. */
export function rowRequests(kind: TileRequest['kind'], block: AttentionBlock, layers: number[], heads: number[], row: number): TileRequest[] {
  return layers.map(layer => ({ kind, layer, heads, q0: row, q1: row + 1, k0: 0, k1: block.keys, step: 1 }));
}

/** Mean over the tiles' heads (and over the tiles, one per layer) of a one-row window: `keys` weights. */
export function meanRow(tiles: Tile[], keys: number): Float32Array {
  const out = new Float32Array(keys);
  let n = 0;
  for (const t of tiles) {
    for (let i = 0; i < t.heads.length; i++) {
      for (let c = 0; c < Math.min(t.cols, keys); c++) out[c] += tileWeight(t, i, 0, c);
      n++;
    }
  }
  if (n) for (let c = 0; c < keys; c++) out[c] /= n;
  return out;
}

/** The `count` strongest keys of a row, strongest first: [position, weight]. */
export function strongest(row: Float32Array, count: number, limit = row.length): [number, number][] {
  return Array.from(row.subarray(0, limit), (w, k) => [k, w] as [number, number])
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, count);
}

/**
 * What the generation view draws: the decoder's tokens and self-attention, the cross-attention of an
 * encoder-decoder model, and the shown layer and selected heads (the head view's).
 */
export interface GenerationPlan {
  traits: GenerationTraits;
  /** Decoder tokens (prompt + generated). */
  tokens: string[];
  /** Self-attention of those tokens: kind 'self' (decoder-only) or 'decoder'. */
  kind: Kind;
  block: AttentionBlock;
  /** Encoder-decoder: cross-attention and the source tokens. */
  cross?: { block: AttentionBlock; tokens: string[] };
  /** Stored index and label of the layer shown, and the selected heads. */
  layerIndex: number;
  layerLabel: string;
  heads: number[];
}

/** The generation view's plan, or null when the widget has no generation (not a GenerationWidget). */
export function generationPlan(traits: TraitReader, blocks: Blocks, layerIndex: number, heads: number[]): GenerationPlan | null {
  const promptLength = traits.get('prompt_length');
  const kind: Kind = blocks.self ? 'self' : 'decoder';
  const block = blocks[kind];
  if (!promptLength || !block) return null;
  const layerNumbers = traits.get('layer_numbers');
  return {
    traits: {
      prompt_length: promptLength,
      token_probs: traits.get('token_probs') ?? [],
      top_tokens: traits.get('top_tokens') ?? [],
      entropy: traits.get('entropy') ?? [],
      step: traits.get('step') ?? 0
    },
    tokens: kind === 'self' ? traits.get('tokens') : traits.get('decoder_tokens'),
    kind,
    block,
    cross: blocks.cross && { block: blocks.cross, tokens: traits.get('tokens') },
    layerIndex,
    layerLabel: `Layer ${layerNumbers[layerIndex] ?? layerIndex}`,
    heads
  };
}

/**
 * The head/model views' slice restricted to the generated rows revealed at `step` (queries
 * promptLength … promptLength + step − 1; self-attention keys up to the last of them). Encoder rows,
 * and step 0 (nothing generated shown yet), keep the whole slice.
 */
export function generatedSlice(slice: Slice, promptLength: number, step: number): Slice {
  if (slice.kind === 'encoder' || step <= 0 || promptLength <= 0) return slice;
  const q0 = Math.max(slice.q0, promptLength);
  const q1 = Math.min(slice.q1, promptLength + step);
  if (q1 <= q0) return slice;
  const k1 = slice.kind === 'cross' ? slice.k1 : Math.min(slice.k1, q1);
  return {
    ...slice,
    q0,
    q1,
    k1,
    queryTokens: slice.queryTokens.slice(q0 - slice.q0, q1 - slice.q0),
    keyTokens: slice.keyTokens.slice(0, k1 - slice.k0)
  };
}

/** The head and model views of a GenerationWidget show the generated rows revealed so far; other widgets'
 * slices pass through, and so do slices with special tokens hidden (their positions no longer match). */
export function restrictToGeneration(slice: Slice, traits: TraitReader, view: string): Slice {
  const promptLength = traits.get('prompt_length') ?? 0;
  const restrict = promptLength > 0 && (view === 'head' || view === 'model') && !traits.get('hide_special');
  return restrict ? generatedSlice(slice, promptLength, traits.get('step') ?? 0) : slice;
}
