import { describe, expect, it } from 'vitest';
import { type ICellModelLike, isAttentionOutput, kernelEnded, kernelReplaced, widgetViewIds, withCurrentState } from './savedCopy';

const state = { layer: 0, heads: [0, 1], tokens: ['<b>', 'x'], attention_data: { self: { layers: [{ $b64z: 'eJw=' }] } } };
const block = (s: object) =>
  `<div class="attn-widget-export"><div class="attn-widget-host">pic</div>` +
  `<script type="application/json" class="aw-state">${JSON.stringify(s).replace(/</g, '\\u003c')}</script></div><script>x</script>`;
const saved = (html: string) => JSON.parse(/class="aw-state">([^<]*)</.exec(html)![1]);

describe('withCurrentState', () => {
  it('takes the live JSON traits and keeps the saved buffers', () => {
    const live: Record<string, unknown> = {
      layer: 2,
      heads: [1],
      tokens: ['<b>', 'x'],
      attention_data: { self: { layers: [new DataView(new ArrayBuffer(4))] } }
    };
    const html = withCurrentState(block(state), k => live[k]);
    expect(saved(html)).toEqual({ ...state, layer: 2, heads: [1] });
    expect(html.endsWith('</div><script>x</script>')).toBe(true);
    expect(/class="aw-state">[^<]*<\/script>/.test(html)).toBe(true); // no "<" inside the JSON
  });

  it('leaves pictures and unchanged state alone', () => {
    const picture = '<div class="attn-widget-static"><img src="data:image/png;base64,AA"></div>';
    expect(withCurrentState(picture, () => 3)).toBe(picture);
    const html = block(state);
    expect(withCurrentState(html, k => (state as Record<string, unknown>)[k])).toBe(html);
  });
});

describe('isAttentionOutput', () => {
  it('needs the widget view and our text/html', () => {
    const view = { 'application/vnd.jupyter.widget-view+json': { model_id: 'a' } };
    expect(isAttentionOutput({ ...view, 'text/html': block(state) })).toBe(true);
    expect(isAttentionOutput({ ...view, 'text/html': '<div>other widget</div>' })).toBe(false);
    expect(isAttentionOutput({ 'text/html': block(state) })).toBe(false);
  });
});

describe('kernel ends', () => {
  it('restarts, crashes and shutdowns end the widget models; busy, idle and starting do not', () => {
    expect(['restarting', 'autorestarting', 'dead'].map(kernelEnded)).toEqual([true, true, true]);
    expect(['idle', 'busy', 'starting', 'unknown', 'terminating'].some(kernelEnded)).toBe(false);
  });

  it('a shutdown or another kernel ends them; the first kernel connecting does not', () => {
    expect(kernelReplaced('k1', undefined)).toBe(true);
    expect(kernelReplaced('k1', 'k2')).toBe(true);
    expect(kernelReplaced(undefined, 'k1')).toBe(false);
    expect(kernelReplaced('k1', 'k1')).toBe(false);
  });
});

describe('widgetViewIds', () => {
  it('lists the widget views of code cells, in order', () => {
    const outputs = (...data: object[]) => ({ length: data.length, get: (i: number) => ({ data: data[i] as never }) });
    const view = (id: string) => ({ 'application/vnd.jupyter.widget-view+json': { model_id: id }, 'text/plain': id });
    const cells: ICellModelLike[] = [
      { type: 'markdown' },
      { type: 'code', outputs: outputs(view('a'), { 'text/plain': 'x' }, view('b')) },
      { type: 'code', outputs: outputs() },
      { type: 'code', outputs: outputs(view('c')) }
    ];
    expect(widgetViewIds(cells)).toEqual(['a', 'b', 'c']);
  });
});
