"""Attention snapshots in TensorBoard event files: written during training, read back for the widget.

:func:`log_attention` runs a model on a few probe texts and writes into the run's own event file,
through a ``SummaryWriter`` (torch's ``torch.utils.tensorboard`` or ``tensorboardX``):

* per-head statistics (:func:`attn_widget.analysis.head_statistics`, averaged over the probe texts)
  as ordinary scalars, tag ``attention/<statistic>/L<layer>H<head>``, which TensorBoard plots;
* one snapshot per probe text as a tensor summary, tag ``attention_snapshot/<index>``, under the
  plugin name :data:`PLUGIN_NAME`. TensorBoard loads it without error and, knowing no such plugin,
  ignores it.

A snapshot is a 1-D ``uint8`` tensor holding :data:`MAGIC`, the format version, a little-endian
``uint32`` header length, a JSON header (text, tokens, shape ``(layers, heads, query, key)``,
layer/head numbers, KV heads, causal, special tokens) and the ``zlib``-compressed widget block
(:class:`attn_widget.wire.QuantizedAttention`, ``uint8``): the per-head ``scale`` as float32
``(layers, heads)``, then the bytes ``(layers, heads, query, key)``. Snapshots use scale 1 for every
head (``byte = round(255 · weight)``, absolute error ≤ 1/510) rather than the live widget's per-head
maximum: measured on a 12 × 12 random BERT at 128 tokens, per-head scaling turns the noise of
near-uniform heads into ~5 bits per weight (1.7 MB per snapshot) where scale 1 gives 5 kB. Why
``zlib``: standard library and fast to decompress (``lzma`` is 10–25 % smaller but decompresses ~10×
slower, which reading 100 snapshots would feel); see ``benchmarks/bench_snapshots.py``.

:func:`read_attention` reads them back with the package's own event reader
(:class:`attn_widget.tensorboard.EventFileReader`), not TensorBoard's.
"""

from __future__ import annotations

import bisect
import json
import os
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..analysis import SPECIAL_TOKENS, head_statistics, is_causal
from ..arrays import AttentionResult
from ..errors import AttentionInputError
from ..models import extract_attention
from ..wire import QuantizedAttention
from ._reader import SNAPSHOT_PLUGIN, EventFileReader

#: Plugin name of snapshot tensor summaries (TensorBoard has no plugin of that name and skips them).
PLUGIN_NAME = SNAPSHOT_PLUGIN
#: First bytes of every snapshot, then the format version.
MAGIC = b"AWS"
FORMAT_VERSION = 1
#: Tag prefixes: snapshots ``attention_snapshot/<text index>``, statistics ``attention/<stat>/L<l>H<h>``.
SNAPSHOT_TAG = "attention_snapshot"
STATS_TAG = "attention"
#: Statistics written as scalars by default (any key of :func:`~attn_widget.analysis.head_statistics`).
DEFAULT_STATS = ("previous_token_score", "induction_score", "entropy_ratio", "first", "confidence")
_ZLIB_LEVEL = 6  # level 9: 4-15 % smaller, 7-10x slower to write (12 x 12 heads, 128 tokens)
_U32 = struct.Struct("<I")


# --------------------------------------------------------------------------- the snapshot format


def quantize_absolute(attention: np.ndarray) -> QuantizedAttention:
    """The widget's ``uint8`` block of ``(layers, heads, query, key)`` weights in [0, 1] with every scale 1:
    ``byte = round(255 · weight)``, absolute error ≤ 1/510 (see the module docstring for why)."""
    data = np.rint(np.clip(attention, 0.0, 1.0) * np.float32(255)).astype(np.uint8)
    return QuantizedAttention([layer.tobytes() for layer in data], np.ones(data.shape[:2], np.float32),
                              tuple(data.shape), "uint8")  # fmt: skip


