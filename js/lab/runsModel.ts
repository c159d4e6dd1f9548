import type { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { type ISignal, Signal } from '@lumino/signaling';
import { fetchRuns, type IRootInfo, type IRunInfo } from './api';
import { RunColors } from './colors';

/**
 * The runs of the configured logdir, reloaded by a JupyterLab `Poll` while someone looks: the
 * sidebar starts it when shown and stops it when hidden, so a hidden sidebar fetches nothing. Views
 * listen to `changed`; a failure empties the list and says why in `error`.
 */
export class RunsModel implements IDisposable {
  runs: IRunInfo[] = [];
  /** The listed folder, relative to the server's runs root ('' for the root itself). */
  root = '';
  /** The served roots (named ones are the sidebar's groups) with their warnings. */
  roots: IRootInfo[] = [];
  error = '';
  readonly colors = new RunColors();
  private _logdir = '';
  private _loaded = false;
  private active = false; // between start() and stop(): someone looks
  private pending: Promise<void> | null = null;
  private readonly poll: Poll;
  private readonly _changed = new Signal<this, void>(this);

  constructor(intervalSeconds = 10) {
    this.poll = new Poll({
      auto: false,
      factory: () => this.refresh(false),
      frequency: RunsModel.frequency(intervalSeconds),
      name: 'attn-widget:runs',
      standby: 'when-hidden'
    });
  }

  private static frequency(seconds: number) {
    const interval = seconds > 0 ? seconds * 1000 : Poll.NEVER;
    return { interval, max: interval, backoff: false };
  }

  /** Emitted after every load (new runs or a new error). */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Whether a listing has arrived since the logdir was set. */
  get loaded(): boolean {
    return this._loaded;
  }

  get logdir(): string {
    return this._logdir;
  }

  /** Apply settings; a new logdir empties the list (and loads it when the poll runs). */
  configure(logdir: string, intervalSeconds: number): void {
    this.poll.frequency = RunsModel.frequency(intervalSeconds);
    if (logdir !== this._logdir) {
      this._logdir = logdir;
      this.runs = [];
      this._loaded = false;
      if (this.active) {
        void this.refresh();
      }
    }
  }

  /** Poll while shown: loads now, then every interval. */
  start(): void {
    this.active = true;
    void this.poll.start();
  }

  /** Stop polling (the sidebar is hidden). */
  stop(): void {
    this.active = false;
    void this.poll.stop();
  }

  /** Load the runs now (concurrent calls share one request); `fresh`: not the server's 1-s cache. */
  refresh(fresh = true): Promise<void> {
    this.pending ??= this.load(fresh).finally(() => (this.pending = null));
    return this.pending;
  }

  private async load(fresh: boolean): Promise<void> {
    const logdir = this._logdir;
    try {
      const { root, roots, runs } = await fetchRuns(logdir, fresh);
      if (logdir !== this._logdir) {
        return;
      }
      this.root = root;
      this.roots = roots ?? [];
      this.runs = runs;
      this.error = '';
      this.colors.assign(runs.map(r => r.name));
    } catch (e) {
      this.runs = [];
      this.roots = [];
      this.error = `Cannot read runs${logdir ? ` in “${logdir}”` : ''}: ${(e as Error).message}`;
    }
    this._loaded = true;
    this._changed.emit();
  }

  get isDisposed(): boolean {
    return this.poll.isDisposed;
  }

  dispose(): void {
    this.poll.dispose();
    Signal.clearData(this);
  }
}
