"""Finding runs in a logdir and reading their scalars, with readers cached between calls.

Runs follow TensorBoard's rule: every folder that directly holds ``*tfevents*`` files is one run,
named by its path relative to the logdir (``"."`` for the logdir itself). Symlinked folders are
followed when they resolve inside the logdir, except into one of their own ancestors (a loop);
symlinked event files are read when they resolve inside it. The one relation added on top is
:attr:`RunInfo.scalars_group`: the subfolders torch's ``add_scalars`` writes stay runs of their own
but name their parent run and main tag, so a view can overlay them.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from . import _remote
from ._reader import DEFAULT_SERIES_POINTS, SNAPSHOT_PLUGIN, EventFileReader, ScalarSeries, read_fresh_files
from ._workers import WORKER_MIN_BYTES, ReadWorkers

#: Runs read per step of a listing: their listings are cached before the next step's files are read,
#: so a logdir holding more points than the cache's bound is listed with the cache near its bound.
_LIST_CHUNK = 512

#: A run counts as live when one of its files changed within this many seconds. Longer than torch
#: ``SummaryWriter``'s default 120 s flush interval, so a run flushing on schedule stays live.
LIVE_WINDOW_S = 180.0


@dataclass
class RunInfo:
    """One run: a folder directly holding ``*tfevents*`` files.

    ``updated`` is the newest file mtime (unix seconds), ``size`` the bytes of its files, ``tags``
    its scalar tags (sorted), ``hparams`` the ``{name: value}`` of an hparams plugin session (torch
    ``add_hparams``; empty otherwise), ``metrics`` the last value of each tag of such a session
    (``{}`` for other runs), ``scalars_group`` ``{"parent": run, "tag": main tag, "key":
    key}`` for a folder written by torch ``add_scalars(main_tag, {key: ...})`` (None otherwise),
    ``snapshots`` the number of attention snapshot tags (one per probe text of
    :func:`~attn_widget.tensorboard.log_attention`; 0: none), known from summary metadata alone.
    """

    name: str
    path: str
    last_step: int | None
    updated: float
    size: int
    tags: list[str]
    live: bool
    warnings: list[str] = field(default_factory=list)
    hparams: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    scalars_group: dict | None = None
    snapshots: int = 0


class RunScalars(dict):
    """``{tag: ScalarSeries}`` for one run, plus ``warnings`` (list of str) about its files and
    ``signature`` (tuple: name, inode, size, mtime of each file read; equal signatures mean equal
    data, so answers derived from it can be cached)."""

    def __init__(self, series: dict[str, ScalarSeries], warnings: list[str], signature: tuple = ()):
        super().__init__(series)
        self.warnings = warnings
        self.signature = signature


class ReaderCache:
    """Event-file readers kept between calls, so a refresh reads only appended bytes, and each
    run's listing kept until one of its files changes (a refresh with nothing new reads nothing).
    With ``workers``, local files are read from scratch in those processes (:mod:`._workers`).

    Keyed by real path. Every tag keeps at most ``max_series_points`` points (decimated keeping
    extremes, see :class:`EventFileReader`), so memory is bounded per series; least recently used
    readers are dropped only beyond ``max_points`` points in all or ``max_files`` readers.
    Thread-safe.
    """

    def __init__(self, max_points: int = 20_000_000, max_files: int = 100_000,
                 max_series_points: int = DEFAULT_SERIES_POINTS, workers: ReadWorkers | None = None):
        self.max_points = max_points
        self.workers = workers  #: reading processes for files read from scratch (None: read in the calling thread)
        self.max_files = max_files
        self.max_series_points = max_series_points
        self._readers: OrderedDict[str, EventFileReader] = OrderedDict()
        self._points = 0
        self._lock = threading.Lock()
        self.listings: dict[str, tuple[tuple, RunInfo]] = {}  #: run folder → (file signature, RunInfo)

    def __len__(self) -> int:
        return len(self._readers)

    def forget_runs_below(self, top: str, keep) -> None:
        """Drop the cached listings of run folders below ``top`` (a folder or URL) not in ``keep``
        (those just scanned): runs deleted since are not held forever."""
        prefix = top.rstrip("/" + os.sep) + "/"
        alt = top.rstrip("/" + os.sep) + os.sep
        for run_dir in list(self.listings):
            if (run_dir == top or run_dir.startswith((prefix, alt))) and run_dir not in keep:
                self.listings.pop(run_dir, None)

    def read_new(self, paths: list[str]) -> None:
        """Create the readers of the files among ``paths`` not held yet and read the small ones
        together (:func:`._reader.read_fresh_files`: far faster for many small runs)."""
        fresh = []
        with self._lock:
            for path in paths:
                key = os.path.realpath(path)
                if key not in self._readers:
                    fresh.append(EventFileReader(key, max_series_points=self.max_series_points))
                    self._readers[key] = fresh[-1]
        if self.workers is not None:
            self.workers.read(fresh)
        read_fresh_files(fresh)  # what no worker read
        with self._lock:
            self._points += sum(r.n_points for r in fresh)

    def reader(self, path: str, fs=None) -> EventFileReader:
        """The cached reader of ``path`` (created unread when new): a local file keyed by its real
        path, or with ``fs`` (an fsspec filesystem) an object keyed by its URL."""
        key = os.path.realpath(path) if fs is None else path
        with self._lock:
            reader = self._readers.get(key)
            if reader is None:
                reader = self._readers[key] = (
                    EventFileReader(key, max_series_points=self.max_series_points) if fs is None
                    else _remote.RemoteEventFileReader(key, fs, max_series_points=self.max_series_points)
                )
            self._readers.move_to_end(key)
        return reader

    def updated(self, path: str, stat: os.stat_result | None = None, fs=None) -> EventFileReader:
        """The reader of ``path`` after reading what was appended since its last update
        (``stat``, when given, lets an unchanged file be skipped without opening it; ``fs``: see
        :meth:`reader`)."""
        reader = self.reader(path, fs)
        with reader.lock:
            before = reader.n_points
            if fs is None and self.workers is not None and reader.unread and _size(path, stat) >= WORKER_MIN_BYTES:
                self.workers.read([reader])
            reader.update(stat)
            grown = reader.n_points - before
        with self._lock:
            self._points += grown
            while len(self._readers) > 1 and (self._points > self.max_points or len(self._readers) > self.max_files):
                _, old = self._readers.popitem(last=False)
                self._points -= old.n_points
        return reader


def _size(path: str, stat: os.stat_result | None) -> int:
    try:
        return (stat or os.stat(path)).st_size
    except OSError:
        return 0


def _is_event_file(name: str) -> bool:
    return "tfevents" in name  # TensorBoard's own test (io_wrapper.IsTensorFlowEventsFile)


def _inside(real_top: str, real: str) -> bool:
    return real == real_top or real.startswith(real_top.rstrip(os.sep) + os.sep)


def _event_files(folder: str, real_top: str) -> tuple[list[os.DirEntry], list[os.DirEntry]]:
    """Event files of ``folder`` (sorted by name; symlinks kept only when they resolve inside
    ``real_top``) and its sub-folder entries."""
    files, folders = [], []
    with os.scandir(folder) as it:
        for e in it:
            try:
                if e.is_dir():
                    folders.append(e)
                elif _is_event_file(e.name) and e.is_file():
                    if e.is_symlink() and not _inside(real_top, os.path.realpath(e.path)):
                        continue
                    files.append(e)
            except OSError:
                continue
    return sorted(files, key=lambda e: e.name), folders


def _scan(top: str) -> dict[str, tuple[str, list[os.DirEntry]]]:
    """Runs below ``top``: run folder (path below ``top``, symlinks not resolved) → (run name, its
    event files)."""
    real_top = os.path.realpath(top)
    runs: dict[str, tuple[str, list[os.DirEntry]]] = {}
    stack = [(top, ".", (real_top,))]  # folder, its name, the real paths of it and its ancestors
    while stack:
        folder, name, chain = stack.pop()
        try:
            files, folders = _event_files(folder, real_top)
        except OSError:
            continue
        if files:
            runs[folder] = (name, files)
        for e in folders:
            if e.is_symlink():
                real = os.path.realpath(e.path)
                if not _inside(real_top, real) or real in chain:  # outside the root, or a loop
                    continue
            else:
                real = f"{chain[-1]}{os.sep}{e.name}"
            stack.append((e.path, e.name if name == "." else f"{name}/{e.name}", (*chain, real)))
    return runs


def _run_readers(entries: list[os.DirEntry], cache: ReaderCache) -> tuple[list[EventFileReader], list[str], list[bool]]:
    """Updated readers of a run's files (name order), warnings, and which entries were read
    without error. A file that vanished since the scan (checkpoint rotation) or cannot be read is
    skipped with a warning."""
    readers, warnings, read = [], [], []
    for entry in entries:
        try:
            if isinstance(entry, _remote.RemoteEntry):
                reader = cache.updated(entry.path, entry.stat(), fs=entry.fs)
            else:
                reader = cache.updated(entry.path, entry.stat())
        except OSError as exc:
            warnings.append(f"{entry.name}: cannot read ({exc.strerror or exc})")
            read.append(False)
            continue
        except Exception as exc:  # noqa: BLE001 - one unreadable file must never hide the other runs
            warnings.append(f"{entry.name}: could not be decoded ({type(exc).__name__}: {exc})")
            read.append(False)
            continue
        warnings.extend(f"{entry.name}: {w}" for w in reader.warnings)
        readers.append(reader)
        read.append(True)
    return readers, warnings, read


def _join(parts: list[tuple[EventFileReader, str]]) -> ScalarSeries:
    """One tag's points from its files (file-name order), sorted by step (stable).

    A resumed run restarts in a new file at a step it had already logged: like TensorBoard's
    "purge orphaned data", each file drops the earlier files' points from its first step on.
    """
    kept: list[ScalarSeries] = []
    for reader, tag in parts:  # a reader holding a tag has a first_step
        kept = [ScalarSeries(*(col[s.steps < reader.first_step] for col in s)) for s in kept]
        kept.append(reader.series(tag))
    out = kept[0] if len(kept) == 1 else ScalarSeries(*(np.concatenate(col) for col in zip(*kept)))
    if (np.diff(out.steps) < 0).any():
        order = np.argsort(out.steps, kind="stable")
        out = ScalarSeries(*(col[order] for col in out))
    return out


def _signature(stats: list[tuple[os.DirEntry, os.stat_result]]) -> tuple:
    return tuple((e.name, s.st_ino, s.st_size, s.st_mtime_ns) for e, s in stats)


def _listing(name: str, run_dir: str, entries: list[os.DirEntry], cache: ReaderCache) -> RunInfo | None:
    """The run's :class:`RunInfo` (``live`` left False), reusing the cached one when no file changed."""
    stats, warnings = [], []
    for e in entries:
        try:
            stats.append((e, e.stat()))
        except OSError as exc:
            warnings.append(f"{e.name}: cannot read ({exc.strerror or exc})")
    if not stats:  # all its files vanished since the scan
        return None
    signature = _signature(stats)
    cached = cache.listings.get(run_dir)
    if cached is not None and cached[0] == signature and cached[1].name == name and not warnings:
        return cached[1]  # the same object: callers can tell an unchanged run by identity
    readers, read_warnings, read = _run_readers([e for e, _ in stats], cache)
    stats = [(e, st) for (e, st), ok in zip(stats, read)
             if ok or isinstance(e, _remote.RemoteEntry) or os.path.exists(e.path)]
    if not stats:  # vanished while being read
        return None
    steps = [r.last_step for r in readers if r.last_step is not None]
    hparams: dict = {}
    for r in readers:
        hparams.update(r.hparams)
    metrics = {}
    if hparams:
        for r in readers:  # later files win, as in _join
            metrics.update({t: float(r.series(t).values[-1]) for t in r.tags})
    info = RunInfo(
        name=name, path=run_dir, last_step=max(steps) if steps else None,
        updated=max(s.st_mtime for _, s in stats), size=sum(s.st_size for _, s in stats),
        tags=sorted({t for r in readers for t in r.tags}), live=False,
        warnings=warnings + read_warnings, hparams=hparams, metrics=metrics,
        snapshots=len({t for r in readers for t in r.plugin_tags(SNAPSHOT_PLUGIN)}),
    )
    if all(read):
        cache.listings[run_dir] = (signature, info)
    return info


