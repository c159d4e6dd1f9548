"""REST handlers of the attn-widget server extension.

* ``GET {base_url}attn-widget/version`` → ``{"version": str}``
* ``GET {base_url}attn-widget/runs?logdir=<path relative to the root, optional>[&fresh=1]`` →
  ``{"root": str, "runs": [{"name", "last_step", "updated", "size", "tags", "live", "warnings",
  "hparams", "metrics", "scalars_group", "snapshots"}]}`` (``snapshots``: probe texts with attention
  snapshots, 0 for none; their timeline: :mod:`attn_widget.server.snapshots`) (see :class:`attn_widget.tensorboard.RunInfo`)
* ``POST {base_url}attn-widget/scalars`` with body ``{"run": str, "tags": [str] | null,
  "max_points": int}`` (any tag names, any count), or ``GET {base_url}attn-widget/runs/<run>/scalars
  ?tag=a&tag=b&max_points=N`` (``runs/scalars``: the run named ``.``, since browsers drop ``/./``) →
  ``{"run": str, "tags": {tag: {"steps", "wall_times", "values"}}, "warnings": [str]}``. Values are
  numbers, or the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` (JSON has no such numbers;
  JavaScript's ``Number()`` reads these strings back).

The root is ``c.TensorBoardRuns.root_dir`` (default: the server's ``root_dir``), a folder or an fsspec
URL (``s3://bucket/prefix``); or several named ones, ``c.TensorBoardRuns.roots = {"local": "/logs",
"cluster": "s3://bucket/runs"}`` (TensorBoard's ``--logdir_spec``), when run names start with their
root's name (``cluster/exp1``) and each run carries ``"group"``: its root's name. The listing says
``"roots": [{"name", "remote", "warnings"}]``: a root whose storage fails or does not answer within
``remote_timeout`` gets a warning there (and its last listing) while the others are answered; each
remote root lists and reads in threads of its own. Credentials come from the storage backend's
usual sources and are never sent or logged. Paths that resolve
outside a root get 400 when the request says so (``..``, an absolute path, a null byte) and 404 when a
symlink leads there, as missing ones do, before anything is read. Listings run in a one-thread pool and scalar reads in a pool of one thread
per CPU (at least 2), JSON encoded there too; event files read from scratch are decoded in worker
processes (``read_processes``, :mod:`attn_widget.tensorboard._workers`), as are big
downsampling jobs. So the event loop and the interpreter lock stay free and a listing never waits
behind many cold reads; a listing younger than ``listing_max_age`` (1 s) is answered again at once. Downsampled answers are cached per (run, tag, max_points) until a file of the run
changes. Nothing from TensorBoard is ever imported.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.application import ExtensionApp
from jupyter_server.utils import url_path_join
from tornado import web
from traitlets import Dict, Float, Int, Unicode
from traitlets.config import Configurable

from ..tensorboard import _remote

_SETTINGS_KEY = "attn_widget_runs"
DEFAULT_MAX_POINTS = 1000
MAX_POINTS = 10_000  #: larger max_points are capped: a chart is never wider than this
#: Answers downsampling this many points or more are computed in the reading processes (LTTB is a
#: Python loop per bucket: ~5 ms per 1,000-point tag, time the event loop would wait for the GIL).
_WORKER_MIN_POINTS = 4_096


class TensorBoardRuns(Configurable):
    """Where the runs sidebar looks for TensorBoard logs, and how much it keeps in memory."""

    root_dir = Unicode(
        "", config=True,
        help="Folder or fsspec URL (s3://bucket/prefix, gs://..., file://...) whose TensorBoard runs "
        "are served ('' = the server's root_dir). Requests for paths resolving outside it are refused.",
    )
    roots = Dict(
        value_trait=Unicode(), config=True,
        help="Several named logdirs {name: folder or fsspec URL}, like TensorBoard's --logdir_spec; "
        "run names then start with their root's name. Empty: the one root_dir.",
    )
    storage_options = Dict(
        config=True,
        help="fsspec options per root name or protocol (the name wins), e.g. {'s3': {'endpoint_url': "
        "'http://...'}}. Credentials "
        "are better left to the backend's usual sources (environment, profiles); these values are "
        "never sent to the browser and are masked in warnings.",
    )
    remote_timeout = Float(
        10.0, config=True,
        help="Seconds a request waits for a remote root (listing or scalars) before answering with a "
        "warning on that root; the storage is never waited on by the event loop or the other roots.",
    )
    live_window = Float(
        180.0, config=True,
        help="A run is 'live' when one of its event files changed within this many seconds.",
    )
    max_cached_points = Int(
        20_000_000, config=True,
        help="Scalar points kept in memory across cached event-file readers (about 24 bytes each); "
        "the least recently used files beyond it are read again when asked for.",
    )
    max_series_points = Int(
        4096, config=True,
        help="Points kept per tag and event file; beyond it a series is halved keeping its extremes.",
    )
    read_threads = Int(
        0, config=True,
        help="Threads reading event files off the event loop (0: one per CPU, at least 2).",
    )
    read_processes = Int(
        -1, config=True,
        help="Processes reading event files from scratch, so big reads neither hold the server's "
        "interpreter lock nor stay on one core (-1: one per CPU, at most 4; 0: read in the threads).",
    )
    read_processes_idle = Float(
        60.0, config=True, help="Seconds without reading after which the reading processes stop (restarted on need).",
    )
    listing_max_age = Float(
        1.0, config=True,
        help="Seconds a listing is answered again as is, without looking at the files (so many "
        "open sidebars or a burst of requests cost one scan).",
    )
    answer_cache_chars = Int(
        64_000_000, config=True, help="Characters of downsampled JSON answers kept for repeated requests.",
    )


class _AnswerCache:
    """Downsampled per-tag JSON fragments, keyed by (run path, tag, max_points), valid while the
    run's file signature is unchanged; least recently used dropped beyond ``max_chars``."""

    def __init__(self, max_chars: int):
        self.max_chars = max_chars
        self._items: OrderedDict[tuple, tuple[tuple, str]] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()

    def get(self, key: tuple, signature: tuple) -> str | None:
        with self._lock:
            item = self._items.get(key)
            if item is None or item[0] != signature:
                return None
            self._items.move_to_end(key)
            return item[1]

    def put(self, key: tuple, signature: tuple, text: str) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._chars -= len(old[1])
            self._items[key] = (signature, text)
            self._chars += len(text)
            while len(self._items) > 1 and self._chars > self.max_chars:
                _, (_, dropped) = self._items.popitem(last=False)
                self._chars -= len(dropped)


