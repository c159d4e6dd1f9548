"""Incremental, checksum-verified reader of one TensorBoard event file.

An event file is a TFRecord stream: per record ``uint64 LE length``, ``uint32 masked CRC32C(length
bytes)``, ``data`` (a serialized ``tensorboard.Event``), ``uint32 masked CRC32C(data)``.

Why this design: TensorBoard's ``EventAccumulator`` parses every record with protobuf and walks it in
Python (~12 s per million points); a plain loop over ``event_pb2.Event.FromString`` is still ~1.6 s.
TensorBoard's Rust ``tensorboard-data-server`` is fast but is a separate process spoken to over gRPC
(start-up, a port, a binary per platform), too heavy for a sidebar inside the Jupyter server. So the
records are framed, checksummed and decoded with numpy, grouped by record length:

* framing follows the length prefixes in Python but jumps over periodic stretches (a training loop
  logging the same tags every step writes records whose sizes repeat) with one vectorised check;
* both CRC32Cs of every record are verified in numpy (:mod:`._crc32c`), so a flipped bit never
  becomes a fake tag or point;
* records whose bytes are exactly ``Event{wall_time, step, summary{value{tag, simple_value}}}`` or
  ``...value{tag, tensor{scalar float/double}, [metadata]}`` (torch ``new_style=True``, TF2) are
  decoded column-wise; every other record is decoded with ``protobuf`` using the subset of
  TensorBoard's schema declared in :mod:`._proto` (no ``tensorboard`` import), which decides what the
  fast path does not recognise.

The reader remembers its byte offset: :meth:`EventFileReader.update` reads only bytes appended since
the last call, keeps an incomplete trailing record until the file grows, and re-synchronises after a
corrupt length by scanning for the next header whose checksum verifies.
"""

from __future__ import annotations

import os
import struct
import threading
from typing import NamedTuple

import numpy as np

from ._crc32c import ROW, crc32c, crc32c_padded, crc32c_rows, mask
from ._downsample import keep_extremes
from ._proto import hparams_of, messages, tensor_scalar
from ._series import ScalarSeries

_HEADER = 12  # uint64 length + uint32 masked CRC
_OVERHEAD = 16  # header + trailing data CRC
_MAX_RECORD = 1 << 30  # larger declared lengths are treated as corruption
_GATHER = 1 << 23  # bytes gathered per numpy block (bounds temporary memory to ~70 MB)
_BLOCK = 1 << 25  # bytes read from disk at a time
_JUMP = 1 << 16  # records checked per periodic jump
#: Longest period of record lengths framed by a jump: one record per tag and step, so a training loop
#: logging up to this many tags every step is framed vectorised (64 tags: ~3x faster than 16).
_MAX_PERIOD = 64
_MAX_WARNINGS = 20
_MIN_COLUMNAR = 32  # equal-length records needed before the column-wise path beats protobuf
_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")
_SCALARS = "scalars"
#: Plugin name of attention snapshot tensor summaries (:mod:`attn_widget.tensorboard.snapshots`).
SNAPSHOT_PLUGIN = "attn_widget_attention"
#: Points kept per tag and file: beyond it, a series is halved keeping extremes (see
#: :func:`._downsample.keep_extremes`). TensorBoard keeps a 1,000-point reservoir sample per tag.
DEFAULT_SERIES_POINTS = 4096
_HPARAMS = "hparams"


def _empty_series() -> ScalarSeries:
    return ScalarSeries(np.empty(0, np.int64), np.empty(0, np.float64), np.empty(0, np.float64))


def _windows(arr: np.ndarray, at: np.ndarray, width: int) -> np.ndarray:
    """``(n, width)`` uint8 copy of ``arr[at[i] : at[i] + width]`` (a row gather, far faster than a
    2-D fancy index)."""
    return np.lib.stride_tricks.sliding_window_view(arr, width)[at]


def _le32(cols: np.ndarray) -> np.ndarray:
    """``(n, 4)`` uint8 → (n,) little-endian uint32."""
    return np.ascontiguousarray(cols).view("<u4").ravel()


