/**
 * The widget's toolbar: view, layer, head, filter, aggregation, drawing, "colour by", special tokens,
 * link pruning, token search and the head squares. `sync` shows the controls that apply to what is
 * drawn; changes go to the kernel through `commit` or, for view-local settings, `redraw`.
 */

import type { Aggregation, Traits } from '../protocol/model';
import { AGGREGATION_LABELS, type ToolbarState } from '../state/derive';
import { HeadSquares, labelled, select, setOptions } from './controls';

/** Sends trait changes made in the browser to the kernel. */
export type Commit = (
  changes: Partial<Pick<Traits, 'view' | 'layer' | 'head' | 'heads' | 'attention_filter' | 'mode' | 'aggregation' | 'hide_special' | 'step'>>
) => void;

export class Toolbar {
  readonly el = document.createElement('div');
  /** View-local settings (not traits): the statistic tinting thumbnails, the lines' coverage. */
  tintStat = '';
  coverage = 'auto';
  private view: HTMLSelectElement;
  private layer: HTMLSelectElement;
  private head: HTMLSelectElement;
  private filter: HTMLSelectElement;
  private aggregation: HTMLSelectElement;
  private mode: HTMLSelectElement;
  private tint: HTMLSelectElement;
  private links: HTMLSelectElement;
  private hideBox = document.createElement('input');
  private hideLabel: HTMLLabelElement;
  private search = document.createElement('input');
  private squares: HeadSquares;

  constructor(commit: Commit, redraw: () => void, search: (text: string) => void) {
    this.el.className = 'aw-toolbar';
    this.view = select('View', 'aw-view', v => commit({ view: v as Traits['view'] }));
    this.layer = select('Layer', 'aw-layer aw-always', v => commit({ layer: Number(v) }));
    this.head = select('Head', 'aw-nhead aw-always', v => commit({ head: Number(v) }));
    this.filter = select('Attention', 'aw-filter', v => commit({ attention_filter: v as Traits['attention_filter'] }));
    this.aggregation = select('Aggregation', 'aw-aggregation', v => commit({ aggregation: v as Traits['aggregation'] }));
    this.mode = select('Drawing', 'aw-mode aw-always', v => commit({ mode: v as Traits['mode'] }));
    this.tint = select('Colour thumbnails by', 'aw-tint', v => {
      this.tintStat = v;
      redraw();
    });
    this.links = select('Links', 'aw-links aw-always', v => {
      this.coverage = v;
      redraw();
    });
    this.hideBox.type = 'checkbox';
    this.hideBox.className = 'aw-hide-special';
    this.hideBox.addEventListener('change', () => commit({ hide_special: this.hideBox.checked }));
    this.hideLabel = labelled('Hide special tokens', this.hideBox);
    this.search.type = 'search';
    this.search.className = 'aw-search';
    this.search.placeholder = 'find token…';
    this.search.title = 'Find a token (Enter: next match)';
    this.search.setAttribute('aria-label', 'Find a token (Enter: next match)');
    this.search.addEventListener('keydown', e => e.key === 'Enter' && search(this.search.value));
    this.squares = new HeadSquares(heads => commit({ heads }));
    this.el.append(
      labelled('View', this.view),
      labelled('Layer', this.layer),
      labelled('Head', this.head),
      labelled('Attention', this.filter),
      labelled('Aggregation', this.aggregation),
      labelled('Drawing', this.mode),
      labelled('Colour by', this.tint),
      this.hideLabel,
      labelled('Links', this.links),
      this.search,
      this.squares.el
    );
  }

  sync(s: ToolbarState): void {
    const { view } = s;
    setOptions(this.view, s.views, view);
    setOptions(
      this.aggregation,
      ['raw', ...s.aggregations, ...Object.keys(s.notes)].map(a => ({
        value: a,
        label: s.notes[a] ? `${AGGREGATION_LABELS[a as Aggregation]} (unavailable)` : AGGREGATION_LABELS[a as Aggregation],
        disabled: !!s.notes[a],
        title: s.notes[a]
      })),
      s.aggregation
    );
    this.aggregation.parentElement!.hidden ||= view !== 'head' && view !== 'model';
    this.hideBox.checked = s.hidden;
    this.hideBox.disabled = !!s.hideRefusal;
    this.hideLabel.title = s.hideRefusal ? `Unavailable: ${s.hideRefusal}` : 'Drop special tokens and renormalise each row over the rest (exBERT)';
    this.hideLabel.hidden = view === 'summary' || !s.hasSpecial;
    setOptions(this.tint, [{ value: '', label: 'head' }, ...Object.entries(s.stats).map(([value, label]) => ({ value, label }))], this.tintStat);
    this.tint.parentElement!.hidden ||= view !== 'model' || s.single;
    setOptions(
      this.layer,
      s.layerNumbers.map(l => ({ value: String(l), label: String(l) })),
      String(s.layerNumbers[s.layerIndex])
    );
    setOptions(this.filter, s.filters, s.filter);
    setOptions(this.mode, s.modes, s.mode);
    const auto = s.autoCoverage < 1 ? `Auto (${s.autoCoverage * 100}%)` : 'Auto (all)';
    const coverages = [
      ['auto', auto],
      ['1', 'All'],
      ['0.9', '90%'],
      ['0.7', '70%'],
      ['0.5', '50%']
    ];
    setOptions(
      this.links,
      coverages.map(([value, label]) => ({ value, label })),
      this.coverage
    );
    setOptions(
      this.head,
      Array.from({ length: s.heads }, (_, h) => ({ value: String(h), label: String(h) })),
      String(s.head)
    );
    this.layer.parentElement!.hidden = view === 'model' || view === 'summary' || s.singleLayer;
    this.head.parentElement!.hidden = view !== 'neuron' || !s.hasNeuron;
    this.mode.parentElement!.hidden = view !== 'head';
    this.links.parentElement!.hidden = view !== 'head' || s.drawing !== 'lines';
    this.search.hidden = view !== 'head' || s.drawing !== 'heatmap';
    this.squares.el.hidden = view !== 'head' || s.single;
    this.squares.set(s.heads, s.selectedHeads);
  }
}
