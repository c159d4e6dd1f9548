"""Finding runs in a logdir and reading their scalars, with readers cached between calls."""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from ._reader import EventFileReader, ScalarSeries

#: A run counts as live when one of its files changed within this many seconds. Longer than torch
#: ``SummaryWriter``'s default 120 s flush interval, so a run flushing on schedule stays live.
LIVE_WINDOW_S = 180.0


@dataclass
class RunInfo:
    """One run: a folder holding ``*tfevents*`` files, plus its torch ``add_scalars``/``add_hparams``
    subfolders. ``updated`` is the newest file mtime (unix seconds), ``size`` the bytes of all its
    files, ``tags`` its scalar tags (subfolder tags renamed, see :func:`read_scalars`)."""

    name: str
    path: str
    last_step: int | None
    updated: float
    size: int
    tags: list[str]
    live: bool
    warnings: list[str] = field(default_factory=list)


class RunScalars(dict):
    """``{tag: ScalarSeries}`` for one run, plus ``warnings`` (list of str) about its files."""

    def __init__(self, series: dict[str, ScalarSeries], warnings: list[str]):
        super().__init__(series)
        self.warnings = warnings


class ReaderCache:
    """Event-file readers kept between calls, so a refresh reads only appended bytes.

    Keyed by real path; least recently used readers are dropped once more than ``max_points``
    scalar points or ``max_files`` readers are held. Thread-safe.
    """

    def __init__(self, max_points: int = 20_000_000, max_files: int = 4096):
        self.max_points = max_points
        self.max_files = max_files
        self._readers: OrderedDict[str, EventFileReader] = OrderedDict()
        self._points = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._readers)

    def updated(self, path: str, stat: os.stat_result | None = None) -> EventFileReader:
        """The reader of ``path`` after reading what was appended since its last update
        (``stat``, when given, lets an unchanged file be skipped without opening it)."""
        key = os.path.realpath(path)
        with self._lock:
            reader = self._readers.get(key)
            if reader is None:
                reader = self._readers[key] = EventFileReader(key)
            self._readers.move_to_end(key)
        with reader.lock:
            before = reader.n_points
            reader.update(stat)
            grown = reader.n_points - before
        with self._lock:
            self._points += grown
            while len(self._readers) > 1 and (self._points > self.max_points or len(self._readers) > self.max_files):
                _, old = self._readers.popitem(last=False)
                self._points -= old.n_points
        return reader


def _is_event_file(name: str) -> bool:
    return "tfevents" in name


def _scan(top: str) -> dict[str, list[tuple[str, list[os.DirEntry]]]]:
    """Runs below ``top``: run folder → [(folder, event-file entries)], the run's own folder first.

    Symlinked folders are not followed; a symlinked event file is kept only if it resolves inside
    ``top``. A folder with event files whose parent folder also has event files (torch
    ``add_scalars``/``add_hparams`` writers) belongs to the parent's run.
    """
    real_top = os.path.realpath(top)
    found: dict[str, list[os.DirEntry]] = {}
    stack = [top]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        kept = []
        for e in entries:
            try:
                if e.is_dir(follow_symlinks=False):
                    stack.append(e.path)
                elif _is_event_file(e.name) and e.is_file():
                    if e.is_symlink() and os.path.commonpath([real_top, os.path.realpath(e.path)]) != real_top:
                        continue
                    kept.append(e)
            except OSError:
                continue
        if kept:
            found[folder] = sorted(kept, key=lambda e: e.name)
    owner: dict[str, str] = {}
    runs: dict[str, list[tuple[str, list[os.DirEntry]]]] = {}
    for folder in sorted(found, key=lambda f: (f.count(os.sep), f)):
        parent = os.path.dirname(folder)
        owner[folder] = owner[parent] if parent in found else folder
        runs.setdefault(owner[folder], []).append((folder, found[folder]))
    return runs


def _display_tag(sub: str, tag: str) -> str:
    """Tag name inside the parent run for ``tag`` read from subfolder ``sub`` ('/' separated).

    torch ``add_scalars(main, {"train": ...})`` writes tag ``main`` into ``main_train/``: shown as
    ``main/train``. Other subfolders (``add_hparams`` time stamps) prefix the tag: ``sub/tag``.
    """
    prefix = tag.replace("/", "_") + "_"
    if "/" not in sub and sub.startswith(prefix) and len(sub) > len(prefix):
        return f"{tag}/{sub[len(prefix):]}"
    return f"{sub}/{tag}"


