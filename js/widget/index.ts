/**
 * attn-widget's anywidget module: `render({ model, el })` builds the toolbar and the head, model or
 * neuron view, and keeps them in sync with the Python traits both ways.
 */

import './widget.css';
import { decodeAll } from './data';
import { filterOptions, sliceFor, type Tokens } from './layout';
import { HeadView, type DrawMode } from './headView';
import { HeatmapView, type HeatmapState } from './heatmap';
import { denseTile, thumbSlice, thumbTile, TileClient, type TileRequest } from './tiles';
import type { AttentionBlock } from './data';
import { ModelView } from './modelView';
import { decodeNeuron } from './neuron';
import { NeuronView } from './neuronView';
import { HeadSquares, labelled, select, setOptions } from './controls';
import { ImageExport } from './imageExport';
import { applyTheme, watchTheme } from './theme';
import type { WidgetModel } from './model';

export { mountStandalone } from './standalone';

/** Heatmap instead of lines above this many tokens in 'auto' mode. */
export const AUTO_HEATMAP_TOKENS = 96;

/** Lines mode keeps each query's links up to this share of its weight above this many tokens (exBERT's 0.7). */
export const AUTO_PRUNE_TOKENS = 64;

export function resolveMode(mode: 'auto' | DrawMode, tokens: number, tiled = false): DrawMode {
  if (tiled) return 'heatmap'; // the weights are not all in the browser: only windows of them
  return mode === 'auto' ? (tokens > AUTO_HEATMAP_TOKENS ? 'heatmap' : 'lines') : mode;
}

export function resolveCoverage(setting: string, tokens: number): number {
  return setting === 'auto' ? (tokens > AUTO_PRUNE_TOKENS ? 0.7 : 1) : Number(setting);
}