def _jump(arr: np.ndarray, pos: int, recent: list[int], budget: int = _JUMP) -> tuple[np.ndarray, np.ndarray, bool] | None:
    """Vectorised framing over a periodic stretch.

    If the last record lengths repeat with a period ``p <= _MAX_PERIOD``, predict the next records and keep
    the prefix whose length prefixes match the prediction. Each accepted record's length was read
    at its true start, so the result equals sequential framing. Returns starts, lengths and whether
    the whole block matched (more may follow), or None when there is no period or no room.
    ``budget``: records predicted at most (the caller grows it while whole blocks match).
    """
    for p in range(1, _MAX_PERIOD + 1):
        if len(recent) >= 2 * p and recent[-p:] == recent[-2 * p : -p]:
            break
    else:
        return None
    pattern = np.array(recent[-p:], dtype=np.int64)
    sizes = pattern + _OVERHEAD
    cycle = int(sizes.sum())
    cycles = min((arr.size - pos) // cycle, max(1, budget // p))
    if cycles < 1:
        return None
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    starts = (pos + np.arange(cycles, dtype=np.int64)[:, None] * cycle + offsets).ravel()
    expected = np.tile(pattern, cycles)
    miss = np.flatnonzero(_windows(arr, starts, 8).view("<u8").ravel().astype(np.int64) != expected)
    m = int(miss[0]) if miss.size else starts.size
    if m == 0:
        return None
    return starts[:m], expected[:m], m == starts.size and cycles == max(1, budget // p)


def _frame(buf: bytes, arr: np.ndarray, pos: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Follow length prefixes from ``pos``: start offsets and data lengths (int64) of the records
    wholly inside ``buf``, and the offset after the last one. Lengths are not checksummed here."""
    n = len(buf)
    unpack = _U64.unpack_from
    chunks_s: list[np.ndarray] = []
    chunks_l: list[np.ndarray] = []
    starts: list[int] = []
    lens: list[int] = []
    while True:
        for _ in range(2 * _MAX_PERIOD):  # a sequential stretch, then try to jump
            if pos + _HEADER > n:
                break
            length = unpack(buf, pos)[0]
            end = pos + length + _OVERHEAD
            if end > n:
                break
            starts.append(pos)
            lens.append(length)
            pos = end
        else:
            recent = lens[-2 * _MAX_PERIOD :]
            chunks_s.append(np.array(starts, np.int64))
            chunks_l.append(np.array(lens, np.int64))
            starts, lens = [], []
            # Periodic stretches broken by other records (e.g. attention snapshots between scalars) would
            # each check _JUMP predictions: start small and double while whole blocks match.
            budget = 256
            while (jumped := _jump(arr, pos, recent, budget)) is not None:
                js, jl, more = jumped
                budget = min(2 * budget, _JUMP)
                chunks_s.append(js)
                chunks_l.append(jl)
                pos = int(js[-1] + jl[-1]) + _OVERHEAD
                if not more:
                    break
                recent = jl[-2 * _MAX_PERIOD :].tolist()
            continue
        break
    chunks_s.append(np.array(starts, np.int64))
    chunks_l.append(np.array(lens, np.int64))
    return np.concatenate(chunks_s), np.concatenate(chunks_l), pos


def _header_ok(arr: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Bool (n,): the length checksum of each record header verifies."""
    head = _windows(arr, starts, _HEADER)
    return mask(crc32c_rows(head[:, :8])) == _le32(head[:, 8:])


def _resync(buf: bytes, arr: np.ndarray, pos: int) -> int | None:
    """First offset ``>= pos`` that starts a plausible record: its length checksum verifies and its
    data checksum too when the data is already in ``buf``. None when there is none yet."""
    n = len(buf)
    block = _GATHER // 8
    while pos + _HEADER <= n:
        cand = np.arange(pos, min(n - _HEADER + 1, pos + block), dtype=np.int64)
        hits = cand[_header_ok(arr, cand)]
        for q in hits.tolist():
            length = _U64.unpack_from(buf, q)[0]
            if length > _MAX_RECORD:
                continue
            end = q + _HEADER + length
            if end + 4 > n:
                return q  # header verifies; its data has not arrived yet
            if mask(crc32c(buf[q + _HEADER : end])) == _U32.unpack_from(buf, end)[0]:
                return q
        pos = int(cand[-1]) + 1
    return None


def _tensor_template(suffix: bytes) -> tuple[int, str, str | None] | None:
    """Decode the bytes after a value's tag when they are ``tensor{scalar float/double}`` optionally
    followed by ``metadata``: (offset of the value bytes in ``suffix``, numpy dtype, plugin name or
    None without metadata). None for anything else (the record then goes through protobuf)."""
    _, SummaryMetadata, _, DecodeError = messages()
    if len(suffix) < 4 or suffix[0] != 0x42 or suffix[1] >= 0x80:
        return None
    end = 2 + suffix[1]
    tensor, rest = suffix[2:end], suffix[end:]
    plugin = None
    if rest:
        if len(rest) < 2 or rest[0] != 0x4A or rest[1] >= 0x80 or len(rest) != 2 + rest[1]:
            return None
        try:
            plugin = SummaryMetadata.FromString(rest[2:]).plugin_data.plugin_name or None
        except DecodeError:
            return None
    dtype, value, i = None, None, 0
    try:
        while i < len(tensor):
            key = tensor[i]
            if key == 0x08 and tensor[i + 1] < 0x80:  # dtype (1 = DT_FLOAT, 2 = DT_DOUBLE)
                dtype, i = tensor[i + 1], i + 2
            elif key == 0x12 and tensor[i + 1] == 0:  # empty tensor_shape: a scalar
                i += 2
            elif key in (0x22, 0x2A, 0x32) and tensor[i + 1] in (4, 8) and value is None:
                width = tensor[i + 1]  # tensor_content / packed float_val / packed double_val
                if (key == 0x2A and width != 4) or (key == 0x32 and width != 8):
                    return None
                value, i = (i + 2, width), i + 2 + width
            elif key in (0x2D, 0x31) and value is None:  # unpacked float_val / double_val
                value = (i + 1, 4 if key == 0x2D else 8)
                i += 1 + value[1]
            else:
                return None
    except IndexError:
        return None
    if value is None or i != len(tensor) or (dtype, value[1]) not in ((1, 4), (2, 8)):
        return None
    return 2 + value[0], "<f4" if value[1] == 4 else "<f8", plugin


class _Points(NamedTuple):
    """Decoded points of one record group: record indices (n,), tag per point, step, wall, value,
    and whether each point is a confirmed scalar (False: tensor awaiting its tag's plugin)."""

    records: np.ndarray
    tags: list[str]
    tag_idx: np.ndarray
    steps: np.ndarray
    walls: np.ndarray
    values: np.ndarray
    confirmed: bool


def _distinct_rows(cells: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Tag names (UTF-8) of the distinct rows of ``cells`` ((n, t) uint8) and each row's index
    into them. Peels one name at a time (a few tags per length is the norm), then sorts the rest."""
    tags: list[str] = []
    idx = np.empty(cells.shape[0], dtype=np.int64)
    todo = np.arange(cells.shape[0])
    while todo.size and len(tags) < 8:
        first = cells[todo[0]]
        same = (cells[todo] == first).all(axis=1)
        idx[todo[same]] = len(tags)
        tags.append(first.tobytes().decode("utf-8", "replace"))
        todo = todo[~same]
    if todo.size:
        rest = np.ascontiguousarray(cells[todo]).view(f"V{cells.shape[1]}").ravel()
        uniq, inverse = np.unique(rest, return_inverse=True)
        idx[todo] = len(tags) + inverse.ravel()
        tags.extend(bytes(u).decode("utf-8", "replace") for u in uniq)
    return tags, idx


def _fast_parse(rows: np.ndarray, records: np.ndarray, plugins: dict[str, str]) -> tuple[np.ndarray, list[_Points]]:
    """Column-wise decode of equal-length records (``rows``: (n, L) uint8). Returns which rows were
    decoded (bool (n,)) and their points; ``plugins`` gains tag → plugin name from metadata."""
    n, width = rows.shape
    handled = np.zeros(n, dtype=bool)
    out: list[_Points] = []
    if width < 24:
        return handled, out
    cand = np.flatnonzero((rows[:, 0] == 0x09) & (rows[:, 9] == 0x10))  # wall_time, step
    if cand.size == 0:
        return handled, out
    cont = rows[cand, 10 : min(width, 20)] >= 0x80
    varint_len = np.argmin(cont, axis=1) + 1
    varint_ok = ~cont.all(axis=1)
    for k in np.unique(varint_len[varint_ok]).tolist():
        p = 10 + k  # offset of the summary field
        size = width - p - 2
        if size >= 0x80:
            continue
        sel = cand[varint_ok & (varint_len == k)]
        sub = rows[sel]
        ok = (
            (sub[:, p] == 0x2A)
            & (sub[:, p + 1] == size)
            & (sub[:, p + 2] == 0x0A)
            & (sub[:, p + 3] == size - 2)
            & (sub[:, p + 4] == 0x0A)
            & (sub[:, p + 5] > 0)
            & (sub[:, p + 5] < 0x80)
        )
        sel, sub = sel[ok], sub[ok]
        taglens = sub[:, p + 5]
        for t in np.unique(taglens).tolist():
            q = p + 6 + t  # offset of what follows the tag
            if width - q < 5:
                continue
            grp = taglens == t
            gsel, gsub = sel[grp], sub[grp]
            steps = np.zeros(gsel.size, dtype=np.uint64)
            for i in range(k):
                steps |= (gsub[:, 10 + i] & 0x7F).astype(np.uint64) << np.uint64(7 * i)
            steps = steps.view(np.int64)
            walls = np.ascontiguousarray(gsub[:, 1:9]).view("<f8").ravel()
            tags, tag_idx = _distinct_rows(gsub[:, p + 6 : q])
            suffix = gsub[:, q:]

            def emit(which: np.ndarray, values: np.ndarray, confirmed: bool) -> None:
                handled[gsel[which]] = True
                out.append(_Points(records[gsel[which]], tags, tag_idx[which], steps[which], walls[which],
                                   values.astype(np.float64), confirmed))

            if width - q == 5:  # simple_value
                classic = np.flatnonzero(suffix[:, 0] == 0x15)
                emit(classic, np.ascontiguousarray(suffix[classic, 1:5]).view("<f4").ravel(), True)
                continue
            todo = np.flatnonzero(suffix[:, 0] == 0x42)
            for _ in range(8):  # one pass per distinct tensor layout
                if todo.size == 0:
                    break
                template = suffix[todo[0]]
                decoded = _tensor_template(template.tobytes())
                if decoded is None:
                    break
                off, dtype, plugin = decoded
                wide = np.dtype(dtype).itemsize
                fixed = np.ones(width - q, dtype=bool)
                fixed[off : off + wide] = False
                match = (suffix[todo][:, fixed] == template[fixed]).all(axis=1)
                which = todo[match]
                todo = todo[~match]
                if plugin is not None:
                    for ti in np.unique(tag_idx[which]).tolist():
                        plugins.setdefault(tags[ti], plugin)
                    if plugin != _SCALARS:
                        handled[gsel[which]] = True
                        continue
                vals = np.ascontiguousarray(suffix[which, off : off + wide]).view(dtype).ravel()
                emit(which, vals, plugin == _SCALARS)
    return handled, out


def _slow_parse(data: bytes, record: int, plugins: dict[str, str], out: list, hparams: dict) -> bool:
    """Decode one record with protobuf (:mod:`._proto`); appends ``(record, tag, step, wall,
    value-or-TensorProto)`` to ``out`` and an hparams ``session_start_info`` to ``hparams``. False
    when the bytes are not an ``Event``."""
    Event, _, _, DecodeError = messages()
    try:
        event = Event.FromString(data)
    except (DecodeError, RuntimeError, ValueError):  # RuntimeError: recursion limit in nested junk
        return False
    if not event.HasField("summary"):
        return True
    for value in event.summary.value:
        plugin = value.metadata.plugin_data.plugin_name if value.HasField("metadata") else ""
        if plugin:
            plugins.setdefault(value.tag, plugin)
        if plugin == _HPARAMS:
            found = hparams_of(value.metadata.plugin_data.content)
            if found is not None:
                hparams.update(found)
        kind = value.WhichOneof("value")
        if kind == "simple_value":
            out.append((record, value.tag, event.step, event.wall_time, value.simple_value))
        elif kind == "tensor":
            out.append((record, value.tag, event.step, event.wall_time, value.tensor))
    return True


class _PackedSeries(NamedTuple):
    """Every tag's points in four arrays (tag ``i`` is ``bounds[i]:bounds[i + 1]``): how a reader's
    points travel between processes and stay until the file grows. Why: unpickled as one
    :class:`ScalarSeries` per tag, a reader of 20 tags is ~170 objects for the cyclic garbage
    collector to track; 5,000 of them (a cold listing) triggered three full collections of
    140–190 ms each in a server with JupyterLab's heap (the event loop stalls meanwhile). Packed: 6."""

    tags: tuple[str, ...]
    bounds: np.ndarray
    steps: np.ndarray
    walls: np.ndarray
    values: np.ndarray

    @classmethod
    def of(cls, chunks: dict[str, list[ScalarSeries]]) -> _PackedSeries:
        series = [parts[0] if len(parts) == 1 else ScalarSeries(*(np.concatenate(c) for c in zip(*parts)))
                  for parts in chunks.values()]
        bounds = np.cumsum([0] + [s.steps.size for s in series])
        if not series:
            return cls((), bounds, np.empty(0, np.int64), np.empty(0, np.float64), np.empty(0, np.float64))
        return cls(tuple(chunks), bounds, *(np.concatenate(col) for col in zip(*series)))

    def series(self, tag: str) -> ScalarSeries | None:
        try:
            i = self.tags.index(tag)
        except ValueError:
            return None
        lo, hi = int(self.bounds[i]), int(self.bounds[i + 1])
        return ScalarSeries(self.steps[lo:hi], self.walls[lo:hi], self.values[lo:hi])

    def unpack(self) -> dict[str, list[ScalarSeries]]:
        return {tag: [self.series(tag)] for tag in self.tags}


class EventFileReader:
    """Incremental reader of one ``*tfevents*`` file; keeps the scalars read so far.

    Call :meth:`update` to read what was appended since the previous call (only new bytes are read
    from disk), then :meth:`series` / :attr:`tags`. Thread-safe.
    """

    def __init__(self, path: str | os.PathLike, max_series_points: int = DEFAULT_SERIES_POINTS,
                 keep_plugins: tuple[str, ...] = ()):
        self.path = os.fspath(path)
        self.max_series_points = max_series_points
        self.keep_plugins = frozenset(keep_plugins)  #: plugins whose tensors are kept (attention snapshots)
        self.lock = threading.RLock()  #: held while reading or copying out
        self._reset()

    def _reset(self) -> None:
        self.file_offset = 0  #: bytes of the file read so far
        self.bytes_read = 0  #: bytes read from disk by the last :meth:`update`
        self.records = 0  #: complete records framed (length checksum valid), including skipped ones
        self.first_step: int | None = None  #: step of the first scalar point in the file
        self.last_step: int | None = None  #: largest scalar step seen
        self.n_points = 0  #: scalar points held
        self._pending = b""  # bytes after the last complete record (incomplete record or resync tail)
        self._resyncing = False
        self._identity: tuple[int, int] | None = None
        self._plugins: dict[str, str] = {}
        self.hparams: dict = {}  #: hyperparameters of an hparams plugin session_start_info record
        self._chunks: dict[str, list[ScalarSeries]] | _PackedSeries = {}  # packed: see _PackedSeries
        self._tensors: dict[str, list[tuple[int, int, float, bytes]]] = {}  # keep_plugins: (record, step, wall, bytes)
        self._warnings: list[str] = []
        self._dropped_warnings = 0

    def __getstate__(self) -> dict:  # sent to and from reading processes (._workers)
        state = {k: v for k, v in self.__dict__.items() if k != "lock"}
        if isinstance(self._chunks, dict):
            state["_chunks"] = _PackedSeries.of(self._chunks)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.lock = threading.RLock()

    @property
    def unread(self) -> bool:
        """Nothing of the file read yet."""
        return self.file_offset == 0 and self._identity is None

    def adopt(self, other: EventFileReader) -> None:
        """Take over what ``other`` (the same file's reader, e.g. back from a reading process) read."""
        with self.lock:
            self.__dict__.update(other.__getstate__())

    def _warn(self, message: str) -> None:
        if len(self._warnings) < _MAX_WARNINGS:
            self._warnings.append(message)
        else:
            self._dropped_warnings += 1

    @property
    def warnings(self) -> list[str]:
        """Problems found so far: corrupt records (kept), plus the file's current state."""
        with self.lock:
            out = list(self._warnings)
            if self._dropped_warnings:
                out.append(f"{self._dropped_warnings} more problems not listed")
            if self.file_offset == 0:
                out.append("empty file (0 bytes)")
            elif self.records == 0:
                out.append(f"no valid event records in {self.file_offset} bytes")
            elif self._pending and not self._resyncing:
                out.append(f"last {len(self._pending)} bytes are an incomplete record (still being written?)")
            return out

    @property
    def tags(self) -> list[str]:
        """Scalar tags, in order of first appearance."""
        with self.lock:
            return list(self._chunks.tags if isinstance(self._chunks, _PackedSeries) else self._chunks)

    def plugin(self, tag: str) -> str | None:
        """Plugin name of ``tag`` from its summary metadata, if any was read."""
        with self.lock:
            return self._plugins.get(tag)

    def plugin_tags(self, plugin: str) -> list[str]:
        """Tags whose summary metadata names ``plugin`` (known from metadata alone: nothing decoded)."""
        with self.lock:
            return [tag for tag, name in self._plugins.items() if name == plugin]

    def tensors(self) -> dict[str, list[tuple[int, float, bytes]]]:
        """``{tag: [(step, wall_time, tensor_content)]}`` in file order, for tags of ``keep_plugins``."""
        with self.lock:
            return {tag: [p[1:] for p in sorted(points)] for tag, points in self._tensors.items()}

    def series(self, tag: str) -> ScalarSeries:
        """All points of ``tag`` read so far (empty arrays for an unknown tag)."""
        with self.lock:
            if isinstance(self._chunks, _PackedSeries):
                return self._chunks.series(tag) or _empty_series()
            chunks = self._chunks.get(tag)
            if not chunks:
                return _empty_series()
            if len(chunks) > 1:
                chunks[:] = [ScalarSeries(*(np.concatenate(col) for col in zip(*chunks)))]
            return chunks[0]

    def update(self, stat: os.stat_result | None = None) -> int:
        """Read the bytes appended since the last call and decode them; returns the count read.

        ``stat`` (the file's current ``os.stat``) lets an unchanged file return 0 without being
        opened. A file that shrank or was replaced (new inode) is read again from the start, with a
        warning. Raises OSError when the file cannot be opened.
        """
        with self.lock:
            if stat is not None and (stat.st_dev, stat.st_ino) == self._identity and stat.st_size == self.file_offset:
                self.bytes_read = 0
                return 0
            with open(self.path, "rb") as f:
                st = os.fstat(f.fileno())
                identity = (st.st_dev, st.st_ino)
                if self._identity is not None and (identity != self._identity or st.st_size < self.file_offset):
                    self._reset()
                    self._warn("file was truncated or replaced; read again from the start")
                self._identity = identity
                f.seek(self.file_offset)
                self.bytes_read = 0
                while block := f.read(_BLOCK):  # bounded blocks keep memory flat on huge files
                    self.feed(block)
            return self.bytes_read

    def feed(self, block: bytes) -> None:
        """Decode ``block``, the file's bytes from :attr:`file_offset` on (local reads, and ranged
        reads of remote files in :mod:`._remote`, both come through here)."""
        with self.lock:
            base = self.file_offset - len(self._pending)
            buf = self._pending + block
            consumed = self._consume(buf, base)
            self._pending = buf[consumed:]
            self.file_offset += len(block)
            self.bytes_read += len(block)

    def _consume(self, buf: bytes, base: int) -> int:
        """Decode all complete records of ``buf`` (which starts at file offset ``base``); returns
        how many bytes were used up."""
        arr = np.frombuffer(buf, dtype=np.uint8)
        n = len(buf)
        pos = 0
        while True:
            if self._resyncing:
                found = _resync(buf, arr, pos)
                if found is None:
                    return max(pos, n - _HEADER + 1)
                self._resyncing = False
                pos = found
            starts, lens, end = _frame(buf, arr, pos)
            bad_at = None
            if starts.size:
                ok = (lens <= _MAX_RECORD) & _header_ok(arr, starts)
                if not ok.all():
                    cut = int(np.argmin(ok))
                    bad_at = int(starts[cut])
                    starts, lens = starts[:cut], lens[:cut]
                self._decode(buf, arr, starts, lens, base)
            if bad_at is None and n - end >= _HEADER:  # the unfinished tail must have a sound header
                length = _U64.unpack_from(buf, end)[0]
                if length > _MAX_RECORD or mask(crc32c(buf[end : end + 8])) != _U32.unpack_from(buf, end + 8)[0]:
                    bad_at = end
            if bad_at is None:
                return end
            self._warn(f"bad length checksum at byte {base + bad_at}; skipped to the next valid record")
            self._resyncing = True
            pos = bad_at + 1

    def _decode(self, buf: bytes, arr: np.ndarray, starts: np.ndarray, lens: np.ndarray, base: int) -> None:
        """Verify data checksums and decode the framed records, grouped by length."""
        if starts.size == 0:  # e.g. the first header of a block already failed its checksum
            return
        first = self.records
        points: list[_Points] = []
        slow: list = []
        few: list[np.ndarray] = []  # records of rare lengths: one shared checksum pass, then protobuf
        small = lens.astype(np.uint16) if lens.size and lens.max() < 1 << 16 else lens
        order = np.argsort(small, kind="stable")  # radix sort for 16-bit keys
        cuts = np.flatnonzero(np.diff(small[order])) + 1
        for group in np.split(order, cuts):
            width = int(lens[group[0]])
            if group.size < _MIN_COLUMNAR or width > ROW:
                few.append(group)
                continue
            step = max(1, _GATHER // (width + 4))
            for lo in range(0, group.size, step):
                idx = group[lo : lo + step]
                block = _windows(arr, starts[idx] + _HEADER, width + 4)  # data + its checksum
                rows = block[:, :width]
                good = mask(crc32c_rows(rows)) == _le32(block[:, width:])
                self._bad_checksums(base, starts[idx[~good]], width)
                if not good.all():
                    rows, idx = rows[good], idx[good]
                handled, found = _fast_parse(rows, first + idx, self._plugins)
                points.extend(found)
                for i in np.flatnonzero(~handled).tolist():
                    self._parse_one(rows[i].tobytes(), first + int(idx[i]), base + int(starts[idx[i]]), slow)
        if few:
            self._decode_few(buf, arr, np.sort(np.concatenate(few)), starts, lens, base, first, slow)
        self.records += int(starts.size)
        self._store(points, slow)

    def _bad_checksums(self, base: int, at: np.ndarray, width: int) -> None:
        for pos in at.tolist():
            self._warn(f"bad data checksum in the {width}-byte record at byte {base + pos}; record skipped")

    def _parse_one(self, data: bytes, record: int, at: int, slow: list) -> None:
        if not _slow_parse(data, record, self._plugins, slow, self.hparams):
            self._warn(f"record at byte {at} is not a valid Event; skipped")

    def _decode_few(self, buf: bytes, arr: np.ndarray, idx: np.ndarray, starts: np.ndarray, lens: np.ndarray,
                    base: int, first: int, slow: list) -> None:
        """Checksum and protobuf-decode records ``idx`` (too few of their length for columns)."""
        at, widths = starts[idx], lens[idx]
        short = widths <= ROW
        if short.any():
            s_at, s_w = at[short], widths[short]
            width = int(s_w.max())
            rows = np.zeros((s_at.size, width), dtype=np.uint8)  # right-aligned, zeros in front
            for i, (pos, n) in enumerate(zip(s_at.tolist(), s_w.tolist())):
                rows[i, width - n :] = arr[pos + _HEADER : pos + _HEADER + n]
            ok = np.ones(idx.size, dtype=bool)
            ok[short] = mask(crc32c_padded(rows, s_w)) == _le32(_windows(arr, s_at + _HEADER + s_w, 4))
        else:
            ok = np.zeros(idx.size, dtype=bool)
        for i in np.flatnonzero(~short).tolist():
            pos, n = int(at[i]), int(widths[i])
            ok[i] = mask(crc32c(arr[pos + _HEADER : pos + _HEADER + n])) == _U32.unpack_from(buf, pos + _HEADER + n)[0]
        for i in range(idx.size):
            pos, n = int(at[i]), int(widths[i])
            if not ok[i]:
                self._bad_checksums(base, at[i : i + 1], n)
                continue
            self._parse_one(buf[pos + _HEADER : pos + _HEADER + n], first + int(idx[i]), base + pos, slow)

    def _store(self, points: list[_Points], slow: list) -> None:
        """Append decoded points to their tags in record order; tensors count only when their tag's
        metadata names the ``scalars`` plugin."""
        per_tag: dict[str, list[tuple[np.ndarray, ...]]] = {}
        for pts in points:
            for ti in np.unique(pts.tag_idx).tolist():
                tag = pts.tags[ti]
                if not pts.confirmed and self._plugins.get(tag) != _SCALARS:
                    continue
                sel = pts.tag_idx == ti
                per_tag.setdefault(tag, []).append(
                    (pts.records[sel], pts.steps[sel], pts.walls[sel], pts.values[sel])
                )
        by_tag: dict[str, list[tuple]] = {}
        for record, tag, step, wall, value in slow:
            if not isinstance(value, float):
                if self._plugins.get(tag) in self.keep_plugins:
                    self._tensors.setdefault(tag, []).append((record, step, wall, value.tensor_content))
                    continue
                if self._plugins.get(tag) != _SCALARS:
                    continue
                value = tensor_scalar(value)
                if value is None:
                    continue
            by_tag.setdefault(tag, []).append((record, step, wall, value))
        for tag, rows in by_tag.items():
            rec, step, wall, value = zip(*rows)
            per_tag.setdefault(tag, []).append(
                (np.array(rec, np.int64), np.array(step, np.int64), np.array(wall, np.float64), np.array(value, np.float64))
            )
        first_seen = sorted(per_tag, key=lambda t: min(int(c[0].min()) for c in per_tag[t]))
        for tag in first_seen:
            rec, steps, walls, values = (np.concatenate(col) for col in zip(*per_tag[tag]))
            if rec.size > 1 and (np.diff(rec) < 0).any():
                o = np.argsort(rec, kind="stable")
                steps, walls, values = steps[o], walls[o], values[o]
            if self.first_step is None:  # the first tag holds the batch's earliest record
                self.first_step = int(steps[0])
            if isinstance(self._chunks, _PackedSeries):  # the file grew: back to appendable lists
                self._chunks = self._chunks.unpack()
            chunks = self._chunks.setdefault(tag, [])
            chunks.append(ScalarSeries(steps, walls, values))
            self.n_points += int(steps.size)
            held = sum(c.steps.size for c in chunks)
            if held > self.max_series_points:
                kept = keep_extremes(ScalarSeries(*(np.concatenate(col) for col in zip(*chunks))),
                                     self.max_series_points // 2)
                chunks[:] = [kept]
                self.n_points -= held - kept.steps.size
            top = int(steps.max())
            self.last_step = top if self.last_step is None else max(self.last_step, top)


#: Files up to this size, never read before, are decoded together (see :func:`read_fresh_files`).
BATCH_FILE_BYTES = 1 << 18
_BATCH_BYTES = 1 << 24  # bytes decoded per batch


class _Capture(EventFileReader):
    """A decoder for a batch of files: collects points instead of storing them, and whether any
    record needed per-file state (warnings, tensors awaiting metadata, hparams)."""

    def __init__(self):
        super().__init__("<batch>")
        self.points: list[_Points] = []
        self.slow: list = []
        self.troubled = False

    def _warn(self, message: str) -> None:
        self.troubled = True

    def _store(self, points: list[_Points], slow: list) -> None:
        self.points.extend(points)
        self.slow.extend(slow)
        if self.hparams or any(not p.confirmed for p in points) or any(not isinstance(s[4], float) for s in slow):
            self.troubled = True


def read_fresh_files(readers: list[EventFileReader]) -> list[EventFileReader]:
    """Read never-read files of at most :data:`BATCH_FILE_BYTES` together; returns the readers
    left for :meth:`EventFileReader.update` (bigger, already read, or not decodable this way).

    Why: a small file costs ~2 ms in fixed numpy overhead per call (framing, checksums and
    column-wise decoding per record length), so 2,000 small runs took 5 s. Framed one by one,
    their records are then checksummed and decoded in one pass over all files, and the points
    handed back to each file's reader. Any batch with a corrupt record, a tensor whose plugin is
    only named elsewhere, a tensor decoded by protobuf (e.g. an attention snapshot a reader's
    ``keep_plugins`` keeps) or hparams records is read file by file instead, so results, kept
    tensors and warnings are exactly those of :meth:`EventFileReader.update`.
    """
    rest, batch, size = [], [], 0
    for reader in readers:
        with reader.lock:
            fresh = reader.unread
        try:
            bytes_ = os.stat(reader.path).st_size if fresh else None
        except OSError:
            bytes_ = None
        if bytes_ is not None and bytes_ <= BATCH_FILE_BYTES:
            batch.append((reader, bytes_))
        else:
            rest.append(reader)
    groups, current = [], []
    for reader, bytes_ in batch:
        current.append(reader)
        size += bytes_
        if size >= _BATCH_BYTES:
            groups.append(current)
            current, size = [], 0
    if current:
        groups.append(current)
    for group in groups:
        rest.extend(_read_batch(group))
    return rest


def _read_batch(readers: list[EventFileReader]) -> list[EventFileReader]:
    """Decode ``readers``' files together; returns those that must be read one by one."""
    parts, fallback = [], []
    for reader in readers:
        try:
            with open(reader.path, "rb") as f:
                st = os.fstat(f.fileno())
                data = f.read(BATCH_FILE_BYTES + 1)
        except OSError:
            fallback.append(reader)  # update() reports it
            continue
        if len(data) > BATCH_FILE_BYTES or not data:
            fallback.append(reader)
            continue
        arr = np.frombuffer(data, dtype=np.uint8)
        starts, lens, end = _frame(data, arr, 0)
        tail_bad = len(data) - end >= _HEADER and (
            _U64.unpack_from(data, end)[0] > _MAX_RECORD
            or mask(crc32c(data[end : end + 8])) != _U32.unpack_from(data, end + 8)[0]
        )
        if tail_bad or not starts.size:
            fallback.append(reader)
            continue
        parts.append((reader, st, data, starts, lens, end))
    if not parts:
        return fallback
    big = b"".join(p[2] for p in parts)
    arr = np.frombuffer(big, dtype=np.uint8)
    offsets = np.cumsum([0] + [len(p[2]) for p in parts[:-1]])
    starts = np.concatenate([p[3] + off for p, off in zip(parts, offsets)])
    lens = np.concatenate([p[4] for p in parts])
    counts = np.array([p[3].size for p in parts])
    capture = _Capture()
    if not ((lens <= _MAX_RECORD) & _header_ok(arr, starts)).all():
        return fallback + [p[0] for p in parts]
    capture._decode(big, arr, starts, lens, 0)
    if capture.troubled:
        return fallback + [p[0] for p in parts]
    bounds = np.cumsum(counts)
    firsts = bounds - counts
    per_points: list[list[_Points]] = [[] for _ in parts]
    for pts in capture.points:
        which = np.searchsorted(bounds, pts.records, side="right")
        for k in np.unique(which).tolist():
            sel = which == k
            per_points[k].append(pts._replace(records=pts.records[sel] - firsts[k], tag_idx=pts.tag_idx[sel],
                                              steps=pts.steps[sel], walls=pts.walls[sel], values=pts.values[sel]))
    per_slow: list[list] = [[] for _ in parts]
    for record, *rest in capture.slow:
        k = int(np.searchsorted(bounds, record, side="right"))
        per_slow[k].append((record - int(firsts[k]), *rest))
    for k, (reader, st, data, _, _, end) in enumerate(parts):
        with reader.lock:
            if reader.file_offset or reader._identity is not None:
                continue  # read meanwhile by another thread
            reader._identity = (st.st_dev, st.st_ino)
            reader._plugins = dict(capture._plugins)
            reader.records = int(counts[k])
            reader._store(per_points[k], per_slow[k])
            reader._pending = data[end:]
            reader.file_offset = len(data)
            reader.bytes_read = len(data)
    return fallback
