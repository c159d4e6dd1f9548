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
 * The same happens while the notebook stays open when its kernel restarts, dies or shuts down (or the
 * notebook changes kernel): the widget manager keeps the old views on screen, disconnected from any
 * kernel, so each of them is replaced by its saved copy, taking the view's current state.
 *
 * How: the widget manager (@jupyter-widgets/jupyterlab-manager) registers its renderer factory for
 * the widget-view MIME type in each notebook's rendermime, first a placeholder (no manager yet), then,
 * once a kernel is connected, a factory bound to the manager (removeMimeType + addFactory). Neither the
 * manager nor its "model missing" state is public API, so each notebook's widget-view factory is wrapped
 * (including the one registered later: see `watchNotebook`, the one place that depends on this) and the
 * wrapper watches what the manager's renderer shows. If a later widget manager registered its factory
 * another way, outputs would show the manager's own renderer (or, before a manager, the saved copy):
 * never a blank output. Kernel restarts and shutdowns come from the session context's public signals.
 */

import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import type { ISessionContext } from '@jupyterlab/apputils';
import type { DocumentRegistry } from '@jupyterlab/docregistry';
import type { IRenderMime, IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Panel, Widget } from '@lumino/widgets';

const WIDGET_VIEW = 'application/vnd.jupyter.widget-view+json';
/** The two kinds of text/html an AttentionWidget output carries (interactive block, static picture). */
const OUR_HTML = /class="attn-widget-(export|static)"/;
/** The state JSON of an interactive block (attn_widget.export.block_html). */
const STATE_SCRIPT = /(<script type="application\/json" class="aw-state">)([^<]*)(<\/script>)/;

/** What the plugin reads of a notebook's cell models (typed here: @jupyterlab/notebook is not a dependency). */
export interface ICellModelLike {
  type: string;
  outputs?: { length: number; get(index: number): { data: IRenderMime.IMimeModel['data'] } };
}

/** What the plugin uses of a NotebookPanel. */
interface INotebookPanelLike extends Widget {
  content: { rendermime: IRenderMimeRegistry; model: { cells: Iterable<ICellModelLike> } | null };
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

/** Kernel statuses after which the widget models of the kernel before are gone (restart, crash, shutdown). */
const KERNEL_ENDED: ReadonlySet<string> = new Set(['restarting', 'autorestarting', 'dead']);

/** True when a session's kernel status means the widget models on screen no longer have a kernel. */
export function kernelEnded(status: string): boolean {
  return KERNEL_ENDED.has(status);
}

/**
 * True when a session's kernel change leaves the widget models of kernel `before` without a kernel
 * (shut down, or another kernel chosen); false when a first kernel connects (`before` undefined).
 */
export function kernelReplaced(before: string | undefined, after: string | undefined): boolean {
  return before !== undefined && before !== after;
}

/** Model ids of the widget-view outputs of `cells` (a notebook model's cells, rendered or not). */
export function widgetViewIds(cells: Iterable<ICellModelLike>): string[] {
  const ids: string[] = [];
  for (const cell of cells) {
    if (cell.type !== 'code' || !cell.outputs) continue;
    for (let i = 0; i < cell.outputs.length; i++) {
      const id = modelId(cell.outputs.get(i).data);
      if (id) ids.push(id);
    }
  }
  return ids;
}

function modelId(data: IRenderMime.IMimeModel['data']): string | undefined {
  return (data[WIDGET_VIEW] as { model_id?: string } | undefined)?.model_id;
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
  constructor(
    readonly rendermime: IRenderMimeRegistry,
    private readonly cells: () => Iterable<ICellModelLike>
  ) {}

  /** Factory of the widget manager's renderers: the placeholder until `managed`. */
  live: IRenderMime.IRendererFactory | null = null;
  /** Whether `live` is bound to a widget manager (a kernel is connected). */
  managed = false;
  readonly renderers = new Set<SavedCopyRenderer>();
  /** Model ids of widget views whose kernel restarted, died or shut down: shown as saved copies. */
  private readonly orphans = new Set<string>();

  wrap(factory: IRenderMime.IRendererFactory, managed: boolean): IRenderMime.IRendererFactory {
    this.live = factory;
    this.managed = managed;
    if (managed) for (const r of this.renderers) r.managerChanged();
    return { ...factory, createRenderer: options => new SavedCopyRenderer(options, this) };
  }

  /** Whether `model`'s widget view belongs to a kernel that is gone. */
  isOrphan(model: IRenderMime.IMimeModel): boolean {
    const id = modelId(model.data);
    return id !== undefined && this.orphans.has(id);
  }

  /**
   * The kernel restarted, died or shut down: every widget view of the notebook (outputs not rendered
   * yet included) is an orphan, and the rendered ones switch to their saved copy. Outputs of cells run
   * afterwards have new model ids and render live.
   */
  kernelGone(): void {
    for (const id of widgetViewIds(this.cells())) this.orphans.add(id);
    for (const r of this.renderers) r.kernelGone();
  }

  /** Before a save: saved copies take the live views' state. */
  storeLiveState(): void {
    for (const r of this.renderers) r.storeLiveState();
  }
}

/** The root element of a view (live or saved copy) with its anywidget model (js/widget/app.ts). */
type ViewRoot = HTMLElement & { attnModel?: ILiveModel };

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

