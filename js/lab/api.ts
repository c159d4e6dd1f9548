import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** One run as listed by `GET attn-widget/runs`. */
export interface IRunInfo {
  name: string;
  last_step: number | null;
  updated: number;
  size: number;
  tags: string[];
  live: boolean;
  warnings: string[];
}

export interface IRunsResponse {
  root: string;
  runs: IRunInfo[];
}

export interface IScalarSeries {
  steps: number[];
  wall_times: number[];
  values: number[];
}

export interface IScalarsResponse {
  run: string;
  tags: Record<string, IScalarSeries>;
  warnings: string[];
}

/** `?logdir=...&...` (logdir only when set: the server's default is its root). */
function query(logdir: string, params: Record<string, string | number> = {}): string {
  return URLExt.objectToQueryString(logdir ? { logdir, ...params } : params);
}

/**
 * `attn-widget/runs/<run>/scalars?...` relative to the base URL; each run path segment encoded.
 * `logdir` is the one the run was listed under (run names are relative to it).
 */
export function scalarsPath(run: string, tags: string[], maxPoints: number, logdir = ''): string {
  const segments = run.split('/').map(encodeURIComponent).join('/');
  return `attn-widget/runs/${segments}/scalars${query(logdir, { tags: tags.join(','), max_points: maxPoints })}`;
}

async function getJson<T>(path: string): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const response = await ServerConnection.makeRequest(
    URLExt.join(settings.baseUrl, path),
    {},
    settings
  );
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(body.message || `${response.status} ${response.statusText}`);
  }
  return body as T;
}

export function fetchRuns(logdir: string): Promise<IRunsResponse> {
  return getJson(`attn-widget/runs${query(logdir)}`);
}

export function fetchScalars(
  run: string,
  tags: string[],
  maxPoints: number,
  logdir: string
): Promise<IScalarsResponse> {
  return getJson(scalarsPath(run, tags, maxPoints, logdir));
}