def _scalars_group(info: RunInfo, names: set[str]) -> dict | None:
    """``{"parent", "tag", "key"}`` when ``info`` is a folder torch ``add_scalars(tag, {key: ...})``
    wrote below run ``parent`` (folder ``<tag with '/' → '_'>_<key>`` holding that one tag)."""
    if len(info.tags) != 1 or info.name == ".":
        return None
    parent, _, folder = info.name.rpartition("/")
    parent = parent or "."
    prefix = info.tags[0].replace("/", "_") + "_"
    if parent not in names or not folder.startswith(prefix) or len(folder) == len(prefix):
        return None
    return {"parent": parent, "tag": info.tags[0], "key": folder[len(prefix):]}


def _open_remote(root: str, storage_options: dict | None) -> _remote.RemoteLogdir | None:
    """The fsspec logdir of a URL ``root`` (None for a plain path, or a ``file://`` one)."""
    if not _remote.is_url(root):
        return None
    remote = _remote.RemoteLogdir(root, storage_options)
    return None if remote.is_local else remote


def list_runs(root: str | os.PathLike, *, cache: ReaderCache | None = None,
              live_window: float = LIVE_WINDOW_S, storage_options: dict | None = None) -> list[RunInfo]:
    """Runs below ``root`` sorted by name (path relative to ``root`` with '/', ``"."`` for ``root``).

    ``root`` is a folder or an fsspec URL (``s3://bucket/prefix``, ``file://…``; ``storage_options``
    go to its backend): a URL costs one listing per call and ranged reads of new bytes only (see
    :mod:`._remote`), and raises OSError when the storage cannot be listed.

    Reads every event file (only new bytes when ``cache`` already holds its reader; nothing for a
    run whose files are unchanged, whose cached :class:`RunInfo` object is returned again, updated
    in place); ``live`` means a file changed less than ``live_window`` seconds
    ago. Never raises for a file's content: problems are the run's ``warnings``. Raises
    NotADirectoryError for a bad root.
    """
    root = os.fspath(root)
    remote = _open_remote(root, storage_options)
    if remote is None:
        root = _remote.RemoteLogdir(root).path if _remote.is_url(root) else root  # file:// → its path
        if not os.path.isdir(root):
            raise NotADirectoryError(f"not a folder: {root}")
    cache = cache if cache is not None else ReaderCache()
    now = time.time()
    out = []
    if remote is None:
        scanned = _scan(root)
    else:
        scanned = remote.scan()
        _remote.fetch([(cache.reader(e.path, e.fs), e) for _, entries in scanned.values() for e in entries],
                      workers=cache.workers)
    cache.forget_runs_below(remote.url if remote is not None else root, keep=scanned)
    items = list(scanned.items())
    for lo in range(0, len(items), _LIST_CHUNK):  # memory stays near the cache's bound on huge logdirs
        chunk = items[lo : lo + _LIST_CHUNK]
        if remote is None:
            cache.read_new([e.path for d, (_, entries) in chunk if d not in cache.listings for e in entries])
        for run_dir, (name, entries) in chunk:
            info = _listing(name, run_dir, entries, cache)
            if info is not None:
                info.live = now - info.updated < live_window
                out.append(info)
    names = {r.name for r in out}
    for info in out:
        info.scalars_group = _scalars_group(info, names)
    return sorted(out, key=lambda r: r.name)