  /** The widget manager's renderer; null once its kernel is gone (the dead view is disposed). */
  private live: LiveRenderer | null;
  private managed = false;
  private model: IRenderMime.IMimeModel | null = null;
  private savedCopy: Panel | null = null;
  private readonly watcher = new MutationObserver(() => this.check());

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const previous = this.model;
    this.model = model;
    if (isAttentionOutput(model.data)) {
      if (previous && this.sameView(previous, model)) return; // only our stored state changed
      if (this.notebook.isOrphan(model)) return this.orphan(model.data['text/html'] as string);
    }
    this.dropSavedCopy();
    const live = this.live ?? this.createLive();
    const rendered = live.renderModel(model);
    if (!isAttentionOutput(model.data)) return rendered;
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
    if (this.isDisposed || !this.live || this.isLive()) return;
    this.live.dispose();
    const live = this.createLive();
    if (this.model) void live.renderModel(this.model).then(() => this.check());
  }

  /**
   * This output's kernel is gone: the dead live view gives way to the saved copy, in the view's current
   * state; a saved copy already shown (no live view) stays as it is.
   */
  kernelGone(): void {
    if (this.isDisposed || !this.live || !this.model || !isAttentionOutput(this.model.data)) return;
    if (this.notebook.isOrphan(this.model)) this.orphan(this.isLive() ? this.currentHtml() : undefined);
  }

  /** Copy the JSON traits of the view on screen (live, else the saved copy) into the output's text/html. */
  storeLiveState(): void {
    const model = this.model as (IRenderMime.IMimeModel & { data: Record<string, unknown> }) | null;
    if (!model || !isAttentionOutput(model.data)) return;
    const updated = this.currentHtml();
    if (updated !== model.data['text/html']) model.setData({ data: { ...model.data, 'text/html': updated } });
  }

  dispose(): void {
    this.watcher.disconnect();
    this.notebook.renderers.delete(this);
    super.dispose();
  }

  /** The output's text/html with the JSON traits of the view on screen (unchanged when there is none). */
  private currentHtml(): string {
    const html = this.model!.data['text/html'] as string;
    const root = this.node.querySelector('.attn-widget') as ViewRoot | null;
    const model = root?.attnModel;
    return model ? withCurrentState(html, key => model.get(key)) : html;
  }

  private createLive(): LiveRenderer {
    this.managed = this.notebook.managed;
    const live = this.notebook.live!.createRenderer(this.options);
    this.watcher.disconnect();
    this.watcher.observe(live.node, { childList: true, subtree: true, attributes: true, attributeFilter: ['class'] });
    this.insertWidget(0, live);
    this.live = live;
    return live;
  }

  private sameView(a: IRenderMime.IMimeModel, b: IRenderMime.IMimeModel): boolean {
    return modelId(a.data) === modelId(b.data);
  }

  private isLive(): boolean {
    return this.live?.node.querySelector('.attn-widget') != null;
  }

  /** Live view there: drop the saved copy. Manager says the model is missing: show the saved copy. */
  private check(): void {
    if (this.isDisposed || !this.live || !this.model || !isAttentionOutput(this.model.data)) return;
    if (this.isLive()) {
      this.dropSavedCopy();
      this.live.show();
    } else if (this.live.hasClass('jupyter-widgets')) {
      this.showSavedCopy();
    }
  }

  /**
   * Dispose the live view (its kernel is gone) and show the saved copy: `html` in place of any copy
   * shown, or without `html` the copy shown (else the output's own text/html).
   */
  private orphan(html?: string): void {
    this.watcher.disconnect();
    this.live?.dispose();
    this.live = null;
    if (html !== undefined) this.dropSavedCopy();
    this.showSavedCopy(html);
  }

  private dropSavedCopy(): void {
    this.savedCopy?.dispose();
    this.savedCopy = null;
  }

  /** Hide the live view and show `html` (by default the output's own text/html) marked as saved. */
  private showSavedCopy(html?: string): void {
    this.live?.hide();
    if (this.savedCopy || !this.model) return;
    const note = new Widget();
    note.addClass('aw-saved-copy-note');
    note.node.textContent = 'attn-widget: saved copy (no live widget for this output). Run the cell for the live view.';
    const renderer = this.notebook.rendermime.createRenderer('text/html');
    this.savedCopy = new Panel();
    this.savedCopy.addClass('aw-saved-copy');
    this.savedCopy.addWidget(note);
    this.savedCopy.addWidget(renderer);
    this.addWidget(this.savedCopy);
    const { data, metadata, trusted } = this.model;
    // A copy of the output's model: showing the view's current state does not edit the notebook.
    const copy: IRenderMime.IMimeModel = {
      trusted,
      metadata,
      data: html === undefined ? data : { ...data, 'text/html': html },
      setData: () => undefined
    };
    void renderer.renderModel(copy);
  }
}

