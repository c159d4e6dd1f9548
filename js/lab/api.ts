import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** One run as listed by `GET attn-widget/runs`: a folder directly holding event files. */
export interface IRunInfo {
  /** Path relative to the server's runs root ('/'-separated): the run's id in every request. */
  name: string;
  last_step: number | null;
  updated: number;
  size: number;
  tags: string[];
  live: boolean;
  /** Problems reading its files (corrupt records, unreadable files): shown, never fatal. */
  warnings: string[];
  /** Hyperparameters of an hparams session (torch `add_hparams`); `{}` for other runs. */
  hparams: Record<string, string | number | boolean | null>;
  /** Last value of each tag of an hparams session; `{}` for other runs. */
  metrics: Record<string, number>;
  /** Set for a folder written by torch `add_scalars(tag, {key: ...})` below run `parent`. */
  scalars_group: { parent: string; tag: string; key: string } | null;
  /** Probe texts with attention snapshots (`log_attention`); 0 or absent: none. */
  snapshots?: number;
  /** Name of the root it was found in (`TensorBoardRuns.roots`); '' when there is one unnamed root. */
  group?: string;
}

/** A served root: its name ('' when unnamed), whether it is object storage, and its problems. */
export interface IRootInfo {
  name: string;
  remote: boolean;
  /** Storage unreachable, too slow, denied, vanished: that root's runs are missing or stale. */
  warnings: string[];
}

export interface IRunsResponse {
  /** The listed folder, relative to the server's runs root ('' for the root itself). */
  root: string;
  roots?: IRootInfo[];
  runs: IRunInfo[];
}

export interface IScalarSeries {
  steps: number[];
  wall_times: number[];
  /** Logged values; NaN, Infinity and -Infinity included (decoded from the server's strings). */
  values: number[];
}

export interface IScalarsResponse {
  run: string;
  tags: Record<string, IScalarSeries>;
  warnings: string[];
}

/**
 * Call `{baseUrl}attn-widget/<endPoint>` and return the response of a success status.
 * Throws `ServerConnection.NetworkError` when the server cannot be reached and
 * `ServerConnection.ResponseError` (with the server's JSON message) for an error status.
 */
async function fetchAPI(endPoint: string, init: RequestInit = {}): Promise<Response> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'attn-widget', endPoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  if (!response.ok) {
    const body = parseBody(await response.text());
    throw new ServerConnection.ResponseError(response, body?.message ?? `${response.status} ${response.statusText}`);
  }
  return response;
}

/** A response body as JSON, else as the text itself (null when empty). */
function parseBody(text: string): any {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return text;
  }
}

/** `fetchAPI` answered with JSON (the JupyterLab extension template's `requestAPI`). */
export async function requestAPI<T>(endPoint: string, init: RequestInit = {}): Promise<T> {
  return parseBody(await (await fetchAPI(endPoint, init)).text()) as T;
}

/** The runs of `logdir`; `fresh` (a user's refresh) skips the listing the server keeps for 1 s. */
export function fetchRuns(logdir: string, fresh = false): Promise<IRunsResponse> {
  const query = { ...(logdir ? { logdir } : {}), ...(fresh ? { fresh: '1' } : {}) };
  return requestAPI(`runs${Object.keys(query).length ? URLExt.objectToQueryString(query) : ''}`);
}

/** The server sends NaN/±inf as the strings "NaN", "Infinity", "-Infinity": back to numbers. */
export function decodeValues(values: (number | string)[]): number[] {
  return values.map(v => (typeof v === 'number' ? v : Number(v)));
}

/** Scalars of `run` for `tags` (any names, any count: sent in the body), downsampled server-side. */
export async function fetchScalars(run: string, tags: string[] | null, maxPoints: number): Promise<IScalarsResponse> {
  const body = await requestAPI<IScalarsResponse>('scalars', {
    method: 'POST',
    body: JSON.stringify({ run, tags, max_points: maxPoints })
  });
  for (const series of Object.values(body.tags)) {
    series.values = decodeValues(series.values as (number | string)[]);
  }
  return body;
}

/** Steps and probe texts of a run's attention snapshots (`GET attn-widget/snapshots`). */
export interface ISnapshotSteps {
  run: string;
  steps: number[];
  texts: string[];
  /** (layers, heads, query, key) of the first text's latest snapshot. */
  shape: number[];
  layer_numbers: number[];
  head_numbers: number[] | null;
}

/** One snapshot in the widget's compact form: weight = data[l, h, q, k] / 255 · scale[l][h]. */
export interface ISnapshot {
  run: string;
  step: number;
  text: string;
  tokens: string[];
  /** (layers, heads, query, key). */
  shape: number[];
  layer_numbers: number[];
  head_numbers: number[] | null;
  scale: number[][];
  /** uint8 (layers, heads, query, key), C order. */
  data: Uint8Array;
}

export function fetchSnapshotSteps(run: string): Promise<ISnapshotSteps> {
  return requestAPI(`snapshots${URLExt.objectToQueryString({ run })}`);
}

/**
 * The attention of probe text `text` (an index) of `run` at `step`, in the endpoint's binary form
 * (raw bytes, not base64 in JSON: see `decodeSnapshotFrame`).
 */
export async function fetchSnapshot(run: string, step: number, text: number): Promise<ISnapshot> {
  const response = await fetchAPI(`snapshots/attention${URLExt.objectToQueryString({ run, step: String(step), text: String(text) })}`, {
    headers: { Accept: 'application/octet-stream' }
  });
  return decodeSnapshotFrame(await response.arrayBuffer());
}

/**
 * A snapshot from the binary answer of `GET attn-widget/snapshots/attention` (documented in
 * attn_widget/server/snapshots.py): a little-endian uint32 length, that many bytes of UTF-8 JSON
 * metadata, then the uint8 block (layers, heads, query, key), viewed in place (not copied).
 */
export function decodeSnapshotFrame(buffer: ArrayBuffer): ISnapshot {
  const length = buffer.byteLength >= 4 ? new DataView(buffer).getUint32(0, true) : -1;
  if (length < 0 || 4 + length > buffer.byteLength) {
    throw new Error(`malformed snapshot answer: ${buffer.byteLength} bytes, header of ${length} bytes`);
  }
  const meta = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, length))) as Omit<ISnapshot, 'data'>;
  const data = new Uint8Array(buffer, 4 + length);
  const expected = meta.shape.reduce((a, b) => a * b, 1);
  if (data.length !== expected) {
    throw new Error(`malformed snapshot answer: ${data.length} attention bytes for shape ${meta.shape.join(' × ')} (${expected})`);
  }
  return { ...meta, data };
}
