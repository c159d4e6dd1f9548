/**
 * One rendered widget: builds the toolbar and the views, derives what to draw from the traits
 * (state/derive.ts) on every change, hands it to the views, and sends the browser's changes back.
 */

import type { AttentionBlock, Tile } from './protocol/decode';
import { decodeNeuron, decodeStats } from './protocol/decode';
import type { TileRequest, Traits, WidgetModel } from './protocol/model';
import { TileClient } from './protocol/tiles';
import {
  type BodyPlan,
  type Decoded,
  decodeAttention,
  decodeTraits,
  derive,
  hiding,
  type Local,
  PENDING_STAT,
  type Prepared,
  prepare,
  TRAIT_EFFECTS
} from './state/derive';
import { denseTile, thumbTile } from './state/pool';
import { FONT } from './views/canvas';
import { GenerationView } from './views/generationView';
import { HeadView } from './views/headView';
import { HeatmapView } from './views/heatmap';
import { ImageExport, linesSvg } from './views/imageExport';
import { ModelView } from './views/modelView';
import { NeuronView } from './views/neuronView';
import { StepSlider } from './views/stepSlider';
import { SummaryView } from './views/summary';
import { applyTheme, type Colors, watchTheme } from './views/theme';
import { type Commit, Toolbar } from './views/toolbar';

/** Redraws the model view when the widget's width changes by more than this (CSS px). */
const RESIZE_SLACK = 24;

/** The head opened below the model view: a title, its lines or heatmap, and a close button. */
class Detail {
  readonly el = document.createElement('div');
  private title = document.createElement('div');
  private close = document.createElement('button');
  readonly lines: HeadView;
  readonly heatmap: HeatmapView;

  constructor(tooltip: HTMLDivElement, onTile: () => void, onClose: () => void) {
    this.el.className = 'aw-detail';
    this.title.className = 'aw-detail-title';
    this.close.type = 'button';
    this.close.className = 'aw-close';
    this.close.textContent = '×';
    this.close.title = 'Close';
    this.close.addEventListener('click', onClose);
    this.lines = new HeadView(tooltip);
    this.heatmap = new HeatmapView(tooltip, onTile);
  }

  show(title: string, view: HTMLElement): HTMLElement {
    this.title.textContent = title;
    this.el.replaceChildren(this.title, this.close, view);
    return this.el;
  }
}

export class WidgetApp {
  private root = document.createElement('div');
  private body = document.createElement('div');
  private tooltip = document.createElement('div');
  private toolbar: Toolbar;
  private stepSlider: StepSlider;
  private headView: HeadView;
  private heatmap: HeatmapView;
  private modelView: ModelView;
  private neuronView: NeuronView;
  private summaryView: SummaryView;
  private generationView: GenerationView;
  private detail: Detail;
  private images: ImageExport;
  private message = document.createElement('div');
  private tiles: TileClient;
  private data: Decoded;
  private prepared: Prepared;
  private hidden: boolean;
  private opened: Local['detail'] = null;
  private lastWidth = 0;
  private paints = 0;
  private events: [string, () => void][];
  private unwatchTheme: () => void;
  private resize: ResizeObserver | null;

