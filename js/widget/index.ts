/**
 * attn-widget's anywidget module: `render({ model, el })` builds the toolbar and the head, model or
 * neuron view, and keeps them in sync with the Python traits both ways.
 */

import './widget.css';
import { decodeAll } from './data';
import { filterOptions, hideSpecialTokens, sliceFor, type Blocks, type Tokens } from './layout';
import { HeadView, type DrawMode } from './headView';
import { HeatmapView, type HeatmapState } from './heatmap';
import { denseTile, thumbSlice, thumbTile, TileClient, type TileRequest } from './tiles';
import type { AttentionBlock } from './data';
import { ModelView } from './modelView';
import { decodeStats, normalizeStat, STAT_LABELS, SummaryView } from './summary';
import { decodeNeuron } from './neuron';
import { NeuronView } from './neuronView';
import { AGGREGATION_LABELS, Toolbar, type Commit } from './toolbar';
import { ImageExport } from './imageExport';
import { GENERATION_TRAITS, GenerationView, generationState, restrictToGeneration } from './generationView';
import { applyTheme, watchTheme } from './theme';
import type { WidgetModel } from './model';

export { mountStandalone } from './standalone';

/** Heatmap instead of lines above this many tokens in 'auto' mode. */
export const AUTO_HEATMAP_TOKENS = 96;

/** Lines mode keeps each query's links up to this share of its weight above this many tokens (exBERT's 0.7). */
export const AUTO_PRUNE_TOKENS = 64;

export function resolveMode(mode: 'auto' | DrawMode, tokens: number, heatmapOnly = false): DrawMode {
  if (heatmapOnly) return 'heatmap'; // tiled (only windows of the weights are here) or signed differences
  return mode === 'auto' ? (tokens > AUTO_HEATMAP_TOKENS ? 'heatmap' : 'lines') : mode;
}

export function resolveCoverage(setting: string, tokens: number): number {
  return setting === 'auto' ? (tokens > AUTO_PRUNE_TOKENS ? 0.7 : 1) : Number(setting);
}

