"""Reading event files from scratch, and downsampling big answers, in worker processes.

Why: decoding is numpy work driven from Python. Done in the Jupyter server's threads it holds the
interpreter lock that the server's event loop needs (every request of every user waits behind it),
and it uses one core however many the machine has. A :class:`ReadWorkers` pool sends unread
:class:`~._reader.EventFileReader`\\ s to worker processes, which read them
(:func:`~._reader.read_fresh_files`, then :meth:`~._reader.EventFileReader.update`) and send them
back; the server's reader is then updated in place, so appended bytes are later read where it lives.
Points are bounded per series (``max_series_points``), so the messages are too. The server also
sends big downsampling jobs (:func:`~._json.downsampled_json`) through :meth:`ReadWorkers.call`.

Workers are plain subprocesses running :func:`_serve`, not ``multiprocessing``: its spawn and
forkserver start methods re-import the parent's ``__main__`` in every worker (for ``jupyter lab``
that is all of JupyterLab: ~0.5 s and ~50 MB each), and fork is unsafe in a threaded server.
Messages are ``uint64 LE length`` + pickle, over the worker's stdin and stdout (private pipes
between two processes of one user running the same code; nothing else reads them).
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import BinaryIO

from ._reader import EventFileReader, read_fresh_files

_LENGTH = struct.Struct("<Q")
#: Bytes of event files sent to a worker at most per message (bigger files go alone).
TASK_BYTES = 64 << 20
#: A single file read from scratch goes to a worker from this size on (smaller ones cost less to read
#: than to send).
WORKER_MIN_BYTES = 1 << 20


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    data = stream.read(n)
    if data is None or len(data) != n:
        raise EOFError("the worker's pipe closed")
    return data


def _send(stream: BinaryIO, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)))
    stream.write(data)
    stream.flush()


def _receive(stream: BinaryIO):
    (n,) = _LENGTH.unpack(_read_exact(stream, _LENGTH.size))
    return pickle.loads(_read_exact(stream, n))


def _memory_releaser():
    """A function giving freed heap memory back to the system (glibc's ``malloc_trim``, called
    without the GIL), or a no-op elsewhere. Decoding buffers and messages are freed after each
    task, but glibc keeps them: ~25 MB per worker, ~300 MB in a server that listed 5,000 runs."""
    try:
        import ctypes

        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return lambda: None
    return lambda: trim(0)


release_freed_memory = _memory_releaser()


def read_all(readers: list[EventFileReader]) -> list[EventFileReader | None]:
    """Read every unread reader of ``readers`` (small files decoded together); None in place of a
    reader whose file could not be read (its caller reads it again and reports why)."""
    failed = set()
    for reader in read_fresh_files(readers):
        try:
            reader.update()
        except Exception:  # noqa: BLE001 - reported when the server reads the file itself
            failed.add(id(reader))
    return [None if id(reader) in failed else reader for reader in readers]


def feed_new(reader: EventFileReader, data: bytes) -> EventFileReader:
    """``reader`` (unread) after decoding ``data``, its file's bytes from the start (an object
    fetched from remote storage: the server fetches, a worker decodes)."""
    reader.feed(data)
    return reader


class _Failed(Exception):
    """The called function raised in the worker (the process itself is fine)."""


class _Worker:
    """One worker process and its pipes."""

    def __init__(self):
        # The folder this package was imported from, last on the worker's path: the same code
        # however the server found it (an editable install, the current folder), shadowing nothing.
        parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        code = f"import sys; sys.path.append({parent!r}); from {__name__} import _serve; _serve()"
        self.process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"}, close_fds=True)

    def call(self, fn, args: tuple):
        """``fn(*args)`` in the process; raises :class:`_Failed` when it raised there, OSError or
        EOFError when the process died."""
        _send(self.process.stdin, (fn, args))
        ok, value = _receive(self.process.stdout)
        if not ok:
            raise _Failed(value)
        return value

    def close(self) -> None:
        try:
            self.process.stdin.close()
            self.process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()


class ReadWorkers:
    """Up to ``processes`` worker processes that read event files from scratch (:meth:`read`) and
    run other calls of this package (:meth:`call`); started on first use (or :meth:`start`) and
    stopped after ``idle_s`` seconds without work. Thread-safe."""

    def __init__(self, processes: int, idle_s: float = 60.0):
        if processes < 1:
            raise ValueError(f"processes must be at least 1, got {processes}")
        self.processes = processes
        self.idle_s = idle_s
        self._free: list[_Worker] = []
        self._lock = threading.Lock()
        self._idle_timer: threading.Timer | None = None
        self._busy = 0
        self._closed = False
        self._dispatch = ThreadPoolExecutor(max_workers=processes, thread_name_prefix="attn-widget-read-workers")

    def start(self) -> None:
        """Start the processes now (they import numpy and protobuf: ~0.1–0.3 s, in the background)."""
        with self._lock:
            while not self._closed and len(self._free) < self.processes:
                self._free.append(_Worker())
        self._arm_idle_timer()

    def read(self, readers: list[EventFileReader]) -> None:
        """Read ``readers`` (all unread; their locks are taken here) in the workers, split into
        tasks of about :data:`TASK_BYTES`, updating each in place. A reader a worker could not read
        (unreadable file, a worker that died) is left unread for the caller to read itself."""
        if not readers:
            return
        for reader in readers:
            reader.lock.acquire()
        try:
            tasks = _tasks(readers, self.processes)
            results = self._map(read_all, [(task,) for task in tasks])
            for task, result in zip(tasks, results):
                for reader, read in zip(task, result or ()):
                    if read is not None:
                        reader.adopt(read)
            del results
            release_freed_memory()  # the messages just unpickled
        finally:
            for reader in readers:
                reader.lock.release()

    def call(self, fn, *args):
        """``fn(*args)`` in a worker (``fn``: a module-level function of this package, pickled by
        name); None when no worker could run it (the caller then runs it itself)."""
        return self._map(fn, [args])[0]

    def _map(self, fn, calls: list[tuple]) -> list:
        """``fn(*args)`` for each ``args`` of ``calls``, in parallel over the processes (None for each
        one that could not run there)."""
        with self._lock:
            self._busy += 1
        try:
            return list(self._dispatch.map(lambda args: self._run(fn, args), calls))
        finally:
            with self._lock:
                self._busy -= 1
            self._arm_idle_timer()

    def _run(self, fn, args: tuple):
        with self._lock:
            if self._closed:
                return None
            worker = self._free.pop() if self._free else None
        try:
            worker = worker or _Worker()
            result = worker.call(fn, args)
        except _Failed:  # the caller runs it itself and sees why
            result = None
        except (OSError, EOFError, pickle.PickleError):  # a worker that died: the caller does it
            if worker is not None:
                worker.close()
            return None
        with self._lock:
            if self._closed:
                worker.close()
            else:
                self._free.append(worker)
        return result

    def _arm_idle_timer(self) -> None:
        with self._lock:
            if self._idle_timer is not None:
                self._idle_timer.cancel()
            if self._closed:
                return
            self._idle_timer = threading.Timer(self.idle_s, self._stop_idle)
            self._idle_timer.daemon = True
            self._idle_timer.start()

    def _stop_idle(self) -> None:
        with self._lock:
            if self._busy:
                return
            idle, self._free = self._free, []
        for worker in idle:
            worker.close()

    def close(self) -> None:
        """Stop every process (workers busy now stop when their task ends)."""
        with self._lock:
            self._closed = True
            idle, self._free = self._free, []
            if self._idle_timer is not None:
                self._idle_timer.cancel()
        for worker in idle:
            worker.close()
        self._dispatch.shutdown(wait=False, cancel_futures=True)


def _tasks(readers: list[EventFileReader], processes: int) -> list[list[EventFileReader]]:
    """``readers`` in consecutive groups of about the same bytes (at least two per process when
    there is enough to read, at most :data:`TASK_BYTES` each)."""
    sizes = []
    for reader in readers:
        try:
            sizes.append(os.stat(reader.path).st_size)
        except OSError:
            sizes.append(0)
    target = min(TASK_BYTES, max(1 << 20, sum(sizes) // (2 * processes)))
    tasks, current, held = [], [], 0
    for reader, size in zip(readers, sizes):
        if current and held + size > target:
            tasks.append(current)
            current, held = [], 0
        current.append(reader)
        held += size
    if current:
        tasks.append(current)
    return tasks




def _serve() -> None:
    """Worker loop: run each ``(fn, args)`` message, answer ``(True, result)`` or ``(False,
    exception)``, until stdin closes."""
    requests = sys.stdin.buffer
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout = sys.stderr  # stray prints must not corrupt the answers
    if hasattr(os, "nice"):  # below the server and the kernels: on a busy machine they come first
        os.nice(10)
    while True:
        try:
            fn, args = _receive(requests)
        except EOFError:
            return
        try:
            answer = (True, fn(*args))
        except Exception as exc:  # noqa: BLE001 - sent back (as text when it does not pickle)
            answer = (False, exc)
        try:
            _send(answers, answer)
        except (pickle.PickleError, TypeError, AttributeError):
            _send(answers, (False, RuntimeError(f"{type(answer[1]).__name__}: {answer[1]}")))
        del fn, args, answer
        release_freed_memory()