/**
 * Wrap `rendermime`'s widget-view factory, now and whenever one is registered, and orphan the widget
 * views when the kernel goes.
 *
 * Depends on jupyterlab_widgets 3.0.x internals (the one place that does): its widget manager puts its
 * renderer factory in each notebook's rendermime with `addFactory` once a kernel is connected, so
 * `addFactory` is wrapped here. Without that, outputs keep the manager's own renderer.
 */
function watchNotebook(panel: INotebookPanelLike): void {
  const { rendermime } = panel.content;
  const outputs = new NotebookOutputs(rendermime, () => panel.content.model?.cells ?? []);
  const current = rendermime.getFactory(WIDGET_VIEW);
  if (current) rendermime.addFactory(outputs.wrap(current, false), rendermime.getRank(WIDGET_VIEW));
  const addFactory = rendermime.addFactory.bind(rendermime);
  rendermime.addFactory = (factory, rank) => addFactory(factory.mimeTypes.includes(WIDGET_VIEW) ? outputs.wrap(factory, true) : factory, rank);
  panel.context.saveState.connect((_, state) => {
    if (state === 'started') outputs.storeLiveState(); // synchronous: before the model is serialised
  });
  watchKernel(panel.context.sessionContext, outputs);
}

/** Orphan the notebook's widget views when its kernel restarts, dies, shuts down or is replaced. */
function watchKernel(session: ISessionContext, outputs: NotebookOutputs): void {
  session.statusChanged.connect((_, status) => {
    if (kernelEnded(status)) outputs.kernelGone();
  });
  session.kernelChanged.connect((_, change) => {
    if (kernelReplaced(change.oldValue?.id, change.newValue?.id)) outputs.kernelGone();
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