  constructor(
    private model: WidgetModel,
    el: HTMLElement
  ) {
    this.root.className = 'attn-widget';
    this.body.className = 'aw-body';
    this.tooltip.className = 'aw-tooltip';
    this.tooltip.hidden = true;
    this.message.className = 'aw-muted aw-message';
    this.root.append(this.body, this.tooltip);
    el.append(this.root);
    // The live model, for hosts that keep a saved copy of the view up to date (js/lab/savedCopy.ts).
    Object.assign(this.root, { attnModel: model });

    const tooltip = this.tooltip;
    const onTile = () => {
      this.root.dataset.tiles = String(Number(this.root.dataset.tiles ?? 0) + 1);
    };
    this.toolbar = new Toolbar(
      this.commit,
      () => this.draw(),
      text => this.heatmap.search(text)
    );
    this.root.prepend(this.toolbar.el);
    this.stepSlider = new StepSlider(step => {
      model.set('step', step);
      model.save_changes();
    });
    this.toolbar.el.prepend(this.stepSlider.el);
    this.headView = new HeadView(tooltip);
    this.heatmap = new HeatmapView(tooltip, onTile);
    this.tiles = new TileClient(model);
    this.neuronView = new NeuronView(tooltip);
    this.modelView = new ModelView(tooltip, (layerIndex, head) => this.openHead(layerIndex, head));
    this.summaryView = new SummaryView((layerIndex, head) =>
      this.commit({ view: 'head', aggregation: 'raw', layer: model.get('layer_numbers')[layerIndex], heads: [head] })
    );
    this.generationView = new GenerationView(step => this.commit({ step }));
    this.detail = new Detail(tooltip, onTile, () => {
      this.opened = null;
      this.draw();
    });
    const lines = (view: HeadView) => ({
      el: view.el,
      svg: () => {
        const measure = document.createElement('canvas').getContext('2d')!;
        measure.font = FONT;
        return view.state ? linesSvg(view.state, measure) : null;
      }
    });
    const summaryShown = () => this.body.contains(this.summaryView.el);
    this.images = new ImageExport(
      model,
      this.root,
      this.body,
      [
        lines(this.headView),
        lines(this.detail.lines),
        this.heatmap,
        this.detail.heatmap,
        { el: this.summaryView.el, svg: () => this.summaryView.svg(applyTheme(this.root, model.get('theme'))) }
      ],
      () => (summaryShown() ? this.summaryView.csv() : null)
    );
    this.toolbar.el.append(this.images.el);

    this.data = decodeTraits(model);
    this.prepared = prepare(model, this.data);
    this.hidden = hiding(model, this.data);
    const effects = {
      attention: () => {
        this.data = { ...this.data, ...decodeAttention(model) };
        this.prepareAndDraw();
      },
      neuron: () => {
        this.data = { ...this.data, neuron: decodeNeuron(model.get('neuron_data')) };
        this.draw();
      },
      stats: () => this.onStats(),
      prepare: () => this.prepareAndDraw(),
      /** Switching views re-prepares only when it turns hiding on or off (the neuron view refuses it). */
      view: () => {
        if (hiding(model, this.data) !== this.hidden) this.prepareAndDraw();
        else this.draw();
      },
      draw: () => this.draw()
    };
    this.events = Object.entries(TRAIT_EFFECTS)
      .filter(([, effect]) => effect !== 'none')
      .map(([trait, effect]) => [`change:${trait}`, effects[effect as keyof typeof effects]]);
    for (const [event, callback] of this.events) model.on(event, callback);
    this.unwatchTheme = watchTheme(() => this.draw());
    this.resize =
      typeof ResizeObserver === 'function'
        ? new ResizeObserver(() => {
            if (model.get('view') === 'model' && Math.abs(this.body.clientWidth - this.lastWidth) > RESIZE_SLACK) this.draw();
          })
        : null;
    this.resize?.observe(this.root);
    this.draw();
  }

  dispose(): void {
    for (const [event, callback] of this.events) this.model.off(event, callback);
    this.unwatchTheme();
    this.resize?.disconnect();
    this.images.dispose();
    this.generationView.dispose();
    this.tiles.dispose();
    this.heatmap.dispose();
    this.detail.heatmap.dispose();
    this.root.remove();
  }

  /** Browser → kernel: set traits and sync (asking for head statistics first if the summary is opened without them). */
  private readonly commit: Commit = changes => {
    if (changes.view === 'summary' && !Object.keys(this.data.stats).length) this.model.set('stats_requested', true);
    for (const [key, value] of Object.entries(changes)) this.model.set(key as keyof Traits, value as never);
    this.model.save_changes();
  };

