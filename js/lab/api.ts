import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** One run as listed by `GET attn-widget/runs`. */
export interface IRunInfo {
  /** Path relative to the server's runs root ('/'-separated): the run's id in every request. */
  name: string;
  last_step: number | null;
  updated: number;
  size: number;
  tags: string[];
  live: boolean;
  warnings: string[];
}

export interface IRunsResponse {
  /** The listed folder, relative to the server's runs root ('' for the root itself). */
  root: string;
  runs: IRunInfo[];
}

export interface IScalarSeries {
  steps: number[];
  wall_times: number[];
  /** null where the logged value was NaN or ±inf. */
  values: (number | null)[];
}

export interface IScalarsResponse {
  run: string;
  tags: Record<string, IScalarSeries>;
  warnings: string[];
}

/** `attn-widget/runs/<run>/scalars?...` relative to the base URL; each run path segment encoded. */
export function scalarsPath(run: string, tags: string[], maxPoints: number): string {
  const segments = run.split('/').map(encodeURIComponent).join('/');
  const query = URLExt.objectToQueryString({ tags: tags.join(','), max_points: maxPoints });
  return `attn-widget/runs/${segments}/scalars${query}`;
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
  return getJson(`attn-widget/runs${logdir ? URLExt.objectToQueryString({ logdir }) : ''}`);
}

export function fetchScalars(
  run: string,
  tags: string[],
  maxPoints: number
): Promise<IScalarsResponse> {
  return getJson(scalarsPath(run, tags, maxPoints));
}
