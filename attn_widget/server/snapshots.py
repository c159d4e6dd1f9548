"""REST handlers of the training timeline: a run's attention snapshots (:mod:`attn_widget.tensorboard.snapshots`).

* ``GET {base_url}attn-widget/snapshots?run=<run>`` → ``{"run": str, "steps": [int], "texts": [str],
  "shape": [layers, heads, query, key], "layer_numbers": [int], "head_numbers": [int] | null}`` (shape and
  numbers of the first text's latest snapshot). The statistics curves are ordinary scalars
  (``attention/<stat>/L<l>H<h>``), served by the scalars handler.
* ``GET {base_url}attn-widget/snapshots/attention?run=<run>&step=<int>&text=<index>`` → one snapshot in the
  widget's compact form, ``weight = byte / 255 · scale``, with the metadata ``{"run", "step", "text",
  "tokens", "shape": [layers, heads, query, key], "layer_numbers", "head_numbers", "scale": [[float]]
  (layers, heads)}``, in one of two forms:

  - JSON (the default): the metadata plus ``"data"``: base64 of the uint8 block (layers, heads, query, key).
  - Binary, when asked with ``Accept: application/octet-stream`` or ``format=binary`` (``format=json``
    forces JSON): ``Content-Type: application/octet-stream``, body = the metadata's UTF-8 JSON length as
    a little-endian uint32, that JSON, then the raw uint8 block (layers, heads, query, key) in C order
    up to the end of the body (its length is the product of ``shape``). One length prefix keeps the
    framing trivial to parse (a ``DataView`` and a ``TextDecoder``) with no size limit on the tokens,
    which response headers would have; a 12 × 12 × 128² block is 2.4 MB instead of 3.1 MB of base64.

Runs are named as in the runs listing and confined to the runs root the same way (400 for ``..``, an
absolute path or a null byte; 404 outside the root). A run without snapshots, an unknown step or text
gets 404 with the reader's message; snapshots are read from local roots only (400 for a remote one).
Errors are JSON ``{"message": ...}`` in either form. A run's snapshots are kept while its event files
are unchanged (the last :data:`_KEPT_RUNS` runs).
"""

from __future__ import annotations

import base64
import json
import os
import struct
import threading
from collections import OrderedDict

from jupyter_server.utils import url_path_join
from tornado import web

from .handlers import _RunsHandler

_KEPT_RUNS = 4
_CACHE_KEY = "attn_widget_snapshots"


class _SnapshotCache:
    """``read_attention`` results per run folder, valid while its event files' (name, size, mtime) hold."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[str, tuple[tuple, object]] = OrderedDict()
        self._lock = threading.Lock()

    def read(self, run_dir: str):
        from ..tensorboard.snapshots import read_attention

        with os.scandir(run_dir) as entries:
            stats = [(e.name, e.stat()) for e in entries if "tfevents" in e.name and e.is_file()]
        signature = tuple(sorted((name, st.st_size, st.st_mtime_ns) for name, st in stats))
        with self._lock:
            item = self._items.get(run_dir)
            if item is not None and item[0] == signature:
                self._items.move_to_end(run_dir)
                return item[1]
        snapshots = read_attention(run_dir)
        with self._lock:
            self._items[run_dir] = (signature, snapshots)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return snapshots


class _SnapshotsHandler(_RunsHandler):
    async def _snapshots(self, run: str):
        """The run's name, folder and :class:`~attn_widget.tensorboard.snapshots.AttentionSnapshots`."""
        from ..errors import AttentionInputError

        state = self.runs_state
        root, path = state.resolve("" if run == "." else run.rstrip("/"), "run")
        if root.remote is not None:
            raise web.HTTPError(400, f"attention snapshots are read from local roots only; {run!r} is remote")
        cache = self.settings.setdefault(_CACHE_KEY, _SnapshotCache(_KEPT_RUNS))  # one per server
        try:
            return root.name_of(path), await state.call(cache.read, path)
        except AttentionInputError as exc:
            raise web.HTTPError(404, str(exc).replace(root.path, "<root>")) from None

    def _json(self, answer: dict) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(answer))


class SnapshotStepsHandler(_SnapshotsHandler):
    """``GET attn-widget/snapshots?run=``: steps and probe texts of a run's snapshots."""

    @web.authenticated
    async def get(self) -> None:
        name, snapshots = await self._snapshots(self.get_query_argument("run", "."))
        latest = snapshots.series(0)[-1]
        self._json(
            {
                "run": name,
                "steps": snapshots.steps,
                "texts": snapshots.texts,
                "shape": list(latest.shape),
                "layer_numbers": latest.layer_numbers,
                "head_numbers": latest.head_numbers,
            }
        )


class SnapshotAttentionHandler(_SnapshotsHandler):
    """``GET attn-widget/snapshots/attention?run=&step=&text=``: one snapshot's uint8 attention block."""

    @web.authenticated
    async def get(self) -> None:
        from ..errors import AttentionInputError

        raw_step, raw_text = self.get_query_argument("step", ""), self.get_query_argument("text", "0")
        try:
            step, text = int(raw_step), int(raw_text)
        except ValueError:
            raise web.HTTPError(
                400, f"step and text must be integers (text: an index), got {raw_step!r}, {raw_text!r}"
            ) from None
        binary = self._binary_asked()
        name, snapshots = await self._snapshots(self.get_query_argument("run", "."))
        try:
            snapshot = snapshots.get(step, text)
            quantized = await self.runs_state.call(lambda: snapshot.quantized)
        except AttentionInputError as exc:
            raise web.HTTPError(404, str(exc)) from None
        meta = {
            "run": name, "step": snapshot.step, "text": snapshot.text, "tokens": snapshot.tokens,
            "shape": list(quantized.shape), "layer_numbers": snapshot.layer_numbers,
            "head_numbers": snapshot.head_numbers, "scale": quantized.scale.tolist(),
        }  # fmt: skip
        block = b"".join(quantized.layers)  # (layers, heads, query, key) uint8, C order
        if not binary:
            self._json({**meta, "data": base64.b64encode(block).decode("ascii")})
            return
        header = json.dumps(meta).encode("utf-8")
        body = b"".join((struct.pack("<I", len(header)), header, block))
        self.finish(body, set_content_type="application/octet-stream")  # APIHandler.finish sets the type

    def _binary_asked(self) -> bool:
        """Whether to answer in the binary form: ``format=binary``, or no ``format`` and an ``Accept``
        header naming ``application/octet-stream``; 400 for another ``format``."""
        form = self.get_query_argument("format", "")
        if form not in ("", "json", "binary"):
            raise web.HTTPError(400, f"format must be 'json' or 'binary', got {form!r}")
        if form:
            return form == "binary"
        return "application/octet-stream" in self.request.headers.get("Accept", "")


def snapshot_handlers(base: str) -> list[tuple[str, type]]:
    """URL patterns below ``base`` (``{base_url}attn-widget``) for :func:`~attn_widget.server.handlers.setup_handlers`."""
    return [
        (url_path_join(base, "snapshots"), SnapshotStepsHandler),
        (url_path_join(base, "snapshots", "attention"), SnapshotAttentionHandler),
    ]