export function render({ model, el }: { model: WidgetModel; el: HTMLElement }): () => void {
  const root = document.createElement('div');
  root.className = 'attn-widget';
  const toolbar = document.createElement('div');
  toolbar.className = 'aw-toolbar';
  const body = document.createElement('div');
  body.className = 'aw-body';
  const tooltip = document.createElement('div');
  tooltip.className = 'aw-tooltip';
  tooltip.hidden = true;
  root.append(toolbar, body, tooltip);
  el.append(root);

  const commit = (changes: Partial<Record<'view' | 'layer' | 'head' | 'heads' | 'attention_filter' | 'mode', unknown>>) => {
    for (const [k, v] of Object.entries(changes)) model.set(k as 'view', v as 'head');
    model.save_changes();
  };
  const viewSelect = select('View', 'aw-view', v => commit({ view: v }));
  const layerSelect = select('Layer', 'aw-layer aw-always', v => commit({ layer: Number(v) }));
  const headSelect = select('Head', 'aw-nhead aw-always', v => commit({ head: Number(v) }));
  const filterSelect = select('Attention', 'aw-filter', v => commit({ attention_filter: v }));
  const modeSelect = select('Drawing', 'aw-mode aw-always', v => commit({ mode: v }));
  const squares = new HeadSquares(heads => commit({ heads }));
  let coverage = 'auto';
  const coverageSelect = select('Links', 'aw-links aw-always', v => {
    coverage = v;
    draw();
  });
  const search = document.createElement('input');
  search.type = 'search';
  search.className = 'aw-search';
  search.placeholder = 'find token…';
  search.title = 'Find a token (Enter: next match)';
  search.addEventListener('keydown', e => {
    if (e.key === 'Enter') heatmap.search(search.value);
  });
  toolbar.append(
    labelled('View', viewSelect),
    labelled('Layer', layerSelect),
    labelled('Head', headSelect),
    labelled('Attention', filterSelect),
    labelled('Drawing', modeSelect),
    labelled('Links', coverageSelect),
    search,
    squares.el
  );

  const headView = new HeadView(tooltip);
  const tiles = new TileClient(model);
  const onTile = () => (root.dataset.tiles = String(Number(root.dataset.tiles ?? 0) + 1));
  const heatmap = new HeatmapView(tooltip, onTile);
  const detailHeatmap = new HeatmapView(tooltip, onTile);
  /** Tiles of a block: pooled here when dense; from the kernel when tiled (thumbnails if no kernel answers). */
  const fetchFor = (block: AttentionBlock): HeatmapState['fetch'] =>
    block.tiled ? (r: TileRequest) => tiles.get(r).catch(() => thumbTile(block, r)) : (r: TileRequest) => denseTile(block, r);
  const images = new ImageExport(model, root, body, headView);
  toolbar.append(images.el);
  const neuronView = new NeuronView(tooltip);
  const modelView = new ModelView(tooltip, (layerIndex, head) => {
    detail = { layer: layerIndex, head };
    commit({ layer: model.get('layer_numbers')[layerIndex], heads: [head] });
  });
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
  let neuron = decodeNeuron(model.get('neuron_data'));
  let lastWidth = 0;
  let paints = 0;

  function draw(): void {
    const t0 = performance.now();
    const colors = applyTheme(root, model.get('theme'));
    const tokens: Tokens = {
      tokens: model.get('tokens'),
      decoderTokens: model.get('decoder_tokens'),
      sentenceBStart: model.get('sentence_b_start')
    };
    const layerNumbers = model.get('layer_numbers');
    const layerIndex = Math.max(0, layerNumbers.indexOf(model.get('layer')));
    const view = model.get('view');
    const filter = model.get('attention_filter');
    const slice = sliceFor(blocks, tokens, filter);
    const heads = model.get('heads');
    const n = Math.max(slice.q1 - slice.q0, slice.k1 - slice.k0);
    const tiled = slice.block.tiled;
    const mode = resolveMode(model.get('mode'), n, tiled);
    const kvHeads = model.get('num_kv_heads');
    const groupSize = kvHeads > 0 && slice.block.heads % kvHeads === 0 ? slice.block.heads / kvHeads : 1;

    const views = [{ value: 'head', label: 'Head' }, { value: 'model', label: 'Model' }];
    setOptions(viewSelect, neuron ? [...views, { value: 'neuron', label: 'Neuron' }] : views, view);
    setOptions(layerSelect, layerNumbers.map(l => ({ value: String(l), label: String(l) })), String(layerNumbers[layerIndex]));
    setOptions(filterSelect, filterOptions(blocks, tokens), slice.kind === 'self' ? filter : slice.kind);
    const modes = tiled ? [{ value: model.get('mode'), label: 'Heatmap (tiles)' }] : [{ value: 'auto', label: `Auto (${mode})` }, { value: 'lines', label: 'Lines' }, { value: 'heatmap', label: 'Heatmap' }];
    setOptions(modeSelect, modes, model.get('mode'));
    const auto = resolveCoverage('auto', n);
    setOptions(coverageSelect, [{ value: 'auto', label: auto < 1 ? `Auto (${auto * 100}%)` : 'Auto (all)' }, { value: '1', label: 'All' }, { value: '0.9', label: '90%' }, { value: '0.7', label: '70%' }, { value: '0.5', label: '50%' }], coverage);
    setOptions(headSelect, Array.from({ length: slice.block.heads }, (_, h) => ({ value: String(h), label: String(h) })), String(model.get('head')));
    layerSelect.parentElement!.hidden = view === 'model';
    headSelect.parentElement!.hidden = view !== 'neuron' || !neuron;
    modeSelect.parentElement!.hidden = view !== 'head';
    coverageSelect.parentElement!.hidden = view !== 'head' || mode !== 'lines';
    search.hidden = view !== 'head' || mode !== 'heatmap';
    squares.el.hidden = view !== 'head';
    squares.set(slice.block.heads, heads);

    if (view === 'model') {
      const width = root.clientWidth || 960;
      lastWidth = width;
      const include = model.get('include_heads');
      const shown = include.length ? include : Array.from({ length: slice.block.heads }, (_, h) => h);
      modelView.update({ slice: thumbSlice(slice), layerNumbers, heads: shown, width, colors, selected: detail, groupSize });
      body.replaceChildren(modelView.el);
      if (detail) {
        detailTitle.textContent = `Layer ${layerNumbers[detail.layer]}, Head ${detail.head}`;
        const one = { slice, layer: detail.layer, heads: [detail.head], colors };
        if (resolveMode('auto', n, tiled) === 'lines') detailView.update({ ...one, coverage: 1 });
        else detailHeatmap.update({ ...one, fetch: fetchFor(slice.block) });
        detailBox.replaceChildren(detailTitle, close, resolveMode('auto', n, tiled) === 'lines' ? detailView.el : detailHeatmap.el);
        body.append(detailBox);
      }
    } else if (view === 'neuron' && neuron) {
      const qkLayer = neuron.layers.indexOf(layerNumbers[layerIndex]);
      neuronView.update({ slice, data: neuron, layer: layerIndex, qkLayer, head: model.get('head'), colors });
      body.replaceChildren(neuronView.el);
    } else {
      if (mode === 'lines') {
        headView.update({ slice, layer: layerIndex, heads, coverage: resolveCoverage(coverage, n), colors });
        body.replaceChildren(headView.el);
      } else {
        heatmap.update({ slice, layer: layerIndex, heads, colors, fetch: fetchFor(slice.block) });
        body.replaceChildren(heatmap.el);
      }
    }
    paints += 1;
    root.dataset.paints = String(paints);
    root.dataset.paintMs = (performance.now() - t0).toFixed(1);
  }

  const onData = () => {
    blocks = decodeAll(model.get('attention_data'));
    draw();
  };
  const onNeuron = () => {
    neuron = decodeNeuron(model.get('neuron_data'));
    draw();
  };
  const events: [string, () => void][] = [
    ['change:attention_data', onData],
    ['change:neuron_data', onNeuron],
    ...['tokens', 'decoder_tokens', 'sentence_b_start', 'layer_numbers', 'view', 'layer', 'head', 'heads', 'include_heads', 'attention_filter', 'mode', 'theme', 'num_kv_heads'].map(
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
    tiles.dispose();
    heatmap.dispose();
    detailHeatmap.dispose();
    root.remove();
  };
}

export default { render };
