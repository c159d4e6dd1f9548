/**
 * attn-widget's anywidget module: `render({ model, el })` builds the toolbar and the head, model or
 * neuron view, and keeps them in sync with the Python traits both ways.
 */

import './widget.css';
import { decodeAll } from './data';
import { filterOptions, sliceFor, type Tokens } from './layout';
import { HeadView, type DrawMode } from './headView';
import { ModelView } from './modelView';
import { decodeNeuron } from './neuron';
import { NeuronView } from './neuronView';
import { HeadSquares, labelled, select, setOptions } from './controls';
import { applyTheme, watchTheme } from './theme';
import type { WidgetModel } from './model';

export { mountStandalone } from './standalone';

/** Heatmap instead of lines above this many tokens in 'auto' mode. */
export const AUTO_HEATMAP_TOKENS = 96;

export function resolveMode(mode: 'auto' | DrawMode, tokens: number): DrawMode {
  return mode === 'auto' ? (tokens > AUTO_HEATMAP_TOKENS ? 'heatmap' : 'lines') : mode;
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
  toolbar.append(
    labelled('View', viewSelect),
    labelled('Layer', layerSelect),
    labelled('Head', headSelect),
    labelled('Attention', filterSelect),
    labelled('Drawing', modeSelect),
    squares.el
  );

  const headView = new HeadView(tooltip);
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
    const mode = resolveMode(model.get('mode'), n);

    const views = [{ value: 'head', label: 'Head' }, { value: 'model', label: 'Model' }];
    setOptions(viewSelect, neuron ? [...views, { value: 'neuron', label: 'Neuron' }] : views, view);
    setOptions(layerSelect, layerNumbers.map(l => ({ value: String(l), label: String(l) })), String(layerNumbers[layerIndex]));
    setOptions(filterSelect, filterOptions(blocks, tokens), slice.kind === 'self' ? filter : slice.kind);
    setOptions(modeSelect, [{ value: 'auto', label: `Auto (${mode})` }, { value: 'lines', label: 'Lines' }, { value: 'heatmap', label: 'Heatmap' }], model.get('mode'));
    setOptions(headSelect, Array.from({ length: slice.block.heads }, (_, h) => ({ value: String(h), label: String(h) })), String(model.get('head')));
    layerSelect.parentElement!.hidden = view === 'model';
    headSelect.parentElement!.hidden = view !== 'neuron' || !neuron;
    modeSelect.parentElement!.hidden = view !== 'head';
    squares.el.hidden = view !== 'head';
    squares.set(slice.block.heads, heads);

    if (view === 'model') {
      const width = root.clientWidth || 960;
      lastWidth = width;
      const include = model.get('include_heads');
      const shown = include.length ? include : Array.from({ length: slice.block.heads }, (_, h) => h);
      modelView.update({ slice, layerNumbers, heads: shown, width, colors, selected: detail });
      body.replaceChildren(modelView.el);
      if (detail) {
        detailTitle.textContent = `Layer ${layerNumbers[detail.layer]}, Head ${detail.head}`;
        detailView.update({ slice, layer: detail.layer, heads: [detail.head], mode: resolveMode('auto', n), colors });
        body.append(detailBox);
      }
    } else if (view === 'neuron' && neuron) {
      const qkLayer = neuron.layers.indexOf(layerNumbers[layerIndex]);
      neuronView.update({ slice, data: neuron, layer: layerIndex, qkLayer, head: model.get('head'), colors });
      body.replaceChildren(neuronView.el);
    } else {
      headView.update({ slice, layer: layerIndex, heads, mode, colors });
      body.replaceChildren(headView.el);
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
    ...['tokens', 'decoder_tokens', 'sentence_b_start', 'layer_numbers', 'view', 'layer', 'head', 'heads', 'include_heads', 'attention_filter', 'mode', 'theme'].map(
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
    root.remove();
  };
}

export default { render };