@dataclass
class Snapshot:
    """The attention of one probe text at one training step.

    :attr:`quantized`: the widget's ``uint8`` block of ``(layers, heads, query, key)`` (decompressed on
    first use when read from a file); :attr:`attention` decodes it to float32 (absolute error ≤ 1/510).
    """

    step: int
    wall_time: float
    text: str
    tokens: list[str]
    shape: tuple[int, int, int, int]
    layer_numbers: list[int]
    head_numbers: list[int] | None = None
    num_kv_heads: int = 0
    causal: bool | None = None
    special_tokens: list[str] = field(default_factory=lambda: list(SPECIAL_TOKENS))
    _quantized: QuantizedAttention | None = field(default=None, repr=False)
    _compressed: bytes = field(default=b"", repr=False)

    @property
    def quantized(self) -> QuantizedAttention:
        if self._quantized is None:
            try:
                self._quantized = _decompress(self._compressed, self.shape)
            except (zlib.error, ValueError) as err:
                raise AttentionInputError(f"the snapshot of {self.text!r} at step {self.step} is damaged: {err}") from err
        return self._quantized

    @property
    def attention(self) -> np.ndarray:
        """Float32 ``(layers, heads, query, key)``."""
        return self.quantized.dequantize()

    def result(self) -> AttentionResult:
        """The snapshot as an :class:`~attn_widget.arrays.AttentionResult` (for ``AttentionWidget.from_result``
        and ``AttentionWidget.diff``)."""
        return AttentionResult(
            tokens=list(self.tokens),
            attention=self.attention,
            layer_numbers=list(self.layer_numbers),
            head_numbers=None if self.head_numbers is None else list(self.head_numbers),
            causal=self.causal,
        )

    def statistics(self) -> dict[str, np.ndarray]:
        """:func:`~attn_widget.analysis.head_statistics` of this snapshot, each ``(layers, heads)``."""
        return head_statistics(self.attention, self.tokens, causal=self.causal)

    def widget_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :class:`~attn_widget.AttentionWidget` showing this snapshot."""
        return {
            "attention": self.attention,
            "tokens": list(self.tokens),
            "layer_numbers": list(self.layer_numbers),
            "head_numbers": self.head_numbers,
            "num_kv_heads": self.num_kv_heads,
            "special_tokens": list(self.special_tokens),
        }


def encode_snapshot(snapshot: Snapshot) -> bytes:
    """The bytes of ``snapshot`` as stored in the event file (see the module docstring)."""
    q = snapshot.quantized
    header = json.dumps({
        "text": snapshot.text, "tokens": list(snapshot.tokens), "shape": list(q.shape),
        "layer_numbers": list(snapshot.layer_numbers), "head_numbers": snapshot.head_numbers,
        "num_kv_heads": snapshot.num_kv_heads, "causal": snapshot.causal, "special_tokens": snapshot.special_tokens,
    }).encode("utf-8")  # fmt: skip
    payload = zlib.compressobj(_ZLIB_LEVEL)
    body = payload.compress(q.scale.astype("<f4").tobytes())
    for layer in q.layers:
        body += payload.compress(layer)
    body += payload.flush()
    return MAGIC + bytes([FORMAT_VERSION]) + _U32.pack(len(header)) + header + body


def decode_snapshot(data: bytes, step: int = 0, wall_time: float = 0.0) -> Snapshot:
    """Inverse of :func:`encode_snapshot`; the attention is decompressed on first use. Raises ``ValueError``
    for bytes that are not a snapshot."""
    if data[:3] != MAGIC or len(data) < 8:
        raise ValueError("not an attn-widget attention snapshot")
    if data[3] != FORMAT_VERSION:
        raise ValueError(f"attention snapshot format {data[3]} is newer than this attn-widget reads ({FORMAT_VERSION})")
    (size,) = _U32.unpack_from(data, 4)
    header = json.loads(data[8 : 8 + size].decode("utf-8"))
    return Snapshot(
        step=int(step), wall_time=float(wall_time), text=header["text"], tokens=header["tokens"],
        shape=tuple(header["shape"]), layer_numbers=header["layer_numbers"], head_numbers=header["head_numbers"],
        num_kv_heads=header["num_kv_heads"], causal=header["causal"], special_tokens=header["special_tokens"],
        _compressed=bytes(data[8 + size :]),
    )  # fmt: skip


def _decompress(compressed: bytes, shape: tuple[int, int, int, int]) -> QuantizedAttention:
    layers, heads, nq, nk = shape
    body = zlib.decompress(compressed)
    scale_bytes = 4 * layers * heads
    if len(body) != scale_bytes + layers * heads * nq * nk:
        raise ValueError(f"attention snapshot of shape {shape} holds {len(body)} bytes of data")
    scale = np.frombuffer(body, "<f4", layers * heads).reshape(layers, heads).astype(np.float32)
    per_layer = heads * nq * nk
    buffers = [body[scale_bytes + i * per_layer : scale_bytes + (i + 1) * per_layer] for i in range(layers)]
    return QuantizedAttention(buffers, scale, tuple(shape), "uint8")


# --------------------------------------------------------------------------- writing


def _context_length(config: Any) -> int | None:
    """Positions the model can read (``max_position_embeddings``, GPT-2's ``n_positions``), if it says."""
    for name in ("max_position_embeddings", "n_positions", "n_ctx"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def _check_texts(texts: Sequence[str], tokenizer: Any, config: Any) -> list[str]:
    if isinstance(texts, str):
        texts = [texts]
    texts = list(texts)
    if not texts or not all(isinstance(t, str) and t for t in texts):
        raise AttentionInputError("texts must be a non-empty list of non-empty probe strings")
    limit = _context_length(config)
    for i, text in enumerate(texts):
        n = len(tokenizer(text)["input_ids"])
        if limit is not None and n > limit:
            raise AttentionInputError(
                f"probe text {i} has {n} tokens but the model reads at most {limit} positions "
                f"({type(config).__name__}); shorten it"
            )
    return texts


def _file_writer(writer: Any) -> Any:
    """The event-file writer behind a ``SummaryWriter`` (torch's and tensorboardX's ``_get_file_writer``: the one
    way to add a summary proto of our own plugin through them)."""
    get = getattr(writer, "_get_file_writer", None)
    if get is None or not hasattr(writer, "add_scalar"):
        raise TypeError(
            f"writer must be a torch.utils.tensorboard.SummaryWriter (or tensorboardX's), got {type(writer).__name__}"
        )
    return get()


def _snapshot_summary(tag: str, data: bytes) -> Any:
    """A ``Summary`` with one ``uint8`` tensor value under :data:`PLUGIN_NAME` (TensorBoard's own protos)."""
    from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
    from tensorboard.compat.proto.tensor_pb2 import TensorProto
    from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
    from tensorboard.compat.proto.types_pb2 import DT_UINT8

    metadata = SummaryMetadata(
        plugin_data=SummaryMetadata.PluginData(plugin_name=PLUGIN_NAME, content=b'{"version": %d}' % FORMAT_VERSION)
    )
    tensor = TensorProto(
        dtype=DT_UINT8, tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=len(data))]), tensor_content=data
    )
    return Summary(value=[Summary.Value(tag=tag, tensor=tensor, metadata=metadata)])


