/**
 * Saved copies of attn-widget views in reopened notebooks.
 *
 * JupyterLab and Notebook 7 do not save widget state by default, so a notebook reopened on a new
 * kernel has outputs whose widget model is gone: the widget manager shows "Error displaying widget:
 * model not found" and ignores the output's other data. Every attn-widget output also carries its
 * view offline in `text/html` (attn_widget.export.fallback_bundle: the interactive page block, or the
 * picture above the size cap). This plugin shows that copy, marked as saved, until the live widget
 * renders; running the cell again gives the live widget. Before each save, the copy takes the JSON
 * traits of the view on screen (selection, view, mode...), so a reopened notebook shows what was on screen.
 *
 * How: the widget manager (@jupyter-widgets/jupyterlab-manager) registers its renderer factory for
 * the widget-view MIME type in each notebook's rendermime, first a placeholder (no manager yet), then,
 * once a kernel is connected, a factory bound to the manager (removeMimeType + addFactory). Neither the
 * manager nor its "model missing" state is public API, so each notebook's widget-view factory is wrapped
 * (including the one registered later) and the wrapper watches what the manager's renderer shows.
 */

import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import type { DocumentRegistry } from '@jupyterlab/docregistry';
import type { IRenderMime, IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Panel, Widget } from '@lumino/widgets';

const WIDGET_VIEW = 'application/vnd.jupyter.widget-view+json';
/** The two kinds of text/html an AttentionWidget output carries (interactive block, static picture). */
const OUR_HTML = /class="attn-widget-(export|static)"/;
/** The state JSON of an interactive block (attn_widget.export.block_html). */
const STATE_SCRIPT = /(<script type="application\/json" class="aw-state">)([^<]*)(<\/script>)/;

/** What the plugin uses of a NotebookPanel (typed here: @jupyterlab/notebook is not a dependency). */
interface INotebookPanelLike extends Widget {
  content: { rendermime: IRenderMimeRegistry };
  context: DocumentRegistry.IContext<DocumentRegistry.IModel>;
}

/** The anywidget model the live view exposes on its root element (js/widget/index.ts). */
interface ILiveModel {
  get(key: string): unknown;
}

type LiveRenderer = IRenderMime.IRenderer;

/** True for the outputs of an attn_widget.AttentionWidget (text/html made by attn_widget.export). */
export function isAttentionOutput(data: IRenderMime.IMimeModel['data']): boolean {
  const html = data['text/html'];
  return WIDGET_VIEW in data && typeof html === 'string' && OUR_HTML.test(html);
}