class _Root:
    """One served logdir: ``name`` ('' when it is the only one), a local ``path`` (real path) or a
    ``remote`` fsspec logdir with ``storage_options``, and for a remote one its own pools (listing,
    reading), so a storage that hangs holds nothing else up."""

    def __init__(self, name: str, location: str, storage_options: dict):
        self.name = name
        self.remote = None
        self.storage_options: dict | None = None
        if _remote.is_url(location):
            protocol = location.partition("://")[0]
            self.storage_options = dict(storage_options.get(name) or storage_options.get(protocol) or {})
            remote = _remote.RemoteLogdir(location, self.storage_options)
            if remote.is_local:
                location = remote.path
            else:
                self.remote = remote
        self.path = self.remote.url if self.remote else os.path.realpath(os.path.expanduser(location))
        self.listing_executor = self.read_executor = None
        if self.remote is not None:
            label = "attn-widget-remote-" + (name or "root")
            self.listing_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=label)
            self.read_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix=label)
        self.in_flight: dict[str, asyncio.Future] = {}  # listed path → its unfinished remote listing
        self.last: dict[str, list[str]] = {}  # listed path → run JSON fragments of its last listing

    def resolve(self, parts: list[str], rel: str, what: str) -> str:
        """Path or URL of ``parts`` (already free of '..') below this root; see _RunsState.resolve."""
        if self.remote is not None:
            return self.remote.join(*parts) if parts else self.remote.url  # keys: no symlinks to follow
        path = os.path.join(self.path, *parts)
        try:
            real = os.path.realpath(path)
        except (OSError, ValueError) as exc:
            raise web.HTTPError(400, f"{what} is not a valid path: {exc}") from exc
        if os.path.commonpath([self.path, real]) != self.path:
            raise web.HTTPError(404, f"{what} resolves outside the runs root (a symlink leading out is not followed)")
        if not os.path.isdir(real) or not os.access(real, os.R_OK | os.X_OK):
            raise web.HTTPError(404, f"{what} not found or not readable: {rel or '.'}")
        return path

    def name_of(self, path: str) -> str:
        """Run name of a path or URL below this root ('/' separators, prefixed by the root's name)."""
        if self.remote is not None:
            rel = path[len(self.path) + 1:] if path != self.path else "."
        else:
            rel = os.path.relpath(path, self.path).replace(os.sep, "/")
        if not self.name:
            return rel
        return self.name if rel == "." else f"{self.name}/{rel}"

    def shutdown(self) -> None:
        for pool in (self.listing_executor, self.read_executor):
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)