export function render({ model, el }: { model: WidgetModel; el: HTMLElement }): () => void {
  const root = document.createElement('div');
  root.className = 'attn-widget';
  const body = document.createElement('div');
  body.className = 'aw-body';
  const tooltip = document.createElement('div');
  tooltip.className = 'aw-tooltip';
  tooltip.hidden = true;
  root.append(body, tooltip);
  el.append(root);

  const commit: Commit = changes => {
    for (const [k, v] of Object.entries(changes)) model.set(k as 'view', v as 'head');
    model.save_changes();
  };
  const toolbar = new Toolbar(commit, () => draw(), text => heatmap.search(text));
  root.prepend(toolbar.el);

  const headView = new HeadView(tooltip);
  const tiles = new TileClient(model);
  const onTile = () => (root.dataset.tiles = String(Number(root.dataset.tiles ?? 0) + 1));
  const heatmap = new HeatmapView(tooltip, onTile);
  const detailHeatmap = new HeatmapView(tooltip, onTile);
  /** Tiles of a block: pooled here when dense; from the kernel when tiled (thumbnails if no kernel answers). */
  const fetchFor = (block: AttentionBlock): HeatmapState['fetch'] =>
    block.tiled ? (r: TileRequest) => tiles.get(r).catch(() => thumbTile(block, r)) : (r: TileRequest) => denseTile(block, r);
  const images = new ImageExport(model, root, body, headView);
  toolbar.el.append(images.el);
  const neuronView = new NeuronView(tooltip);
  const generationView = new GenerationView(step => commit({ step } as never));
  const modelView = new ModelView(tooltip, (layerIndex, head) => {
    detail = { layer: layerIndex, head };
    const layer = model.get('layer_numbers')[Math.min(layerIndex, model.get('layer_numbers').length - 1)];
    commit(model.get('aggregation') === 'raw' || model.get('aggregation') === 'value' ? { layer, heads: [head] } : { layer });
  });
  const summaryView = new SummaryView((layerIndex, head) =>
    commit({ view: 'head', aggregation: 'raw', layer: model.get('layer_numbers')[layerIndex], heads: [head] })
  );
  const detailBox = document.createElement('div');
  detailBox.className = 'aw-detail';
  const detailTitle = document.createElement('div');
  detailTitle.className = 'aw-detail-title';
  const close = document.createElement('button');
  close.type = 'button';
  close.className = 'aw-close';
  close.textContent = '×';
  close.title = 'Close';
  close.addEventListener('click', () => {
    detail = null;
    draw();
  });
  const detailView = new HeadView(tooltip);
  detailBox.append(detailTitle, close, detailView.el);
  let detail: { layer: number; head: number } | null = null;

  let blocks = decodeAll(model.get('attention_data'));
  let aggregated = decodeAll<string>(model.get('aggregation_data'));
  let neuron = decodeNeuron(model.get('neuron_data'));
  let stats = decodeStats(model.get('head_stats'));
  const rawTokens = (): Tokens => ({
    tokens: model.get('tokens'),
    decoderTokens: model.get('decoder_tokens'),
    sentenceBStart: model.get('sentence_b_start')
  });
  /** Why special tokens cannot be hidden now ('' when they can). */
  const hideRefusal = (): string =>
    Object.values(blocks).some(b => b.tiled)
      ? 'tiled transport: only thumbnails are in the browser, rows cannot be renormalised'
      : model.get('view') === 'neuron'
        ? 'the neuron view shows q·k of every token'
        : '';
  /** The blocks the head and model views draw: the weights or the chosen aggregation, special tokens hidden if asked. */
  function prepare(): { blocks: Blocks; tokens: Tokens } {
    const agg = aggregated[model.get('aggregation')];
    const source: Blocks = agg ? { self: agg } : blocks;
    const tokens = rawTokens();
    if (!model.get('hide_special') || hideRefusal()) return { blocks: source, tokens };
    return hideSpecialTokens(source, tokens, model.get('special_positions'), model.get('decoder_special_positions'), !model.get('signed'));
  }
  let prepared = prepare();
  let lastWidth = 0;
  let paints = 0;

  function draw(): void {
    const t0 = performance.now();
    const colors = applyTheme(root, model.get('theme'));
    const { tokens } = prepared;
    const layerNumbers = model.get('layer_numbers');
    const view = model.get('view');
    const filter = model.get('attention_filter');
    const slice = restrictToGeneration(sliceFor(prepared.blocks, tokens, filter), model, view);
    const aggregation = model.get('aggregation');
    /** Rollout/flow: one map per layer (flow: one for all layers), drawn as head 0. */
    const single = aggregation === 'rollout' || aggregation === 'flow';
    const layerIndex = slice.block.layers === 1 ? 0 : Math.max(0, layerNumbers.indexOf(model.get('layer')));
    const heads = single ? [0] : model.get('heads');
    const n = Math.max(slice.q1 - slice.q0, slice.k1 - slice.k0);
    const tiled = slice.block.tiled;
    const signed = model.get('signed');
    const mode = resolveMode(model.get('mode'), n, tiled || signed);
    const kvHeads = model.get('num_kv_heads');
    const groupSize = kvHeads > 0 && slice.block.heads % kvHeads === 0 ? slice.block.heads / kvHeads : 1;

    const views = [{ value: 'head', label: 'Head' }, { value: 'model', label: 'Model' }];
    if (neuron) views.push({ value: 'neuron', label: 'Neuron' });
    const generation = generationState(model, blocks, fetchFor, layerIndex, heads, colors);
    if (generation) views.unshift({ value: 'generation', label: 'Generation' });
    if (Object.keys(stats).length) views.push({ value: 'summary', label: 'Heads summary' });
    const refusal = hideRefusal();
    toolbar.sync({
      view,
      views,
      aggregation,
      aggregations: Object.keys(model.get('aggregation_data')),
      notes: model.get('aggregation_notes'),
      hideRefusal: refusal,
      hidden: model.get('hide_special') && !refusal,
      hasSpecial: model.get('special_positions').length + model.get('decoder_special_positions').length > 0,
      stats: Object.fromEntries(Object.keys(stats).map(k => [k, STAT_LABELS[k] ?? k])),
      layerNumbers,
      layerIndex,
      filters: filterOptions(blocks, tokens),
      filter: slice.kind === 'self' ? filter : slice.kind,
      modes: tiled || signed
        ? [{ value: model.get('mode'), label: tiled ? 'Heatmap (tiles)' : 'Heatmap (a − b)' }]
        : [{ value: 'auto', label: `Auto (${mode})` }, { value: 'lines', label: 'Lines' }, { value: 'heatmap', label: 'Heatmap' }],
      mode: model.get('mode'),
      drawing: mode,
      autoCoverage: resolveCoverage('auto', n),
      heads: slice.block.heads,
      selectedHeads: heads,
      head: model.get('head'),
      single,
      hasNeuron: !!neuron,
      singleLayer: slice.block.layers === 1
    });

    if (view === 'model') {
      const width = root.clientWidth || 960;
      lastWidth = width;
      const include = model.get('include_heads');
      const shown = single ? [0] : include.length ? include : Array.from({ length: slice.block.heads }, (_, h) => h);
      const rows = slice.block.layers === 1 ? [`Layers ${layerNumbers[0]}–${layerNumbers[layerNumbers.length - 1]}`] : layerNumbers.map(l => `Layer ${l}`);
      const columns = single ? [AGGREGATION_LABELS[aggregation]] : shown.map(h => `H${h}`);
      const stat = toolbar.tintStat;
      const tint = stat && !single && stats[stat] ? { name: STAT_LABELS[stat] ?? stat, values: stats[stat], norm: normalizeStat(stats[stat]) } : null;
      modelView.update({ slice: thumbSlice(slice), rows, heads: shown, columns, width, colors, selected: detail, groupSize, signed, tint });
      body.replaceChildren(modelView.el);
      if (detail) {
        detailTitle.textContent = `${rows[detail.layer]}, ${single ? columns[0] : `Head ${detail.head}`}`;
        const one = { slice, layer: detail.layer, heads: [detail.head], colors, signed };
        const lines = resolveMode('auto', n, tiled || signed) === 'lines';
        if (lines) detailView.update({ ...one, coverage: 1 });
        else detailHeatmap.update({ ...one, fetch: fetchFor(slice.block) });
        detailBox.replaceChildren(detailTitle, close, lines ? detailView.el : detailHeatmap.el);
        body.append(detailBox);
      }
    } else if (view === 'neuron' && neuron) {
      const layer = Math.max(0, layerNumbers.indexOf(model.get('layer')));
      const qkLayer = neuron.layers.indexOf(layerNumbers[layer]);
      const raw = sliceFor(blocks, rawTokens(), filter);
      neuronView.update({ slice: raw, data: neuron, layer, qkLayer, head: model.get('head'), colors });
      body.replaceChildren(neuronView.el);
    } else if ((view as string) === 'generation' && generation) {
      generationView.update(generation);
      body.replaceChildren(generationView.el);
    } else if (view === 'summary') {
      summaryView.update({ stats, layerNumbers, headNumbers: model.get('head_numbers') });
      body.replaceChildren(summaryView.el);
    } else {
      if (mode === 'lines') {
        headView.update({ slice, layer: layerIndex, heads, coverage: resolveCoverage(toolbar.coverage, n), colors });
        body.replaceChildren(headView.el);
      } else {
        heatmap.update({ slice, layer: layerIndex, heads, colors, signed, fetch: fetchFor(slice.block) });
        body.replaceChildren(heatmap.el);
      }
    }
    paints += 1;
    root.dataset.paints = String(paints);
    root.dataset.paintMs = (performance.now() - t0).toFixed(1);
  }

  const onData = () => {
    blocks = decodeAll(model.get('attention_data'));
    aggregated = decodeAll<string>(model.get('aggregation_data'));
    onPrepared();
  };
  const onPrepared = () => {
    prepared = prepare();
    hiding = model.get('hide_special') && !hideRefusal();
    draw();
  };
  /** Switching views re-prepares only when it turns hiding on or off (the neuron view refuses it). */
  let hiding = model.get('hide_special') && !hideRefusal();
  const onView = () => {
    const now = model.get('hide_special') && !hideRefusal();
    if (now !== hiding) prepared = prepare();
    hiding = now;
    draw();
  };
  const onStats = () => {
    stats = decodeStats(model.get('head_stats'));
    draw();
  };
  const onNeuron = () => {
    neuron = decodeNeuron(model.get('neuron_data'));
    draw();
  };
  const events: [string, () => void][] = [
    ['change:attention_data', onData],
    ['change:aggregation_data', onData],
    ['change:neuron_data', onNeuron],
    ['change:head_stats', onStats],
    ['change:view', onView],
    ...['tokens', 'decoder_tokens', 'sentence_b_start', 'aggregation', 'hide_special', 'special_positions', 'decoder_special_positions', 'signed'].map(
      k => [`change:${k}`, onPrepared] as [string, () => void]
    ),
    ...[...GENERATION_TRAITS, 'layer_numbers', 'layer', 'head', 'heads', 'include_heads', 'attention_filter', 'mode', 'theme', 'num_kv_heads', 'aggregation_notes', 'head_numbers'].map(
      k => [`change:${k}`, draw] as [string, () => void]
    )
  ];
  for (const [e, cb] of events) model.on(e, cb);
  const unwatch = watchTheme(draw);
  const resize = typeof ResizeObserver === 'function'
    ? new ResizeObserver(() => {
        if (model.get('view') === 'model' && Math.abs(root.clientWidth - lastWidth) > 24) draw();
      })
    : null;
  resize?.observe(root);
  draw();

  return () => {
    for (const [e, cb] of events) model.off(e, cb);
    unwatch();
    resize?.disconnect();
    images.dispose();
    generationView.dispose();
    tiles.dispose();
    heatmap.dispose();
    detailHeatmap.dispose();
    root.remove();
  };
}

export default { render };