function holdsBinary(value: unknown): boolean {
  if (value instanceof DataView || value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return true;
  if (Array.isArray(value)) return value.some(holdsBinary);
  return typeof value === 'object' && value !== null && Object.values(value).some(holdsBinary);
}

/**
 * `html` (an interactive block) with its saved state's JSON traits replaced by `current`'s values;
 * the encoded buffers (`{"$b64z": ...}`) and keys `current` cannot give as JSON stay as saved.
 * Returns `html` itself when nothing changed or it has no state (the picture above the size cap).
 */
export function withCurrentState(html: string, current: (key: string) => unknown): string {
  const match = STATE_SCRIPT.exec(html);
  if (!match) return html;
  const state = JSON.parse(match[2]) as Record<string, unknown>;
  let changed = false;
  for (const [key, saved] of Object.entries(state)) {
    const value = current(key);
    if (value === undefined || holdsBinary(value) || JSON.stringify(saved).includes('"$b64z"')) continue;
    if (JSON.stringify(value) !== JSON.stringify(saved)) {
      state[key] = value;
      changed = true;
    }
  }
  if (!changed) return html;
  // Same escaping as attn_widget.export._script_json: no "<" inside the script element.
  const json = JSON.stringify(state).replace(/</g, '\\u003c');
  return html.slice(0, match.index) + match[1] + json + match[3] + html.slice(match.index + match[0].length);
}

/** One notebook: its rendermime, the current widget-view factory, and the renderers made from it. */
class NotebookOutputs {
  constructor(readonly rendermime: IRenderMimeRegistry) {}

  /** Factory of the widget manager's renderers: the placeholder until `managed`. */
  live: IRenderMime.IRendererFactory | null = null;
  /** Whether `live` is bound to a widget manager (a kernel is connected). */
  managed = false;
  readonly renderers = new Set<SavedCopyRenderer>();

  wrap(factory: IRenderMime.IRendererFactory, managed: boolean): IRenderMime.IRendererFactory {
    this.live = factory;
    this.managed = managed;
    if (managed) for (const r of this.renderers) r.managerChanged();
    return { ...factory, createRenderer: options => new SavedCopyRenderer(options, this) };
  }

  /** Before a save: saved copies take the live views' state. */
  storeLiveState(): void {
    for (const r of this.renderers) r.storeLiveState();
  }
}

/**
 * An output of the widget-view MIME type: the widget manager's renderer (`live`) and, for attn-widget
 * outputs whose live view is not there, the saved copy from the output's text/html.
 */
export class SavedCopyRenderer extends Panel implements IRenderMime.IRenderer {
  constructor(
    private readonly options: IRenderMime.IRendererOptions,
    private readonly notebook: NotebookOutputs
  ) {
    super();
    this.addClass('aw-output');
    this.live = this.createLive();
    notebook.renderers.add(this);
  }

  private live: LiveRenderer;
  private managed = false;
  private model: IRenderMime.IMimeModel | null = null;
  private savedCopy: Panel | null = null;
  private readonly watcher = new MutationObserver(() => this.check());

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const previous = this.model;
    this.model = model;
    if (!isAttentionOutput(model.data)) return this.live.renderModel(model);
    if (previous && this.sameView(previous, model)) return; // only our stored state changed
    const rendered = this.live.renderModel(model);
    if (!this.managed) {
      // No widget manager yet: the notebook was just opened; show the saved copy while it connects.
      this.showSavedCopy();
      return;
    }
    await rendered;
    this.check();
  }

  /** The notebook's widget manager registered its factory: render with it. */
  managerChanged(): void {
    if (this.isDisposed || this.isLive()) return;
    this.live.dispose();
    this.live = this.createLive();
    if (this.model) void this.live.renderModel(this.model).then(() => this.check());
  }

  /** Copy the JSON traits of the view on screen (live, else the saved copy) into the output's text/html. */
  storeLiveState(): void {
    const root = this.node.querySelector('.attn-widget') as (HTMLElement & { attnModel?: ILiveModel }) | null;
    const model = this.model as (IRenderMime.IMimeModel & { data: Record<string, unknown> }) | null;
    if (!root?.attnModel || !model || !isAttentionOutput(model.data)) return;
    const html = model.data['text/html'] as string;
    const updated = withCurrentState(html, key => root.attnModel!.get(key));
    if (updated !== html) model.setData({ data: { ...model.data, 'text/html': updated } });
  }

  dispose(): void {
    this.watcher.disconnect();
    this.notebook.renderers.delete(this);
    super.dispose();
  }

  private createLive(): LiveRenderer {
    this.managed = this.notebook.managed;
    const live = this.notebook.live!.createRenderer(this.options);
    this.watcher.disconnect();
    this.watcher.observe(live.node, { childList: true, subtree: true, attributes: true, attributeFilter: ['class'] });
    this.insertWidget(0, live);
    return live;
  }

  private sameView(a: IRenderMime.IMimeModel, b: IRenderMime.IMimeModel): boolean {
    const id = (m: IRenderMime.IMimeModel) => (m.data[WIDGET_VIEW] as { model_id?: string } | undefined)?.model_id;
    return id(a) === id(b);
  }

  private isLive(): boolean {
    return this.live.node.querySelector('.attn-widget') !== null;
  }

  /** Live view there: drop the saved copy. Manager says the model is missing: show the saved copy. */
  private check(): void {
    if (this.isDisposed || !this.model || !isAttentionOutput(this.model.data)) return;
    if (this.isLive()) {
      this.savedCopy?.dispose();
      this.savedCopy = null;
      this.live.show();
    } else if (this.live.hasClass('jupyter-widgets')) {
      this.showSavedCopy();
    }
  }

  private showSavedCopy(): void {
    this.live.hide();
    if (this.savedCopy || !this.model) return;
    const note = new Widget();
    note.addClass('aw-saved-copy-note');
    note.node.textContent = 'attn-widget: saved copy (no live widget for this output). Run the cell for the live view.';
    const html = this.notebook.rendermime.createRenderer('text/html');
    this.savedCopy = new Panel();
    this.savedCopy.addClass('aw-saved-copy');
    this.savedCopy.addWidget(note);
    this.savedCopy.addWidget(html);
    this.addWidget(this.savedCopy);
    void html.renderModel(this.model);
  }
}

/** Wrap `rendermime`'s widget-view factory, now and whenever one is registered (by the widget manager). */
function watchNotebook(panel: INotebookPanelLike): void {
  const { rendermime } = panel.content;
  const outputs = new NotebookOutputs(rendermime);
  const current = rendermime.getFactory(WIDGET_VIEW);
  if (current) rendermime.addFactory(outputs.wrap(current, false), rendermime.getRank(WIDGET_VIEW));
  const addFactory = rendermime.addFactory.bind(rendermime);
  rendermime.addFactory = (factory, rank) => addFactory(factory.mimeTypes.includes(WIDGET_VIEW) ? outputs.wrap(factory, true) : factory, rank);
  panel.context.saveState.connect((_, state) => {
    if (state === 'started') outputs.storeLiveState(); // synchronous: before the model is serialised
  });
}

/** Reopened notebooks show attn-widget outputs as their saved copy instead of "model not found". */
export const savedCopyPlugin: JupyterFrontEndPlugin<void> = {
  id: 'attn-widget:saved-copy',
  description: 'Shows the saved copy of attn-widget outputs whose widget model is gone (reopened notebooks).',
  autoStart: true,
  activate: (app: JupyterFrontEnd) => {
    const connect = () => {
      const factory = app.docRegistry.getWidgetFactory('Notebook');
      if (!factory || connected) return;
      connected = true;
      factory.widgetCreated.connect((_, panel) => watchNotebook(panel as unknown as INotebookPanelLike));
    };
    let connected = false;
    connect();
    app.docRegistry.changed.connect(connect);
  }
};
