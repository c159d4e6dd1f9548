/** Which block and which token ranges a filter shows (All, A→A, B→B, A→B, B→A, Encoder/Decoder/Cross). */

import type { AttentionBlock } from '../protocol/decode';
import type { Filter, Kind } from '../protocol/model';
import { hideSpecial, keptPositions } from './blocks';

export type Blocks = Partial<Record<Kind, AttentionBlock>>;

export interface Slice {
  kind: Kind;
  block: AttentionBlock;
  /** Query positions shown: [start, end). */
  q0: number;
  q1: number;
  /** Key positions shown: [start, end). */
  k0: number;
  k1: number;
  queryTokens: string[];
  keyTokens: string[];
}

interface FilterOption {
  value: Filter;
  label: string;
}

export interface Tokens {
  tokens: string[];
  decoderTokens: string[];
  sentenceBStart: number | null;
}

/** The filters that make sense for these blocks and tokens. */
export function filterOptions(blocks: Blocks, t: Tokens): FilterOption[] {
  if (blocks.self) {
    const options: FilterOption[] = [{ value: 'all', label: 'All' }];
    if (t.sentenceBStart !== null && t.sentenceBStart > 0 && t.sentenceBStart < t.tokens.length) {
      options.push(
        { value: 'aa', label: 'Sentence A → Sentence A' },
        { value: 'bb', label: 'Sentence B → Sentence B' },
        { value: 'ab', label: 'Sentence A → Sentence B' },
        { value: 'ba', label: 'Sentence B → Sentence A' }
      );
    }
    return options;
  }
  const labels: Record<string, string> = { encoder: 'Encoder', decoder: 'Decoder', cross: 'Cross' };
  return (['encoder', 'decoder', 'cross'] as const).filter(k => blocks[k]).map(k => ({ value: k, label: labels[k] }));
}

/**
 * Blocks and tokens without the special positions (`special` in tokens, `decoderSpecial` in decoder
 * tokens); rows renormalised unless `renormalize` is false (differences). Sentence B's start follows.
 */
export function hideSpecialTokens(
  blocks: Blocks,
  t: Tokens,
  special: number[],
  decoderSpecial: number[],
  renormalize: boolean
): { blocks: Blocks; tokens: Tokens } {
  const keep = keptPositions(t.tokens.length, special);
  const keepDec = keptPositions(t.decoderTokens.length, decoderSpecial);
  const axes: Record<Kind, [number[], number[]]> = { self: [keep, keep], encoder: [keep, keep], decoder: [keepDec, keepDec], cross: [keepDec, keep] };
  const out: Blocks = {};
  for (const [kind, block] of Object.entries(blocks) as [Kind, AttentionBlock][]) out[kind] = hideSpecial(block, ...axes[kind], renormalize);
  const b = t.sentenceBStart;
  return {
    blocks: out,
    tokens: {
      tokens: keep.map(i => t.tokens[i]),
      decoderTokens: keepDec.map(i => t.decoderTokens[i]),
      sentenceBStart: b === null ? null : keep.filter(i => i < b).length
    }
  };
}

export function sliceFor(blocks: Blocks, t: Tokens, filter: Filter): Slice {
  const options = filterOptions(blocks, t).map(o => o.value);
  const f = options.includes(filter) ? filter : options[0];
  if (f === 'encoder' || f === 'decoder' || f === 'cross') {
    const block = blocks[f] as AttentionBlock;
    const queryTokens = f === 'encoder' ? t.tokens : t.decoderTokens;
    const keyTokens = f === 'decoder' ? t.decoderTokens : t.tokens;
    return { kind: f, block, q0: 0, q1: block.queries, k0: 0, k1: block.keys, queryTokens, keyTokens };
  }
  const block = blocks.self as AttentionBlock;
  const n = block.keys;
  const b = t.sentenceBStart ?? n;
  const a: [number, number] = [0, b];
  const bb: [number, number] = [b, n];
  const all: [number, number] = [0, n];
  const [qr, kr] = ({ all: [all, all], aa: [a, a], bb: [bb, bb], ab: [a, bb], ba: [bb, a] } as const)[f];
  return {
    kind: 'self',
    block,
    q0: qr[0],
    q1: qr[1],
    k0: kr[0],
    k1: kr[1],
    queryTokens: t.tokens.slice(qr[0], qr[1]),
    keyTokens: t.tokens.slice(kr[0], kr[1])
  };
}
