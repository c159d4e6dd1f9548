/**
 * Generation view: the prompt and the generated text as a token strip, revealed up to `step` by a
 * slider and a play button; the focused token (hover, or ←/→ on the strip; by default the last one
 * revealed) tints every earlier token by the attention it paid it — the selected heads of the shown
 * layer, or every layer and head — and the panel gives its probability, entropy and top alternatives.
 * Encoder-decoder models get a second strip: the source tokens tinted by cross-attention.
 */

import './generation.css';
import type { AttentionBlock, Tile } from '../protocol/decode';
import type { Kind, TileRequest } from '../protocol/model';
import {
  type GenerationPlan,
  generatedIndex,
  meanRow,
  moveFocus,
  type Pooling,
  poolSelection,
  type RowChoice,
  rowFor,
  rowRequests,
  stripWindow,
  strongest,
  topStrip,
  visibleCount
} from '../state/generation';
import type { Colors } from './theme';

/** Milliseconds between revealed tokens while playing. */
export const PLAY_INTERVAL_MS = 250;

/** The plan (state/generation.ts), how to get tiles of a block (dense: pooled here; tiled: from the kernel) and the colours. */
export interface GenerationViewState extends GenerationPlan {
  fetchFor: (block: AttentionBlock) => (r: TileRequest) => Tile | Promise<Tile>;
  colors: Colors;
}

const ACCENT = [31, 119, 180];

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function option(select: HTMLSelectElement, value: string, label: string): void {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = label;
  select.append(o);
}

/** A strip of token spans, made once per token list, of which a window (stripWindow) is in the page; tinted by a row of weights. */
class Strip {
  readonly el: HTMLDivElement;
  private spans: HTMLSpanElement[] = [];
  private tokens: string[] = [];
  private shown: [number, number] = [0, 0];
  private readonly earlier = el('span', 'aw-gen-more');

  constructor(className: string) {
    this.el = el('div', `aw-gen-strip ${className}`);
  }

  setTokens(tokens: string[], promptLength: number): void {
    if (tokens === this.tokens) return;
    this.tokens = tokens;
    this.spans = tokens.map((t, i) => {
      const s = el('span', `aw-gen-tok ${i < promptLength ? 'aw-gen-prompt' : 'aw-gen-new'}`, t);
      s.dataset.pos = String(i);
      return s;
    });
    this.shown = [0, 0];
    this.el.replaceChildren();
  }

  paint(visible: number, row: Float32Array | null, focus: number | null): void {
    const [start, end] = stripWindow(visible, focus ?? visible - 1);
    if (start !== this.shown[0] || end !== this.shown[1]) {
      this.earlier.textContent = `… ${start} earlier tokens `;
      this.el.replaceChildren(...(start > 0 ? [this.earlier] : []), ...this.spans.slice(start, end));
      this.shown = [start, end];
    }
    let max = 1e-9;
    if (row) for (let i = start; i < Math.min(end, row.length); i++) max = Math.max(max, row[i]);
    for (let i = start; i < end; i++) {
      const s = this.spans[i];
      const w = row && i < row.length ? row[i] / max : 0;
      s.style.backgroundColor = w > 0.01 ? `rgba(${ACCENT.join(',')},${(0.85 * w).toFixed(3)})` : '';
      s.title = row && i < row.length ? `attention ${row[i].toFixed(3)}` : '';
      s.classList.toggle('aw-gen-focus', i === focus);
    }
  }
}

export class GenerationView {
  readonly el = el('div', 'aw-generation');
  private readonly play = el('button', 'aw-gen-play', 'Play');
  private readonly slider = el('input', 'aw-gen-step');
  private readonly stepLabel = el('span', 'aw-gen-step-label');
  private readonly pooling = el('select', 'aw-gen-pool');
  private readonly rowChoice = el('select', 'aw-gen-row');
  private readonly strip = new Strip('aw-gen-text');
  private readonly crossTitle = el('div', 'aw-gen-caption', 'Source tokens (cross-attention)');
  private readonly crossStrip = new Strip('aw-gen-source');
  private readonly info = el('div', 'aw-gen-info');
  private state: GenerationViewState | null = null;
  /** Focused position; null follows the last revealed token. */
  private focus: number | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private rows = new WeakMap<AttentionBlock, Map<string, Float32Array>>();
  private paints = 0;