class _RunsState:
    """Per-server state: the roots, reader cache, answer cache and the pools."""

    def __init__(self, config: TensorBoardRuns, default_root: str):
        from ..tensorboard import ReaderCache, ReadWorkers  # numpy and protobuf only

        locations = dict(config.roots) or {"": config.root_dir or default_root}
        for name in locations:
            if name and ("/" in name or name in (".", "..") or "\x00" in name):
                raise ValueError(f"TensorBoardRuns.roots: a root name cannot contain '/' or be '.' or '..': {name!r}")
        self.roots = {name: _Root(name, location, config.storage_options) for name, location in locations.items()}
        self.named = bool(config.roots)
        self.remote_timeout = config.remote_timeout
        self._secrets = [v for options in config.storage_options.values() if isinstance(options, dict)
                         for v in _strings(options) if len(v) >= 4]
        self.live_window = config.live_window
        processes = config.read_processes if config.read_processes >= 0 else min(4, os.cpu_count() or 1)
        self.workers = ReadWorkers(processes, idle_s=config.read_processes_idle) if processes else None
        self.cache = ReaderCache(max_points=config.max_cached_points, max_series_points=config.max_series_points,
                                 workers=self.workers)
        self.answers = _AnswerCache(config.answer_cache_chars)
        self._run_json: dict[tuple[str, str], tuple] = {}
        threads = config.read_threads or max(2, os.cpu_count() or 1)
        self.listing_max_age = config.listing_max_age
        self.recent_listings: dict[str, tuple[float, str]] = {}  # logdir → (monotonic time, JSON)
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="attn-widget-runs")
        self.listing_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="attn-widget-runs-list")

    def resolve(self, rel: str, what: str) -> tuple[_Root, str]:
        """Root and path (or URL) of ``rel`` ('/'-separated, relative to the root, starting with a
        root's name when roots are named; symlinks kept in the path so a symlinked run keeps its
        name); HTTP 400 when malformed (null byte, absolute, '..'), 404 for an unknown root name or
        a local path resolving outside its root (a symlink) or not a readable folder."""
        if "\x00" in rel:
            raise web.HTTPError(400, f"{what} must not contain a null byte")
        if rel.startswith(("/", "\\")) or os.path.isabs(rel) or os.path.splitdrive(rel)[0]:
            raise web.HTTPError(400, f"{what} must be relative to the runs root, got an absolute path")
        parts = [p for p in rel.replace("\\", "/").split("/") if p not in ("", ".")]
        if ".." in parts:
            raise web.HTTPError(400, f"{what} must stay inside the runs root ('..' is not allowed)")
        if not self.named:
            root = self.roots[""]
        elif not parts or parts[0] not in self.roots:
            raise web.HTTPError(404, f"{what} names no configured root: {rel or '.'}")
        else:
            root, parts = self.roots[parts[0]], parts[1:]
        return root, root.resolve(parts, rel, what)

    def scrub(self, text: str) -> str:
        """``text`` with configured storage option values masked (exception messages can quote them)."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    async def list_root(self, root: _Root, path: str, prefix: str, one_of_many: bool) -> tuple[list[str], list[str]]:
        """Run JSON fragments of ``path`` below ``root`` and the root's warnings. A remote root is
        waited on for ``remote_timeout`` at most (then: its last listing and a warning; the listing
        goes on and is kept for the next request); its errors become warnings. A local root's
        errors raise OSError, as before, unless it is ``one_of_many`` listed together."""
        from ..tensorboard import list_runs

        def listing() -> list[str]:
            runs = list_runs(path, cache=self.cache, live_window=self.live_window,
                             storage_options=root.storage_options)
            listed = {(prefix, run.path) for run in runs}
            for key in [k for k in self._run_json if k[0] == prefix and k not in listed]:
                self._run_json.pop(key, None)  # runs deleted since: not held forever
            return [self.run_json(root, prefix, run) for run in runs]

        if root.remote is None:
            try:
                return await self.call(listing, executor=self.listing_executor), []
            except OSError as exc:
                if not one_of_many:
                    raise
                return [], [f"cannot list this root: {exc.strerror or exc}"]
        future = root.in_flight.get(path)
        if future is None:
            future = root.in_flight[path] = asyncio.get_running_loop().run_in_executor(root.listing_executor, listing)

            def keep(done: asyncio.Future) -> None:
                root.in_flight.pop(path, None)
                if not done.cancelled() and done.exception() is None:
                    root.last[path] = done.result()

            future.add_done_callback(keep)
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.remote_timeout), []
        except asyncio.TimeoutError:
            return root.last.get(path, []), [
                f"storage did not answer within {self.remote_timeout:g} s; showing the last listing"]
        except Exception as exc:  # noqa: BLE001 - any storage failure stays a warning on its root
            return [], [self.scrub(f"cannot list {_remote.redact(path)}: {type(exc).__name__}: {exc}")]

    def run_json(self, root: _Root, root_rel: str, run) -> str:
        """JSON object of one listed run (``root_rel``: the listed logdir's name, ``"."`` for the
        unnamed root), reused while the run's :class:`RunInfo` is the same object with the same live flag."""
        key = (root_rel, run.path)
        memo = self._run_json.get(key)
        if memo is not None and memo[0] is run and memo[1] == (run.live, repr(run.scalars_group)):
            return memo[2]

        def full(name: str) -> str:  # a name below the listed logdir → the run's name in the API
            return name if root_rel == "." else root_rel if name == "." else f"{root_rel}/{name}"

        group = run.scalars_group
        text = json.dumps({
            "name": full(run.name), "last_step": run.last_step, "updated": run.updated, "size": run.size,
            "tags": run.tags, "live": run.live, "warnings": run.warnings, "hparams": run.hparams,
            "metrics": run.metrics,
            "scalars_group": None if group is None else {**group, "parent": full(group["parent"])},
            "group": root.name, "snapshots": run.snapshots,
        }, default=str)  # hparams values are str/float/bool; anything odd becomes text
        self._run_json[key] = (run, (run.live, repr(run.scalars_group)), text)
        return text


    async def call(self, fn, *args, executor=None, **kwargs):
        """Run ``fn`` in the reading pool (or ``executor``)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor or self.executor, lambda: fn(*args, **kwargs))

    def shutdown(self) -> None:
        for pool in (self.executor, self.listing_executor):
            pool.shutdown(wait=False, cancel_futures=True)
        if self.workers is not None:
            self.workers.close()
        for root in self.roots.values():
            root.shutdown()


def _strings(value) -> list[str]:
    """Every string inside nested dicts and lists (the storage option values to mask)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


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
    """``GET {base_url}attn-widget/runs?logdir=&fresh=``: the runs below ``logdir`` (default: the
    root); ``fresh=1`` (a user's refresh) skips the answer cached for ``listing_max_age``."""

    @web.authenticated
    async def get(self) -> None:
        state = self.runs_state
        rel = self.get_query_argument("logdir", "").rstrip("/")
        every_root = state.named and rel in ("", ".")
        if every_root:
            targets = [(root, root.path) for root in state.roots.values()]
        else:
            targets = [state.resolve(rel, "logdir")]
        logdir = rel if state.named else targets[0][1]
        recent = state.recent_listings.get(logdir)
        fresh = self.get_query_argument("fresh", "") not in ("", "0", "false")
        if recent is not None and not fresh and time.monotonic() - recent[0] < state.listing_max_age:
            self.set_header("Content-Type", "application/json")
            self.finish(recent[1])  # answered on the loop: no scan, no wait behind busy readers
            return

        try:
            answers = await asyncio.gather(*(
                state.list_root(root, path, root.name_of(path), every_root) for root, path in targets))
        except OSError as exc:
            raise web.HTTPError(404, f"logdir cannot be read: {rel or '.'} ({exc.strerror or exc})") from exc
        listed = "" if every_root else targets[0][0].name_of(targets[0][1])
        roots = [{"name": root.name, "remote": root.remote is not None, "warnings": warnings}
                 for (root, _), (_, warnings) in zip(targets, answers)]
        fragments = [f for runs, _ in answers for f in runs]
        body = (f'{{"root":{json.dumps("" if listed == "." else listed)},"roots":{json.dumps(roots)},'
                f'"runs":[{",".join(fragments)}]}}')
        state.recent_listings[logdir] = (time.monotonic(), body)
        self.set_header("Content-Type", "application/json")
        self.finish(body)


