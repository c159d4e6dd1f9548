import { describe, expect, it } from 'vitest';
import { decodeBlock } from '../protocol/decode';
import { filterOptions, hideSpecialTokens, sliceFor } from './layout';

const block = (q: number, k: number) => decodeBlock({ shape: [1, 1, q, k], dtype: 'uint8', scale: [[1]], layers: [new Uint8Array(q * k)] });

describe('filters', () => {
  const tokens = { tokens: ['[CLS]', 'a', '[SEP]', 'b', 'c', '[SEP]'], decoderTokens: [], sentenceBStart: 3 };

  it('offers the sentence-pair filters only with a pair', () => {
    expect(filterOptions({ self: block(6, 6) }, tokens).map(o => o.value)).toEqual(['all', 'aa', 'bb', 'ab', 'ba']);
    expect(filterOptions({ self: block(6, 6) }, { ...tokens, sentenceBStart: null }).map(o => o.value)).toEqual(['all']);
  });

  it('slices A→B as queries from A, keys from B', () => {
    const s = sliceFor({ self: block(6, 6) }, tokens, 'ab');
    expect([s.q0, s.q1, s.k0, s.k1]).toEqual([0, 3, 3, 6]);
    expect(s.queryTokens).toEqual(['[CLS]', 'a', '[SEP]']);
    expect(s.keyTokens).toEqual(['b', 'c', '[SEP]']);
  });

  it('uses decoder queries and encoder keys for cross attention', () => {
    const blocks = { encoder: block(4, 4), decoder: block(2, 2), cross: block(2, 4) };
    const t = { tokens: ['x', 'y', 'z', 'w'], decoderTokens: ['<s>', 'X'], sentenceBStart: null };
    expect(filterOptions(blocks, t).map(o => o.label)).toEqual(['Encoder', 'Decoder', 'Cross']);
    const s = sliceFor(blocks, t, 'cross');
    expect(s.queryTokens).toEqual(['<s>', 'X']);
    expect(s.keyTokens).toEqual(['x', 'y', 'z', 'w']);
    expect(sliceFor(blocks, t, 'all').kind).toBe('encoder'); // an unavailable filter falls back
  });
});

describe('hideSpecialTokens', () => {
  it('drops special tokens from the tokens and moves sentence B to its new start', () => {
    const t = { tokens: ['[CLS]', 'a', '[SEP]', 'b', 'c', '[SEP]'], decoderTokens: [], sentenceBStart: 3 };
    const { blocks, tokens } = hideSpecialTokens({ self: block(6, 6) }, t, [0, 2, 5], [], true);
    expect(tokens).toEqual({ tokens: ['a', 'b', 'c'], decoderTokens: [], sentenceBStart: 1 });
    expect([blocks.self!.queries, blocks.self!.keys]).toEqual([3, 3]);
    expect(sliceFor(blocks, tokens, 'ab').keyTokens).toEqual(['b', 'c']);
  });
});
