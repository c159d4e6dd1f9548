"""REST handlers of the attn-widget server extension.

* ``GET {base_url}attn-widget/version`` → ``{"version": str}``
* ``GET {base_url}attn-widget/runs?logdir=<path relative to the root, optional>`` →
  ``{"root": str, "runs": [{"name", "last_step", "updated", "size", "tags", "live", "warnings"}]}``
* ``GET {base_url}attn-widget/runs/<run>/scalars?tags=a,b&max_points=N`` (``runs/scalars``: the run
  named ``.``, i.e. event files directly in the root, since browsers drop ``/./`` from URLs) →
  ``{"run": str, "tags": {tag: {"steps", "wall_times", "values"}}, "warnings": [str]}``

The root is ``c.TensorBoardRuns.root_dir`` (default: the server's ``root_dir``); paths that resolve
outside it (``..``, absolute, symlinks) get 403 before anything is read. Event files are read in a
small thread pool with readers cached per file, so the event loop stays free and a refresh reads
only appended bytes; the pool is shut down when the server stops. Nothing from TensorBoard is
imported until a request needs it.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
from concurrent.futures import ThreadPoolExecutor

from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.application import ExtensionApp
from jupyter_server.utils import url_path_join
from tornado import web
from traitlets import Float, Int, Unicode
from traitlets.config import Configurable

_SETTINGS_KEY = "attn_widget_runs"
DEFAULT_MAX_POINTS = 1000


class TensorBoardRuns(Configurable):
    """Where the runs sidebar looks for TensorBoard logs, and how much it keeps in memory."""

    root_dir = Unicode(
        "", config=True,
        help="Folder whose TensorBoard runs are served ('' = the server's root_dir). Requests for "
        "paths resolving outside it are refused.",
    )
    live_window = Float(
        180.0, config=True,
        help="A run is 'live' when one of its event files changed within this many seconds.",
    )
    max_cached_points = Int(
        20_000_000, config=True,
        help="Scalar points kept in memory across cached event-file readers (about 24 bytes each).",
    )
    read_threads = Int(2, config=True, help="Threads reading event files off the event loop.")


class _RunsState:
    """Per-server state: resolved root, reader cache and the reading thread pool."""

    def __init__(self, config: TensorBoardRuns, default_root: str):
        from ..tensorboard import ReaderCache  # numpy only; TensorBoard's protobufs load on first read

        self.root = os.path.realpath(os.path.expanduser(config.root_dir or default_root))
        self.live_window = config.live_window
        self.cache = ReaderCache(max_points=config.max_cached_points)
        self.executor = ThreadPoolExecutor(max_workers=config.read_threads, thread_name_prefix="attn-widget-runs")

    def resolve(self, rel: str, what: str) -> str:
        """Absolute real path of ``rel`` ('/'-separated, relative to the root); HTTP 403 when it is
        absolute or resolves outside the root, 404 when it is not a readable folder."""
        if rel.startswith(("/", "\\")) or os.path.isabs(rel) or os.path.splitdrive(rel)[0]:
            raise web.HTTPError(403, f"{what} must be relative to the runs root, got an absolute path")
        if ".." in rel.replace("\\", "/").split("/"):
            raise web.HTTPError(403, f"{what} must stay inside the runs root ('..' is not allowed)")
        path = os.path.realpath(os.path.join(self.root, *rel.split("/")))
        if os.path.commonpath([self.root, path]) != self.root:
            raise web.HTTPError(403, f"{what} resolves outside the runs root")
        if not os.path.isdir(path) or not os.access(path, os.R_OK | os.X_OK):
            raise web.HTTPError(404, f"{what} not found or not readable: {rel or '.'}")
        return path

    def name(self, path: str) -> str:
        """Run name of an absolute path: relative to the root, '/' separators, '.' for the root."""
        return os.path.relpath(path, self.root).replace(os.sep, "/")

    async def call(self, fn, *args, **kwargs):
        """Run ``fn`` in the reading pool."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, lambda: fn(*args, **kwargs))


class _RunsHandler(APIHandler):
    @property
    def runs_state(self) -> _RunsState:
        return self.settings[_SETTINGS_KEY]