  /** `commitStep` sets the synced `step` (and saves it to the kernel). */
  constructor(private readonly commitStep: (step: number) => void) {
    this.play.type = 'button';
    this.play.title = 'Play: reveal the generation token by token';
    this.slider.type = 'range';
    this.slider.min = '0';
    this.slider.title = 'Generated tokens shown';
    option(this.rowChoice, 'token', 'What the token attended to');
    option(this.rowChoice, 'chooser', 'What the step that chose it attended to');
    const controls = el('div', 'aw-gen-controls');
    controls.append(this.play, this.slider, this.stepLabel, this.pooling, this.rowChoice);
    this.strip.el.tabIndex = 0;
    this.strip.el.setAttribute('aria-label', 'Tokens: ←/→ move the focus');
    this.el.append(controls, this.strip.el, this.crossTitle, this.crossStrip.el, this.info);

    this.slider.addEventListener('input', () => this.setStep(Number(this.slider.value)));
    this.play.addEventListener('click', () => (this.timer ? this.stop() : this.start()));
    this.pooling.addEventListener('change', () => this.paint());
    this.rowChoice.addEventListener('change', () => this.paint());
    this.strip.el.addEventListener('mouseover', e => this.hover(e));
    this.strip.el.addEventListener('keydown', e => {
      if (!this.state) return;
      const next = moveFocus(e.key, this.currentFocus(), this.visible());
      if (next === null) return;
      e.preventDefault();
      this.focus = next;
      this.paint();
    });
  }

  update(state: GenerationViewState): void {
    this.state = state;
    const { traits, tokens } = state;
    const n = traits.token_probs.length;
    this.slider.max = String(n);
    this.slider.value = String(traits.step);
    this.setPoolings(state.block.heads);
    this.strip.setTokens(tokens, traits.prompt_length);
    if (state.cross) this.crossStrip.setTokens(state.cross.tokens, state.cross.tokens.length);
    this.crossTitle.hidden = this.crossStrip.el.hidden = !state.cross;
    if (this.focus !== null && this.focus >= this.visible()) this.focus = null;
    this.paint();
  }

  /** Pooling choices: the head view's selection, everything, or one head of the shown layer. */
  private setPoolings(heads: number): void {
    if (this.pooling.options.length === heads + 2) return;
    const current = this.pooling.value || 'heads';
    this.pooling.replaceChildren();
    option(this.pooling, 'heads', 'Selected heads of this layer');
    option(this.pooling, 'all', 'All layers and heads (mean)');
    for (let h = 0; h < heads; h++) option(this.pooling, `head:${h}`, `Head ${h} of this layer`);
    this.pooling.value = Array.from(this.pooling.options).some(o => o.value === current) ? current : 'heads';
  }

  dispose(): void {
    this.stop();
  }

  private visible(): number {
    const s = this.state!;
    return visibleCount(s.traits.prompt_length, s.tokens.length, s.traits.step);
  }

  private currentFocus(): number {
    return this.focus ?? this.visible() - 1;
  }

  private setStep(step: number): void {
    this.focus = null;
    this.commitStep(step);
  }

  private start(): void {
    const s = this.state;
    if (!s) return;
    const n = s.traits.token_probs.length;
    if (s.traits.step >= n) this.setStep(0);
    this.play.textContent = 'Pause';
    this.timer = setInterval(() => {
      const last = this.state!.traits.token_probs.length;
      const next = Math.min(last, this.state!.traits.step + 1);
      if (next >= last) this.stop(); // stop on revealing the last token, not a tick later (the step may change meanwhile)
      this.setStep(next);
    }, PLAY_INTERVAL_MS);
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.play.textContent = 'Play';
  }

  private hover(e: Event): void {
    const pos = (e.target as HTMLElement).dataset?.pos;
    if (pos === undefined || !this.state) return;
    this.focus = Number(pos);
    this.paint();
  }