class ScalarsHandler(_RunsHandler):
    """A run's scalars, each tag downsampled to at most ``max_points`` (default 1000, 4 to
    ``MAX_POINTS``; larger values are capped) with LTTB keeping min and max.

    ``POST {base_url}attn-widget/scalars`` ``{"run", "tags", "max_points"}``, or ``GET
    {base_url}attn-widget/runs/<run>/scalars?tag=a&tag=b&max_points=N``.
    """

    @web.authenticated
    async def get(self, run: str = ".") -> None:
        raw_max = self.get_query_argument("max_points", str(DEFAULT_MAX_POINTS))
        try:
            max_points = int(raw_max)
        except ValueError:
            raise web.HTTPError(400, f"max_points must be an integer, got {raw_max!r}") from None
        await self._answer(run, self.get_query_arguments("tag") or None, max_points)

    @web.authenticated
    async def post(self) -> None:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError as exc:
            raise web.HTTPError(400, f"request body is not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise web.HTTPError(400, "request body must be a JSON object")
        run, tags, max_points = body.get("run", "."), body.get("tags"), body.get("max_points", DEFAULT_MAX_POINTS)
        if not isinstance(run, str):
            raise web.HTTPError(400, "run must be a string (the run name, '.' for the root)")
        if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
            raise web.HTTPError(400, "tags must be a list of strings, or null for all tags")
        if isinstance(max_points, bool) or not isinstance(max_points, int):
            raise web.HTTPError(400, f"max_points must be an integer, got {max_points!r}")
        await self._answer(run, tags, max_points)

    async def _answer(self, run: str, tags: list[str] | None, max_points: int) -> None:
        from ..tensorboard import downsampled_json, read_scalars

        if max_points < 4:
            raise web.HTTPError(400, f"max_points must be at least 4, got {max_points}")
        max_points = min(max_points, MAX_POINTS)
        state = self.runs_state
        root, path = state.resolve("" if run == "." else run.rstrip("/"), "run")

        def read() -> str:
            scalars = read_scalars(path, cache=state.cache, tags=tags, root=None if root.remote else root.path,
                                   storage_options=root.storage_options)
            texts = {tag: state.answers.get((path, tag, max_points), scalars.signature) for tag in scalars}
            todo = [tag for tag, text in texts.items() if text is None]
            many = [scalars[tag] for tag in todo]
            encoded = None
            if state.workers is not None and sum(s.steps.size for s in many) >= _WORKER_MIN_POINTS:
                encoded = state.workers.call(downsampled_json, many, max_points)  # None when no worker could
            for tag, text in zip(todo, encoded or downsampled_json(many, max_points)):
                texts[tag] = text
                state.answers.put((path, tag, max_points), scalars.signature, text)
            parts = [f"{json.dumps(tag)}:{text}" for tag, text in texts.items()]
            return (f'{{"run":{json.dumps(root.name_of(path))},"tags":{{{",".join(parts)}}},'
                    f'"warnings":{json.dumps([state.scrub(w) for w in scalars.warnings])}}}')

        try:
            if root.remote is None:
                body = await state.call(read)
            else:
                body = await asyncio.wait_for(state.call(read, executor=root.read_executor), state.remote_timeout)
        except FileNotFoundError as exc:
            raise web.HTTPError(404, f"no TensorBoard event files in run {run!r}") from exc
        except asyncio.TimeoutError:
            raise web.HTTPError(504, f"the storage of run {run!r} did not answer within "
                                     f"{state.remote_timeout:g} s") from None
        except Exception as exc:
            if root.remote is None:
                raise
            raise web.HTTPError(502, state.scrub(f"the storage of run {run!r} cannot be read: "
                                                 f"{type(exc).__name__}: {exc}")) from None
        self.set_header("Content-Type", "application/json")
        self.finish(body)


def setup_handlers(server_app) -> None:
    """Register the handlers and the runs state on ``server_app``'s tornado application."""
    from .snapshots import snapshot_handlers  # here: that module builds on this one's handler base

    web_app = server_app.web_app
    config = TensorBoardRuns(parent=server_app)
    web_app.settings[_SETTINGS_KEY] = _RunsState(config, server_app.root_dir)
    base = url_path_join(web_app.settings["base_url"], "attn-widget")
    web_app.add_handlers(".*$", [
        (url_path_join(base, "version"), VersionHandler),
        (url_path_join(base, "runs"), RunsHandler),
        (url_path_join(base, "scalars"), ScalarsHandler),
        (url_path_join(base, "runs", "scalars"), ScalarsHandler),
        (url_path_join(base, "runs", "(.+)", "scalars"), ScalarsHandler),
        *snapshot_handlers(base),
    ])


class RunsExtension(ExtensionApp):
    """The server extension: registers the handlers, and shuts the reading pool down when the
    server stops (``stop_extension``, the shutdown hook jupyter_server 2 gives ``ExtensionApp``s)."""

    name = "attn_widget"

    def initialize_handlers(self) -> None:
        setup_handlers(self.serverapp)

    async def stop_extension(self) -> None:
        self.serverapp.web_app.settings[_SETTINGS_KEY].shutdown()
