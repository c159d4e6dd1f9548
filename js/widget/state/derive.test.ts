import { describe, expect, it } from 'vitest';
import { decodeBlock } from '../protocol/decode';
import type { BlockState, Traits } from '../protocol/model';
import {
  COMPUTING_STATS,
  type Decoded,
  derive,
  hideRefusal,
  type Local,
  PENDING_STAT,
  prepare,
  resolveCoverage,
  resolveMode,
  type TraitReader
} from './derive';

const n = 4;
const blockState = (layers = 2, heads = 3): BlockState => ({
  shape: [layers, heads, n, n],
  dtype: 'uint8',
  scale: Array.from({ length: layers }, () => Array(heads).fill(1)),
  layers: Array.from({ length: layers }, () => new Uint8Array(heads * n * n).fill(64))
});
const statsState = { names: ['entropy'], shape: [2, 3] as [number, number], values: new DataView(new Float32Array(6).fill(0.5).buffer) };

function traits(over: Partial<Traits> = {}): TraitReader {
  const t: Traits = {
    tokens: ['[CLS]', 'a', 'b', '[SEP]'],
    decoder_tokens: [],
    sentence_b_start: null,
    attention_data: { self: blockState() },
    layer_numbers: [0, 1],
    head_numbers: [],
    num_kv_heads: 0,
    neuron_data: {},
    aggregation_data: {},
    aggregation_notes: {},
    special_positions: [0, 3],
    decoder_special_positions: [],
    head_stats: {},
    signed: false,
    steps: [],
    stats_requested: false,
    view: 'head',
    aggregation: 'raw',
    hide_special: false,
    layer: 1,
    heads: [0, 2],
    head: 0,
    include_heads: [],
    attention_filter: 'all',
    mode: 'auto',
    theme: 'auto',
    step: 0,
    ...over
  };
  return { get: key => t[key] };
}

const local: Local = { tintStat: '', coverage: 'auto', width: 800, detail: null };

function plan(over: Partial<Traits> = {}, loc: Partial<Local> = {}, data?: Partial<Decoded>) {
  const tr = traits(over);
  const decoded: Decoded = {
    blocks: { self: decodeBlock(tr.get('attention_data').self) },
    aggregated: {},
    neuron: null,
    stats: {},
    ...data
  };
  return derive(tr, decoded, prepare(tr, decoded), { ...local, ...loc });
}

describe('derive (what to draw from the traits)', () => {
  it('draws the selected heads of the selected layer as lines for short inputs', () => {
    const p = plan();
    expect(p.body.kind).toBe('lines');
    if (p.body.kind !== 'lines') return;
    expect([p.body.selection.layer, p.body.selection.heads, p.body.coverage]).toEqual([1, [0, 2], 1]);
    expect(p.toolbar.views.map(v => v.value)).toEqual(['head', 'model', 'summary']);
    expect(p.needsStats).toBe(false);
  });

  it('switches to the heatmap when asked, and for signed data always', () => {
    expect(plan({ mode: 'heatmap' }).body.kind).toBe('heatmap');
    const signed = plan({ mode: 'lines', signed: true });
    expect(signed.body.kind).toBe('heatmap');
    expect(signed.toolbar.modes).toEqual([{ value: 'lines', label: 'Heatmap (a − b)' }]);
    expect(signed.toolbar.views.map(v => v.value)).toEqual(['head', 'model']); // no statistics of differences
  });

  it('hides special tokens when asked, with the neuron view refusing', () => {
    const tr = traits({ hide_special: true });
    const decoded = { blocks: { self: decodeBlock(blockState()) }, aggregated: {}, neuron: null, stats: {} };
    expect(prepare(tr, decoded).tokens.tokens).toEqual(['a', 'b']);
    expect(hideRefusal(traits({ view: 'neuron' }), decoded)).toMatch(/neuron view/);
  });

  it('lays out the model view with the opened head below it', () => {
    const p = plan({ view: 'model', include_heads: [1, 2] }, { detail: { layer: 0, head: 2 } });
    expect(p.body.kind).toBe('model');
    if (p.body.kind !== 'model') return;
    expect(p.body.model.rows).toEqual(['Layer 0', 'Layer 1']);
    expect(p.body.model.columns).toEqual(['H1', 'H2']);
    expect(p.body.detail?.title).toBe('Layer 0, Head 2');
  });

  it('asks for head statistics when the summary or "Colour by" needs them, and says it is computing', () => {
    const summary = plan({ view: 'summary' });
    expect(summary.needsStats).toBe(true);
    expect(summary.body).toEqual({ kind: 'message', text: COMPUTING_STATS });
    const tint = plan({ view: 'model' }, { tintStat: PENDING_STAT });
    expect(tint.needsStats).toBe(true);
    expect(tint.toolbar.stats).toEqual({ [PENDING_STAT]: COMPUTING_STATS });
    expect(plan({ view: 'model' }).needsStats).toBe(false); // nothing asked yet
  });

  it('shows the summary and tints thumbnails once statistics are there', () => {
    const stats = {
      entropy: [
        [0.1, 0.5, 0.9],
        [0.2, 0.2, 0.2]
      ]
    };
    const summary = plan({ view: 'summary', head_stats: statsState }, {}, { stats });
    expect(summary.body.kind).toBe('summary');
    expect(summary.needsStats).toBe(false);
    const tint = plan({ view: 'model' }, { tintStat: 'entropy' }, { stats });
    expect(tint.toolbar.stats).toEqual({ entropy: 'Entropy (nats)' });
    if (tint.body.kind !== 'model') throw new Error('model view expected');
    expect(tint.body.model.tint?.norm[0]).toEqual([0, 0.5, 1]);
  });

  it('offers the generation view (first) only to a GenerationWidget, whose head view shows the revealed generated rows', () => {
    expect(plan({ view: 'generation' }).toolbar.views.map(v => v.value)).not.toContain('generation');
    expect(plan({ view: 'generation' }).body.kind).toBe('lines'); // an AttentionWidget has no generation: the head view
    const generated = { prompt_length: 2, token_probs: [0.5, 0.25], top_tokens: [[], []], entropy: [1, 2], step: 1 };
    const p = plan({ ...generated, view: 'generation' });
    expect(p.toolbar.views[0]).toEqual({ value: 'generation', label: 'Generation' });
    if (p.body.kind !== 'generation') throw new Error('generation view expected');
    const g = p.body.generation;
    expect([g.kind, g.tokens, g.traits.step, g.layerLabel, g.heads]).toEqual(['self', ['[CLS]', 'a', 'b', '[SEP]'], 1, 'Layer 1', [0, 2]]);
    const head = plan({ ...generated, view: 'head' });
    if (head.body.kind !== 'lines') throw new Error('lines expected');
    const slice = head.body.selection.slice;
    expect([slice.q0, slice.q1, slice.k1, slice.queryTokens]).toEqual([2, 3, 3, ['b']]); // step 1: the first generated row
  });

  it('resolves auto drawing and link pruning by length', () => {
    expect([resolveMode('auto', 96), resolveMode('auto', 97), resolveMode('lines', 500, true)]).toEqual(['lines', 'heatmap', 'heatmap']);
    expect([resolveCoverage('auto', 64), resolveCoverage('auto', 65), resolveCoverage('0.5', 10)]).toEqual([1, 0.7, 0.5]);
  });
});
