"""Logdirs given as URLs (``s3://bucket/prefix``, ``gs://…``, ``az://…``, ``hf://…``, ``file://…``),
read through ``fsspec``, the ecosystem's filesystem layer; the backend of each protocol is an extra
(``attn-widget[s3]`` = s3fs, ``[gcs]`` = gcsfs, ``[azure]`` = adlfs, ``[hf-hub]`` = huggingface_hub).
Credentials come from the backend's own sources (environment, profiles) and are never kept here.

Why a layer of its own under the local code: object stores have no folders, so TensorBoard's way
(one listing per folder) costs a request per folder and per refresh. Here a refresh is one
recursive listing of the whole root (``fs.find(..., detail=True)``: paginated, ~1 request per
1,000 objects), and each event file is read as a ranged request of only the bytes appended since
the last read (:meth:`EventFileReader.feed` does the decoding, as for local files), with bounded
concurrency and retries with backoff. Plain paths never come here (they stay as fast as before);
``file://`` URLs become plain paths.
"""

from __future__ import annotations

import datetime
import posixpath
import time
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple
from urllib.parse import urlsplit, urlunsplit

from ._reader import DEFAULT_SERIES_POINTS, EventFileReader
from ._workers import WORKER_MIN_BYTES, ReadWorkers, feed_new

#: Ranged reads in flight at once per refresh.
MAX_CONCURRENT_READS = 16
_ATTEMPTS = 3  # tries per request; transient errors wait 0.2 s, 0.4 s before the next
_BACKOFF_S = 0.2


def is_url(root: str) -> bool:
    """True for ``protocol://…`` (a plain path, even with ``:`` in it, is not a URL)."""
    scheme, sep, _ = root.partition("://")
    return bool(sep) and scheme.replace("+", "").replace("-", "").isalnum()


def redact(url: str) -> str:
    """``url`` without user name or password (``s3://key:secret@bucket`` → ``s3://bucket``), for
    anything shown or logged."""
    if not is_url(url):
        return url
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _transient(exc: BaseException) -> bool:
    """Worth another try: not a missing object, a denied access or bad input."""
    return not isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError,
                                ValueError, TypeError))


def _retried(call, *args, **kwargs):
    """``call(*args, **kwargs)``, tried up to :data:`_ATTEMPTS` times with exponential backoff on
    transient errors (backends retry some errors themselves; this covers the others uniformly)."""
    for attempt in range(_ATTEMPTS):
        try:
            return call(*args, **kwargs)
        except Exception as exc:
            if attempt == _ATTEMPTS - 1 or not _transient(exc):
                raise
            time.sleep(_BACKOFF_S * 2**attempt)
    raise AssertionError("unreachable")


class RemoteStat(NamedTuple):
    """The fields of ``os.stat_result`` the run listing uses, from an object's listing entry."""

    st_size: int
    st_mtime: float
    st_mtime_ns: int
    st_ino: int = 0
    st_dev: int = 0


def _mtime(info: dict) -> float:
    """Modification time (unix seconds) from an fsspec info dict (keys differ per backend)."""
    for key in ("mtime", "LastModified", "last_modified", "updated", "modified", "created", "creation_time"):
        value = info.get(key)
        if isinstance(value, datetime.datetime):
            return value.timestamp()
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                continue
    return 0.0


class RemoteEntry:
    """An event file of a remote logdir, shaped like the ``os.DirEntry`` the local code uses:
    ``name``, ``path`` (the full URL, also the reader's cache key), ``stat()``, plus ``fs``."""

    __slots__ = ("name", "path", "fs", "fs_path", "_stat")

    def __init__(self, fs, fs_path: str, info: dict):
        self.fs = fs
        self.fs_path = fs_path
        self.name = posixpath.basename(fs_path)
        self.path = fs.unstrip_protocol(fs_path)
        mtime = _mtime(info)
        self._stat = RemoteStat(int(info.get("size") or 0), mtime, int(mtime * 1e9))

    def stat(self) -> RemoteStat:
        return self._stat


class RemoteEventFileReader(EventFileReader):
    """:class:`EventFileReader` of an object: :meth:`update` reads bytes ``[file_offset, size)``
    with one ranged request. Objects are replaced whole, never appended to: a longer object is
    taken as the file grown, a shorter one as replaced (read again from the start, with a warning)."""

    def __init__(self, path: str, fs, max_series_points: int = DEFAULT_SERIES_POINTS):
        super().__init__(path, max_series_points=max_series_points)
        self.fs = fs
        self.fs_path = fs._strip_protocol(path)

    def needs(self, size: int) -> tuple[int, int] | None:
        """The byte range to fetch for an object now ``size`` bytes long (None: nothing new)."""
        with self.lock:
            if size < self.file_offset:
                self._reset()
                self._warn("file was truncated or replaced; read again from the start")
            return None if size == self.file_offset else (self.file_offset, size)

    def update(self, stat: RemoteStat | None = None) -> int:
        with self.lock:
            self.bytes_read = 0
            size = stat.st_size if stat is not None else int(_retried(self.fs.size, self.fs_path))
            wanted = self.needs(size)
            if wanted is not None:
                try:
                    data = _retried(self.fs.cat_file, self.fs_path, start=wanted[0], end=wanted[1])
                except OSError:
                    raise
                except Exception as exc:  # backend errors (botocore, aiohttp...) as the OSError callers expect
                    raise OSError(f"{type(exc).__name__}: {exc}") from exc
                self.feed(data)
            return self.bytes_read