def log_attention(
    writer: Any,
    step: int,
    model: Any,
    tokenizer: Any,
    texts: str | Sequence[str],
    *,
    layers: Sequence[int] | None = None,
    heads: Sequence[int] | None = None,
    stats: Sequence[str] | None = DEFAULT_STATS,
) -> list[Snapshot]:
    """Log the attention of ``model`` on the probe ``texts`` at training ``step`` through ``writer``.

    Writes per-head statistics as scalars (``stats``: names of
    :func:`~attn_widget.analysis.head_statistics`, averaged over the texts; ``None``: all of them) and
    one snapshot per text (see the module docstring). ``layers``/``heads`` (model numbers) keep only
    those. The model runs in eval mode with eager attention for the call; its mode and attention
    implementation are restored afterwards (:func:`attn_widget.models.extract_attention`). The
    writer is flushed, so readers see the snapshot at once. Returns the snapshots written.
    """
    file_writer = _file_writer(writer)
    texts = _check_texts(texts, tokenizer, model.config)
    kv = getattr(model.config, "num_key_value_heads", None)
    grouped = bool(kv) and kv < model.config.num_attention_heads and heads is None
    specials = list(getattr(tokenizer, "all_special_tokens", SPECIAL_TOKENS))
    snapshots, per_text = [], []
    for index, text in enumerate(texts):
        result = extract_attention(model, tokenizer, text, layers=layers, heads=heads, lazy=False)
        attention = np.asarray(result.attention)
        snapshot = Snapshot(
            step=int(step), wall_time=0.0, text=text, tokens=result.tokens, shape=attention.shape,
            _quantized=quantize_absolute(attention), layer_numbers=result.layer_numbers or list(range(attention.shape[0])), head_numbers=result.head_numbers,
            num_kv_heads=kv if grouped else 0, special_tokens=specials,
            causal=result.causal if result.causal is not None else is_causal(attention),
        )  # fmt: skip
        file_writer.add_summary(_snapshot_summary(f"{SNAPSHOT_TAG}/{index}", encode_snapshot(snapshot)), int(step))
        snapshots.append(snapshot)
        per_text.append(head_statistics(attention, result.tokens, causal=snapshot.causal))
    names = list(per_text[0]) if stats is None else list(stats)
    unknown = [n for n in names if n not in per_text[0]]
    if unknown:
        raise AttentionInputError(f"stats has {unknown[0]!r}; head_statistics gives {sorted(per_text[0])}")
    heads_of = snapshots[0].head_numbers or range(snapshots[0].shape[1])
    for name in names:
        mean = np.mean([s[name] for s in per_text], axis=0)
        for li, layer in enumerate(snapshots[0].layer_numbers):
            for hi, head in enumerate(heads_of):
                writer.add_scalar(f"{STATS_TAG}/{name}/L{layer}H{head}", float(mean[li, hi]), int(step))
    writer.flush()
    return snapshots


# --------------------------------------------------------------------------- reading