def _run_readers(run_dir: str, folders, cache: ReaderCache) -> tuple[list[tuple[str, EventFileReader, str]],
                                                                     list[os.stat_result], list[str]]:
    """Updated readers of a run's files: (display prefix, reader, relative file name); the stats of
    the files still there; warnings. A file that vanished since the scan (checkpoint rotation) or
    cannot be read is skipped with a warning."""
    readers, stats, warnings = [], [], []
    for folder, entries in folders:
        sub = os.path.relpath(folder, run_dir).replace(os.sep, "/")
        for entry in entries:
            rel = entry.name if sub == "." else f"{sub}/{entry.name}"
            try:
                stat = entry.stat()
                stats.append(stat)
                reader = cache.updated(entry.path, stat)
            except OSError as exc:
                warnings.append(f"{rel}: cannot read ({exc.strerror or exc})")
                continue
            warnings.extend(f"{rel}: {w}" for w in reader.warnings)
            readers.append((sub, reader, rel))
    return readers, stats, warnings


def _tag_map(readers) -> dict[str, list[tuple[EventFileReader, str]]]:
    """Display tag → [(reader, tag in that file)], own files first, each file in name order."""
    out: dict[str, list[tuple[EventFileReader, str]]] = {}
    own = {t for sub, r, _ in readers if sub == "." for t in r.tags}
    for sub, reader, _ in readers:
        for tag in reader.tags:
            shown = tag if sub == "." else _display_tag(sub, tag)
            if sub != "." and shown in own:
                shown = f"{sub}/{tag}"
            out.setdefault(shown, []).append((reader, tag))
    return out


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


def list_runs(root: str | os.PathLike, *, cache: ReaderCache | None = None,
              live_window: float = LIVE_WINDOW_S) -> list[RunInfo]:
    """Runs below ``root`` sorted by name (path relative to ``root`` with '/', ``"."`` for ``root``).

    Reads every event file (only new bytes when ``cache`` already holds its reader); ``live`` means
    a file changed less than ``live_window`` seconds ago. Raises NotADirectoryError for a bad root.
    """
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise NotADirectoryError(f"not a folder: {root}")
    cache = cache if cache is not None else ReaderCache()
    now = time.time()
    out = []
    for run_dir, folders in _scan(root).items():
        readers, stats, warnings = _run_readers(run_dir, folders, cache)
        if not stats:  # all its files vanished since the scan
            continue
        updated = max(s.st_mtime for s in stats)
        steps = [r.last_step for _, r, _ in readers if r.last_step is not None]
        out.append(RunInfo(
            name=os.path.relpath(run_dir, root).replace(os.sep, "/"),
            path=run_dir,
            last_step=max(steps) if steps else None,
            updated=updated,
            size=sum(s.st_size for s in stats),
            tags=sorted(_tag_map(readers)),
            live=now - updated < live_window,
            warnings=warnings,
        ))
    return sorted(out, key=lambda r: r.name)


def read_scalars(run_dir: str | os.PathLike, *, cache: ReaderCache | None = None,
                 tags: list[str] | None = None) -> RunScalars:
    """Scalars of the run in ``run_dir``: ``{tag: ScalarSeries(steps, wall_times, values)}``.

    Classic ``simple_value`` and tensor scalars (plugin ``scalars``: torch ``new_style=True``, TF2)
    are read; points of one tag from several files are joined as :func:`_join` says. Tags of
    ``add_scalars`` subfolders are named ``main/key`` (see :func:`_display_tag`). ``tags`` limits
    the result (unknown ones are reported in ``warnings``). Raises FileNotFoundError when
    ``run_dir`` holds no event files.
    """
    run_dir = os.fspath(run_dir)
    runs = _scan(run_dir) if os.path.isdir(run_dir) else {}
    if run_dir not in runs:
        raise FileNotFoundError(f"no TensorBoard event files in {run_dir}")
    cache = cache if cache is not None else ReaderCache()
    readers, _, warnings = _run_readers(run_dir, runs[run_dir], cache)
    mapping = _tag_map(readers)
    wanted = list(mapping) if tags is None else tags
    series = {}
    for tag in wanted:
        parts = mapping.get(tag)
        if parts:
            series[tag] = _join(parts)
        else:
            warnings.append(f"tag not found: {tag}")
    return RunScalars(series, warnings)
