/** The TypeScript side of the wire format against attn_widget/wire_schema.json (Python checks its side). */

import { describe, expect, it } from 'vitest';
import schema from '../../attn_widget/wire_schema.json';
import {
  BLOCK_FIELDS,
  DTYPES,
  decodeBlock,
  decodeNeuron,
  decodeStats,
  decodeTile,
  NEURON_FIELDS,
  STATS_FIELDS,
  THUMBS_FIELDS,
  TILE_RESULT_FIELDS
} from './protocol/decode';
import type { BlockState, NeuronState } from './protocol/model';
import { StandaloneModel } from './protocol/standalone';
import { TileClient } from './protocol/tiles';
import { AGGREGATION_LABELS, TRAIT_EFFECTS } from './state/derive';
import { GENERATION_TRAITS } from './state/generation';
import { filterOptions } from './state/layout';

const sorted = (xs: Iterable<string>) => [...xs].sort();
const required = (fields: Record<string, boolean>) => sorted(Object.keys(fields).filter(k => fields[k]));
const optional = (fields: Record<string, boolean>) => sorted(Object.keys(fields).filter(k => !fields[k]));

describe('wire schema (attn_widget/wire_schema.json)', () => {
  it('declares the same traits as the JS model type', () => {
    expect(sorted(Object.keys(TRAIT_EFFECTS))).toEqual(sorted(Object.keys(schema.traits)));
  });

  it('marks the traits only GenerationWidget has, which the JS reads as optional', () => {
    const subclass = Object.entries(schema.traits).filter(([, spec]) => (spec as { subclass?: string }).subclass === 'GenerationWidget');
    // `step` is shared with from_run widgets (training step), so it is on every widget.
    expect(sorted(subclass.map(([name]) => name))).toEqual(sorted(GENERATION_TRAITS.filter(name => name !== 'step')));
    expect((schema.traits.step as { subclass?: string }).subclass).toBeUndefined();
    expect(schema.traits.view.subclass_values).toEqual({ GenerationWidget: ['generation'] });
  });

  it('has the enum values the JS offers', () => {
    expect(sorted(Object.keys(AGGREGATION_LABELS))).toEqual(sorted(schema.traits.aggregation.values));
    expect(schema.traits.attention_data.keys).toEqual(['self', 'encoder', 'decoder', 'cross']);
    const pair = { tokens: ['a', 'b'], decoderTokens: [], sentenceBStart: 1 };
    const block = decodeBlock({ shape: [1, 1, 2, 2], dtype: 'uint8', scale: [[1]], layers: [new Uint8Array(4)] });
    const offered = [...filterOptions({ self: block }, pair), ...filterOptions({ encoder: block, decoder: block, cross: block }, pair)].map(o => o.value);
    expect(sorted(offered)).toEqual(sorted(schema.traits.attention_filter.values));
  });

  it('decodes exactly the block fields and dtypes of the schema', () => {
    expect(required(BLOCK_FIELDS)).toEqual(sorted(schema.block.fields));
    expect(optional(BLOCK_FIELDS)).toEqual(sorted(schema.block.optional));
    expect(required(THUMBS_FIELDS)).toEqual(sorted(schema.block.thumbs_fields));
    expect(sorted(Object.keys(DTYPES))).toEqual(sorted(Object.keys(schema.block.dtypes)));
    for (const [name, spec] of Object.entries(schema.block.dtypes)) expect(DTYPES[name as BlockState['dtype']].bytes).toBe(spec.bytes);
    const good: BlockState = { shape: [1, 1, 1, 2], dtype: 'uint8', scale: [[0.5]], layers: [Uint8Array.from([255, 0])] };
    for (const field of schema.block.fields) {
      const { [field as keyof BlockState]: _, ...without } = good;
      expect(() => decodeBlock(without as BlockState)).toThrow(`attention block: missing ${field}`);
    }
    expect(() => decodeBlock({ ...good, dtype: 'float32' as 'uint8' })).toThrow("unknown dtype 'float32' (expected uint8 or float16)");
  });

  it('decodes the neuron and stats payloads with the schema fields', () => {
    expect(required(NEURON_FIELDS)).toEqual(sorted(schema.neuron.fields));
    expect(required(STATS_FIELDS)).toEqual(sorted(schema.stats.fields));
    const { causal: _, ...neuron } = {
      shape: [1, 1, 1, 1],
      head_dim: 1,
      dtype: 'float16',
      layers: [0],
      scaling: [1],
      queries: [new Uint8Array(2)],
      keys: [new Uint8Array(2)],
      causal: false
    } as NeuronState;
    expect(() => decodeNeuron(neuron as NeuronState)).toThrow('neuron data: missing causal');
    expect(() => decodeStats({ names: ['entropy'], shape: [1, 1] } as never)).toThrow('head statistics: missing values');
  });

  it('sends tile requests with the schema params and reads its result fields', async () => {
    const tile = schema.rpc.methods.tile;
    expect(required(TILE_RESULT_FIELDS)).toEqual(sorted(tile.result));
    const sent: Record<string, unknown>[] = [];
    const client = new TileClient({ send: (m: Record<string, unknown>) => sent.push(m), on: () => {}, off: () => {} }, 1024, 10);
    const request = { kind: 'self' as const, layer: 0, heads: [0], q0: 0, q1: 1, k0: 0, k1: 1, step: 1 };
    await client.get({ ...request, rows: 1 } as typeof request).catch(() => {});
    expect(sorted(Object.keys(sent[0]))).toEqual(sorted(['rpc', ...schema.rpc.request.fields]));
    expect(sent[0].rpc).toBe(schema.rpc.request.rpc);
    expect(sorted(Object.keys(sent[0].params as object))).toEqual(sorted(tile.params));
    expect(() => decodeTile(request, { rows: 1, cols: 1 } as never, new Uint8Array(1))).toThrow('tile: missing scale');
  });

  it('answers requests on exported pages with an error response of the schema', async () => {
    const model = new StandaloneModel({} as never);
    const got: Record<string, unknown>[] = [];
    model.on('msg:custom', (m: Record<string, unknown>) => got.push(m));
    model.send({ rpc: 'request', id: 'x-1', method: 'tile', params: {} });
    await Promise.resolve();
    expect(got).toEqual([{ rpc: schema.rpc.response.rpc, id: 'x-1', error: 'this exported page has no kernel' }]);
    expect(schema.rpc.response.fields).toEqual(expect.arrayContaining(Object.keys(got[0]).filter(k => k !== 'rpc')));
  });
});
