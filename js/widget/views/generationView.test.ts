import { describe, expect, it, vi } from 'vitest';
import { type AttentionBlock, decodeBlock } from '../protocol/decode';
import type { TileRequest } from '../protocol/model';
import { denseTile } from '../state/pool';
import { GenerationView, type GenerationViewState } from './generationView';

const colors = { bg: '#fff', fg: '#000', muted: '#666', highlight: '#eee', dark: false };
const tokens = ['[CLS]', 'the', 'cat', 'sat', 'on', 'mat'];

/** 1 layer × 2 heads, causal; every row puts all its weight on key 1 ("the") for head 0 and on itself for head 1. */
function block(): AttentionBlock {
  const n = tokens.length;
  const values = new Uint8Array(2 * n * n);
  for (let q = 0; q < n; q++) {
    values[(0 * n + q) * n + Math.min(1, q)] = 255;
    values[(1 * n + q) * n + q] = 255;
  }
  return decodeBlock({ shape: [1, 2, n, n], dtype: 'uint8', scale: [[1, 1]], layers: [values] });
}

function state(step: number, over: Partial<GenerationViewState> = {}): GenerationViewState {
  return {
    traits: {
      prompt_length: 3,
      token_probs: [0.5, 0.25, 0.125],
      top_tokens: [
        [
          ['sat', 0.5],
          ['ran', 0.3]
        ],
        [['on', 0.25]],
        [
          ['a', 0.5],
          ['the', 0.2]
        ]
      ],
      entropy: [1, 2, 3],
      step
    },
    tokens,
    kind: 'self',
    block: block(),
    fetchFor: (b: AttentionBlock) => (r: TileRequest) => denseTile(b, r),
    layerIndex: 0,
    layerLabel: 'Layer 0',
    heads: [0],
    colors,
    ...over
  };
}

const shown = (view: GenerationView) => Array.from(view.el.querySelectorAll<HTMLElement>('.aw-gen-text .aw-gen-tok'));

describe('GenerationView', () => {
  it('shows the prompt and the first `step` generated tokens, told apart', () => {
    const view = new GenerationView(() => undefined);
    view.update(state(1));
    expect(shown(view).map(s => s.textContent)).toEqual(['[CLS]', 'the', 'cat', 'sat']);
    expect(shown(view).map(s => s.classList.contains('aw-gen-new'))).toEqual([false, false, false, true]);
    view.update(state(3));
    expect(shown(view)).toHaveLength(6);
    expect(view.el.dataset.visible).toBe('6');
  });

  it('focuses the last revealed token: tints what it attended to, gives its probability and alternatives', () => {
    const view = new GenerationView(() => undefined);
    view.update(state(1));
    const spans = shown(view);
    expect(spans[3].classList.contains('aw-gen-focus')).toBe(true);
    expect(spans[1].style.backgroundColor).not.toBe(''); // head 0 attends to "the"
    expect(spans[2].style.backgroundColor).toBe('');
    const info = view.el.querySelector('.aw-gen-info')!.textContent!;
    expect(info).toContain('“sat” — generated token 1');
    expect(info).toContain('probability 50.0%');
    expect(Array.from(view.el.querySelectorAll('.aw-gen-bar')).map(b => b.classList.contains('aw-gen-chosen'))).toEqual([true, false]);
  });

  it('moves the focus with the arrow keys and on hover; the pooling picks heads', () => {
    const view = new GenerationView(() => undefined);
    view.update(state(3));
    const strip = view.el.querySelector<HTMLElement>('.aw-gen-strip')!;
    strip.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowLeft' }));
    expect(view.el.dataset.focus).toBe('4');
    expect(view.el.querySelector('.aw-gen-title')!.textContent).toContain('“on” — generated token 2');
    shown(view)[2].dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
    expect(view.el.dataset.focus).toBe('2');
    expect(view.el.querySelector('.aw-gen-title')!.textContent).toContain('prompt token');
    const pool = view.el.querySelector<HTMLSelectElement>('.aw-gen-pool')!;
    pool.value = 'head:1';
    pool.dispatchEvent(new Event('change'));
    expect(shown(view)[2].style.backgroundColor).not.toBe(''); // head 1 attends to itself
    expect(shown(view)[1].style.backgroundColor).toBe('');
  });

  it('commits the slider value and plays token by token', () => {
    vi.useFakeTimers();
    const steps: number[] = [];
    const view = new GenerationView(s => steps.push(s));
    view.update(state(3));
    const slider = view.el.querySelector<HTMLInputElement>('.aw-gen-step')!;
    expect(slider.max).toBe('3');
    slider.value = '1';
    slider.dispatchEvent(new Event('input'));
    expect(steps).toEqual([1]);
    view.el.querySelector<HTMLButtonElement>('.aw-gen-play')!.click(); // at the end: restart from 0
    expect(steps.at(-1)).toBe(0);
    view.update(state(2));
    vi.advanceTimersByTime(250);
    expect(steps.at(-1)).toBe(3);
    expect(view.el.querySelector('.aw-gen-play')!.textContent).toBe('Play'); // stopped at the last token
    view.update(state(1)); // e.g. the kernel sets step afterwards: nothing plays on
    vi.advanceTimersByTime(1000);
    expect(steps.at(-1)).toBe(3);
    view.dispose();
    vi.useRealTimers();
  });

  it('waits for tiles from the kernel and repaints when they come', async () => {
    let resolve: () => void = () => undefined;
    const gate = new Promise<void>(r => (resolve = r));
    const view = new GenerationView(() => undefined);
    view.update(
      state(2, {
        fetchFor: b => async r => {
          await gate;
          return denseTile(b, r);
        }
      })
    );
    expect(view.el.querySelector('.aw-gen-attended')!.textContent).toBe('loading attention…');
    resolve();
    await gate;
    await new Promise(r => setTimeout(r, 0));
    expect(view.el.querySelector('.aw-gen-attended')!.textContent).toContain('attends most to: the 100%');
  });
});