class AttentionSnapshots:
    """The snapshots of one run: ``steps`` (sorted), ``texts`` (probe texts, in logging order) and, per
    step and text, a :class:`Snapshot`. A step logged twice (a resumed run) keeps the later one."""

    def __init__(self, run_dir: str, snapshots: dict[tuple[int, str], Snapshot]) -> None:
        self.run_dir = run_dir
        self._snapshots = snapshots
        self.steps: list[int] = sorted({step for step, _ in snapshots})
        self.texts: list[str] = list(dict.fromkeys(text for _, text in snapshots))

    def __len__(self) -> int:
        return len(self._snapshots)

    def __repr__(self) -> str:
        return f"<AttentionSnapshots {self.run_dir!r}: {len(self.steps)} steps × {len(self.texts)} texts>"

    def text(self, text: str | int | None = None) -> str:
        """The probe text meant by ``text``: itself, its index in :attr:`texts`, or (``None``) the first."""
        if text is None:
            return self.texts[0]
        if isinstance(text, int) and not isinstance(text, bool):
            if not 0 <= text < len(self.texts):
                raise AttentionInputError(f"text index {text} is outside the {len(self.texts)} probe texts")
            return self.texts[text]
        if text not in self.texts:
            raise AttentionInputError(f"{text!r} is not a probe text of this run; its texts are {self.texts}")
        return text

    def check_step(self, step: int) -> int:
        """``step`` if a snapshot was logged there, else an error naming the nearest logged steps."""
        if step in self.steps:
            return step
        i = bisect.bisect_left(self.steps, step)
        near = [str(s) for s in self.steps[max(0, i - 1) : i + 1]]
        span = f"{self.steps[0]}..{self.steps[-1]}"
        raise AttentionInputError(
            f"no attention snapshot at step {step}; this run has {len(self.steps)} snapshot steps in {span} "
            f"(nearest: {' and '.join(near)})"
        )

    def get(self, step: int, text: str | int | None = None) -> Snapshot:
        """The snapshot of ``text`` (see :meth:`text`) at ``step``."""
        text = self.text(text)
        snapshot = self._snapshots.get((self.check_step(step), text))
        if snapshot is None:
            raise AttentionInputError(f"probe text {text!r} was not logged at step {step}")
        return snapshot

    def series(self, text: str | int | None = None) -> list[Snapshot]:
        """The snapshots of one text, in step order."""
        text = self.text(text)
        return [self._snapshots[(s, text)] for s in self.steps if (s, text) in self._snapshots]

    def statistics(self, text: str | int | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Steps ``(n,)`` and :func:`~attn_widget.analysis.head_statistics` over them, each ``(n, layers, heads)``."""
        series = self.series(text)
        per_step = [s.statistics() for s in series]
        return np.array([s.step for s in series]), {k: np.stack([p[k] for p in per_step]) for k in per_step[0]}


def _event_files(run_dir: str) -> list[str]:
    with os.scandir(run_dir) as entries:
        return sorted(e.path for e in entries if "tfevents" in e.name and e.is_file())


def read_attention(run_dir: str | os.PathLike) -> AttentionSnapshots:
    """Every attention snapshot in the event files directly inside ``run_dir`` (one run), read with
    :class:`~attn_widget.tensorboard.EventFileReader`. Raises ``FileNotFoundError`` for a missing
    folder and :class:`~attn_widget.errors.AttentionInputError` for a run without snapshots."""
    run_dir = os.fspath(run_dir)
    if not os.path.isdir(run_dir):
        raise FileNotFoundError(f"no such run folder: {run_dir}")
    files = _event_files(run_dir)
    found: dict[tuple[int, str], Snapshot] = {}
    for path in files:
        reader = EventFileReader(path, keep_plugins=(PLUGIN_NAME,))
        reader.update()
        for tag, points in reader.tensors().items():
            if reader.plugin(tag) != PLUGIN_NAME:
                continue
            for step, wall_time, data in points:
                try:
                    snapshot = decode_snapshot(data, step, wall_time)
                except (ValueError, KeyError) as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
                    raise AttentionInputError(f"{path}: {tag} at step {step} is unreadable: {err}") from err
                found[(snapshot.step, snapshot.text)] = snapshot
    if not found:
        below = [os.path.relpath(d, run_dir) for d, _, names in os.walk(run_dir) if d != run_dir and any(
            "tfevents" in n for n in names)][:5]  # fmt: skip
        what = f"{len(files)} event files but no attention snapshots" if files else "no event files"
        hint = f"; runs below it: {', '.join(below)}" if below else ""
        raise AttentionInputError(
            f"{run_dir} has {what} (log them with attn_widget.tensorboard.log_attention or AttentionCallback){hint}"
        )
    return AttentionSnapshots(run_dir, found)
