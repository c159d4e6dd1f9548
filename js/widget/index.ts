/**
 * attn-widget's anywidget module (entry point, wiring only). Layers, imports pointing down:
 *   protocol/  the wire format: trait types, decoding, RPC, tiles from the kernel, exported pages' model
 *   state/     pure derivation of what to draw from the traits (unit-tested without a DOM)
 *   views/     toolbar, head, heatmap, model, neuron, summary and generation views, image export
 *   app.ts     one rendered widget: traits → state → views, and the browser's changes back
 */

import './widget.css';
import type { RenderProps } from '@anywidget/types';
import { WidgetApp } from './app';
import type { Traits } from './protocol/model';
import { decodeBuffers, StandaloneModel } from './protocol/standalone';

function render({ model, el }: Pick<RenderProps<Traits>, 'model' | 'el'>): () => void {
  const app = new WidgetApp(model, el);
  return () => app.dispose();
}

/** Exported pages (attn_widget/export.py): render a widget from its saved state into `el`; returns the model. */
export async function mountStandalone(el: HTMLElement, encodedState: unknown): Promise<StandaloneModel> {
  const model = new StandaloneModel((await decodeBuffers(encodedState)) as Traits);
  render({ model, el });
  return model;
}

/** anywidget's module shape (a named `render` export is deprecated by anywidget 0.9+). */
export default { render };