def read_scalars(run_dir: str | os.PathLike, *, cache: ReaderCache | None = None,
                 tags: list[str] | None = None, root: str | os.PathLike | None = None,
                 storage_options: dict | None = None) -> RunScalars:
    """Scalars of the run in ``run_dir``: ``{tag: ScalarSeries(steps, wall_times, values)}``.

    Classic ``simple_value`` and tensor scalars (plugin ``scalars``: torch ``new_style=True``, TF2)
    are read; points of one tag from several files are joined as :func:`_join` says. ``tags``
    limits the result (unknown ones are reported in ``warnings``). With ``root``, symlinked event
    files resolving outside it are ignored (as in :func:`list_runs`). ``run_dir`` may be an fsspec
    URL (see :func:`list_runs`; one listing of the folder, ranged reads of new bytes). Raises
    FileNotFoundError when ``run_dir`` directly holds no event files.
    """
    run_dir = os.fspath(run_dir)
    remote = _open_remote(run_dir, storage_options)
    if remote is None and _remote.is_url(run_dir):
        run_dir = _remote.RemoteLogdir(run_dir).path  # file:// → its path
    try:
        if remote is not None:
            entries = remote.run_entries()
        else:
            entries, _ = _event_files(run_dir, os.path.realpath(root) if root is not None else os.sep)
    except OSError:
        entries = []
    if not entries:
        raise FileNotFoundError(f"no TensorBoard event files in {run_dir}")
    cache = cache if cache is not None else ReaderCache()
    stats = []
    for e in entries:
        try:
            stats.append((e, e.stat()))
        except OSError:
            continue  # reported by _run_readers
    readers, warnings, _ = _run_readers(entries, cache)
    mapping: dict[str, list[tuple[EventFileReader, str]]] = {}
    for reader in readers:
        for tag in reader.tags:
            mapping.setdefault(tag, []).append((reader, tag))
    series = {}
    for tag in (list(mapping) if tags is None else tags):
        parts = mapping.get(tag)
        if parts:
            series[tag] = _join(parts)
        else:
            warnings.append(f"tag not found: {tag}")
    return RunScalars(series, warnings, _signature(stats))