  private openHead(layerIndex: number, head: number): void {
    this.opened = { layer: layerIndex, head };
    const numbers = this.model.get('layer_numbers');
    const layer = numbers[Math.min(layerIndex, numbers.length - 1)];
    const aggregation = this.model.get('aggregation');
    this.commit(aggregation === 'raw' || aggregation === 'value' ? { layer, heads: [head] } : { layer });
  }

  private onStats(): void {
    this.data = { ...this.data, stats: decodeStats(this.model.get('head_stats')) };
    const names = Object.keys(this.data.stats);
    if (this.toolbar.tintStat === PENDING_STAT && names.length) this.toolbar.tintStat = names.includes('entropy') ? 'entropy' : names[0];
    this.draw();
  }

  private prepareAndDraw(): void {
    this.prepared = prepare(this.model, this.data);
    this.hidden = hiding(this.model, this.data);
    this.draw();
  }

  /** Tiles of a block: pooled here when dense; from the kernel when tiled (thumbnails if no kernel answers). */
  private fetchFor(block: AttentionBlock): (r: TileRequest) => Tile | Promise<Tile> {
    if (!block.tiled) return r => denseTile(block, r);
    return r => this.tiles.get(r).catch(() => thumbTile(block, r));
  }

  private draw(): void {
    const t0 = performance.now();
    const colors = applyTheme(this.root, this.model.get('theme'));
    // The body's content box (the root's padding left out): the model view fits it without overflowing.
    const width = this.model.get('view') === 'model' ? this.body.clientWidth || 960 : this.lastWidth;
    const local: Local = { tintStat: this.toolbar.tintStat, coverage: this.toolbar.coverage, width, detail: this.opened };
    const plan = derive(this.model, this.data, this.prepared, local);
    this.toolbar.sync(plan.toolbar);
    this.stepSlider.set(this.model.get('steps') ?? [], this.model.get('step'));
    if (plan.needsStats && !this.model.get('stats_requested')) {
      this.model.set('stats_requested', true);
      this.model.save_changes();
    }
    if (plan.body.kind === 'model') this.lastWidth = width;
    this.body.replaceChildren(...this.show(plan.body, colors));
    this.body.dataset.view = plan.body.kind;
    this.images.sync();
    this.paints += 1;
    this.root.dataset.paints = String(this.paints);
    this.root.dataset.paintMs = (performance.now() - t0).toFixed(1);
  }

  /** Update the view a plan asks for; returns the elements the body shows. */
  private show(body: BodyPlan, colors: Colors): HTMLElement[] {
    switch (body.kind) {
      case 'lines':
        this.headView.update({ ...body.selection, coverage: body.coverage, colors });
        return [this.headView.el];
      case 'heatmap':
        this.heatmap.update({
          ...body.selection,
          colors,
          signed: body.signed,
          fetch: this.fetchFor(body.selection.slice.block),
          width: this.body.clientWidth
        });
        return [this.heatmap.el];
      case 'model': {
        this.modelView.update({ ...body.model, colors });
        const d = body.detail;
        if (!d) return [this.modelView.el];
        const one = { ...d.selection, colors, signed: d.signed };
        if (d.mode === 'lines') this.detail.lines.update({ ...one, coverage: 1 });
        else this.detail.heatmap.update({ ...one, fetch: this.fetchFor(d.selection.slice.block), width: this.body.clientWidth });
        return [this.modelView.el, this.detail.show(d.title, d.mode === 'lines' ? this.detail.lines.el : this.detail.heatmap.el)];
      }
      case 'neuron':
        this.neuronView.update({ ...body, colors });
        return [this.neuronView.el];
      case 'summary':
        this.summaryView.update(body);
        return [this.summaryView.el];
      case 'generation':
        this.generationView.update({ ...body.generation, fetchFor: block => this.fetchFor(block), colors });
        return [this.generationView.el];
      case 'message':
        this.message.textContent = body.text;
        return [this.message];
    }
  }
}