  /** Mean attention row over the chosen heads/layers; null while tiles are on their way (repaints when they come). */
  private row(kind: Kind, block: AttentionBlock, query: number): Float32Array | null {
    const s = this.state!;
    const { layers, heads } = poolSelection(this.pooling.value as Pooling, s.layerIndex, s.heads, block.layers, block.heads);
    if (!heads.length || query >= block.queries) return null;
    const key = `${layers.join(',')}/${heads.join(',')}/${query}`;
    const cache = this.rows.get(block) ?? new Map<string, Float32Array>();
    this.rows.set(block, cache);
    const hit = cache.get(key);
    if (hit) return hit;
    const tiles = rowRequests(kind, block, layers, heads, query).map(s.fetchFor(block));
    if (tiles.every(t => !(t instanceof Promise))) {
      const row = meanRow(tiles as Tile[], block.keys);
      cache.set(key, row);
      return row;
    }
    Promise.all(tiles).then(
      ts => {
        cache.set(key, meanRow(ts, block.keys));
        if (this.state?.block === block) this.paint();
      },
      () => undefined
    );
    return null;
  }

  private paint(): void {
    const s = this.state;
    if (!s) return;
    const { traits, tokens } = s;
    const n = traits.token_probs.length;
    const visible = this.visible();
    const focus = this.currentFocus();
    const query = rowFor(focus, this.rowChoice.value as RowChoice);
    const row = this.row(s.kind, s.block, query);
    this.strip.paint(visible, row, focus);
    if (s.cross) this.crossStrip.paint(s.cross.tokens.length, this.row('cross', s.cross.block, query), null);
    this.stepLabel.textContent = `${Math.min(traits.step, n)} / ${n} generated`;

    const index = generatedIndex(focus, traits.prompt_length);
    const lines: HTMLElement[] = [];
    const head = el('div', 'aw-gen-title');
    const where = index >= 0 ? `generated token ${index + 1}` : 'prompt token';
    head.textContent = `“${tokens[focus] ?? ''}” — ${where}`;
    lines.push(head);
    if (index >= 0) {
      lines.push(el('div', 'aw-gen-prob', `probability ${(traits.token_probs[index] * 100).toFixed(1)}% · entropy ${traits.entropy[index].toFixed(2)} nats`));
      const bars = el('div', 'aw-gen-bars');
      for (const bar of topStrip(traits, index, tokens[focus])) {
        const line = el('div', `aw-gen-bar${bar.chosen ? ' aw-gen-chosen' : ''}`);
        const fill = el('span', 'aw-gen-fill');
        fill.style.width = `${Math.max(1, bar.prob * 100).toFixed(1)}%`;
        line.append(el('span', 'aw-gen-alt', bar.token), fill, el('span', 'aw-gen-value', `${(bar.prob * 100).toFixed(1)}%`));
        bars.append(line);
      }
      lines.push(bars);
    }
    const pooling = this.pooling.value as Pooling;
    const source =
      pooling === 'all'
        ? 'all layers and heads'
        : pooling === 'heads'
          ? `${s.layerLabel}, ${s.heads.length} selected head(s)`
          : `${s.layerLabel}, head ${pooling.slice(5)}`;
    if (row) {
      const top = strongest(row, 3, query + 1).map(([k, w]) => `${tokens[k]} ${(w * 100).toFixed(0)}%`);
      lines.push(el('div', 'aw-gen-attended', `row ${query} (${source}) attends most to: ${top.join(', ')}`));
    } else {
      const empty = !poolSelection(pooling, s.layerIndex, s.heads, s.block.layers, s.block.heads).heads.length;
      lines.push(el('div', 'aw-gen-attended', empty ? 'no heads selected' : 'loading attention…'));
    }
    this.info.replaceChildren(...lines);
    this.paints += 1;
    this.el.dataset.step = String(traits.step);
    this.el.dataset.visible = String(visible);
    this.el.dataset.focus = String(focus);
    this.el.dataset.paints = String(this.paints);
  }
}