class RemoteLogdir:
    """A logdir URL opened with fsspec: one recursive listing per :meth:`scan`, ranged reads in
    :meth:`fetch`. ``storage_options`` go to the backend (e.g. ``{"endpoint_url": ...}`` for s3)."""

    def __init__(self, url: str, storage_options: dict | None = None):
        import fsspec

        self.url = url.rstrip("/")
        self.fs, path = fsspec.core.url_to_fs(self.url, **(storage_options or {}))
        self.path = path.rstrip("/")

    @property
    def is_local(self) -> bool:
        return "file" in ((self.fs.protocol,) if isinstance(self.fs.protocol, str) else self.fs.protocol)

    def join(self, *parts: str) -> str:
        """URL of ``parts`` below the root (callers have refused '..' parts)."""
        return "/".join([self.url, *parts])

    def scan(self) -> dict[str, tuple[str, list[RemoteEntry]]]:
        """Runs below the root, TensorBoard's rule (a folder directly holding ``*tfevents*``
        objects): run folder URL → (run name, its event files by name). One listing call.
        Raises NotADirectoryError when nothing exists there, OSError when it cannot be listed."""
        self.fs.invalidate_cache(self.path)  # backends cache listings; a refresh must see new objects
        try:
            found = _retried(self.fs.find, self.path, detail=True, withdirs=False)
        except FileNotFoundError as exc:
            raise NotADirectoryError(f"not a folder: {redact(self.url)}") from exc
        if not found and not _retried(self.fs.exists, self.path):
            raise NotADirectoryError(f"not a folder: {redact(self.url)}")
        prefix = self.path + "/"
        runs: dict[str, tuple[str, list[RemoteEntry]]] = {}
        for fs_path, info in sorted(found.items()):
            if not fs_path.startswith(prefix) or info.get("type") == "directory":
                continue
            folder, _, name = fs_path.rpartition("/")
            if "tfevents" not in name:
                continue
            rel = folder[len(prefix):] if folder != self.path else "."
            run_url = self.url if rel == "." else self.join(rel)
            runs.setdefault(run_url, (rel, []))[1].append(RemoteEntry(self.fs, fs_path, info))
        return runs

    def run_entries(self) -> list[RemoteEntry]:
        """Event files directly in the folder (a run's: one listing call); [] when there are none."""
        self.fs.invalidate_cache(self.path)
        try:
            listed = _retried(self.fs.ls, self.path, detail=True)
        except (FileNotFoundError, NotADirectoryError):
            return []
        return sorted((RemoteEntry(self.fs, info["name"], info) for info in listed
                       if info.get("type") != "directory" and "tfevents" in posixpath.basename(info["name"])),
                      key=lambda e: e.name)


def fetch(readers_and_entries: list[tuple[RemoteEventFileReader, RemoteEntry]],
          max_concurrent: int = MAX_CONCURRENT_READS, workers: ReadWorkers | None = None) -> None:
    """Bring each reader up to its entry's listed size: a ranged request of the new bytes, at most
    ``max_concurrent`` in flight. A file that cannot be read is left as it was (its reader's
    :meth:`~RemoteEventFileReader.update` tries again and reports the error as the run's warning).
    With ``workers``, objects read from the start, from :data:`WORKER_MIN_BYTES` on, are decoded
    there (the bytes are fetched here; the reader and its storage connection stay here)."""
    todo = []
    for reader, entry in readers_and_entries:
        wanted = reader.needs(entry.stat().st_size)
        if wanted is not None:
            todo.append((reader, entry, wanted))

    def read(item) -> None:
        reader, entry, (start, end) = item
        try:
            data = _retried(entry.fs.cat_file, entry.fs_path, start=start, end=end)
        except Exception:  # noqa: BLE001 - reported by the reader's update, see above
            return
        with reader.lock:
            if reader.file_offset != start:  # read meanwhile by another thread
                return
            reader.bytes_read = 0
            if workers is not None and start == 0 and reader.unread and len(data) >= WORKER_MIN_BYTES:
                fresh = EventFileReader(reader.path, max_series_points=reader.max_series_points)
                fed = workers.call(feed_new, fresh, data)
                if fed is not None:
                    reader.adopt(fed)
                    return
            reader.feed(data)

    if len(todo) == 1:
        read(todo[0])
    elif todo:
        with ThreadPoolExecutor(max_workers=max_concurrent, thread_name_prefix="attn-widget-fetch") as pool:
            list(pool.map(read, todo))