class VersionHandler(APIHandler):
    """``GET {base_url}attn-widget/version``: the installed package version (auth required)."""

    @web.authenticated
    def get(self) -> None:
        from .. import __version__

        self.finish(json.dumps({"version": __version__}))


class RunsHandler(_RunsHandler):
    """``GET {base_url}attn-widget/runs?logdir=``: the runs below ``logdir`` (default: the root)."""

    @web.authenticated
    async def get(self) -> None:
        from ..tensorboard import list_runs

        state = self.runs_state
        rel = self.get_query_argument("logdir", "").rstrip("/")
        logdir = state.resolve(rel, "logdir")
        try:
            runs = await state.call(list_runs, logdir, cache=state.cache, live_window=state.live_window)
        except OSError as exc:
            raise web.HTTPError(404, f"logdir cannot be read: {rel or '.'} ({exc.strerror or exc})") from exc
        root_rel = state.name(logdir)
        self.finish(json.dumps({
            "root": "" if root_rel == "." else root_rel,
            "runs": [
                {
                    "name": state.name(run.path),
                    "last_step": run.last_step,
                    "updated": run.updated,
                    "size": run.size,
                    "tags": run.tags,
                    "live": run.live,
                    "warnings": run.warnings,
                }
                for run in runs
            ],
        }))


def _finite_list(values) -> list:
    """JSON-safe list: NaN and ±inf become null."""
    return [v if math.isfinite(v) else None for v in values.tolist()]


class ScalarsHandler(_RunsHandler):
    """``GET {base_url}attn-widget/runs/<run>/scalars?tags=a,b&max_points=N``: a run's scalars, each
    tag downsampled to at most ``max_points`` (default 1000, >= 4) with LTTB keeping min and max."""

    @web.authenticated
    async def get(self, run: str = ".") -> None:
        from ..tensorboard import downsample, read_scalars

        state = self.runs_state
        raw_max = self.get_query_argument("max_points", str(DEFAULT_MAX_POINTS))
        try:
            max_points = int(raw_max)
        except ValueError:
            raise web.HTTPError(400, f"max_points must be an integer, got {raw_max!r}") from None
        if max_points < 4:
            raise web.HTTPError(400, f"max_points must be at least 4, got {max_points}")
        raw_tags = self.get_query_argument("tags", "")
        tags = [t for t in raw_tags.split(",") if t] or None
        path = state.resolve("" if run == "." else run.rstrip("/"), "run")

        def read() -> tuple[dict, list[str]]:
            scalars = read_scalars(path, cache=state.cache, tags=tags)
            out = {}
            for tag, series in scalars.items():
                small = downsample(series, max_points)
                out[tag] = {
                    "steps": small.steps.tolist(),
                    "wall_times": small.wall_times.tolist(),
                    "values": _finite_list(small.values),
                }
            return out, scalars.warnings

        try:
            series, warnings = await state.call(read)
        except FileNotFoundError as exc:
            raise web.HTTPError(404, f"no TensorBoard event files in run {run!r}") from exc
        self.finish(json.dumps({"run": state.name(path), "tags": series, "warnings": warnings}, allow_nan=False))


def setup_handlers(server_app) -> None:
    """Register the handlers and the runs state on ``server_app``'s tornado application."""
    web_app = server_app.web_app
    config = TensorBoardRuns(parent=server_app)
    web_app.settings[_SETTINGS_KEY] = _RunsState(config, server_app.root_dir)
    base = url_path_join(web_app.settings["base_url"], "attn-widget")
    web_app.add_handlers(".*$", [
        (url_path_join(base, "version"), VersionHandler),
        (url_path_join(base, "runs"), RunsHandler),
        (url_path_join(base, "runs", "scalars"), ScalarsHandler),
        (url_path_join(base, "runs", "(.+)", "scalars"), ScalarsHandler),
    ])


class RunsExtension(ExtensionApp):
    """The server extension: registers the handlers, and shuts the reading pool down when the
    server stops (``stop_extension``, the shutdown hook jupyter_server 2 gives ``ExtensionApp``s)."""

    name = "attn_widget"

    def initialize_handlers(self) -> None:
        setup_handlers(self.serverapp)

    async def stop_extension(self) -> None:
        self.serverapp.web_app.settings[_SETTINGS_KEY].executor.shutdown(wait=False, cancel_futures=True)
