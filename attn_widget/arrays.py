"""What every layer above agrees on: attention as float32 ``(layers, heads, query, key)``, results, pooling.

- :func:`to_attention_array` / :func:`check_tokens` / :func:`check_indices` turn what users pass
  (transformers outputs, torch tensors, numpy arrays) into one array or a specific
  :class:`~attn_widget.errors.AttentionInputError`, so the same input gets the same error everywhere.
- :class:`AttentionResult` (what extraction returns) and :class:`ValueNorms`.
- :class:`LazyAttention`: attention too large to hold, computed per layer from queries and keys.
  At 32 layers × 32 heads × 2,048 tokens the weights are 4.3 G floats (17 GB); the queries and keys
  they come from are a few hundred MB.
- :func:`pool_max` (the one max-pooling; a strong weight stays visible however far one zooms out),
  :func:`tile` and :func:`thumbnails`: the downsampled views the widget sends.

numpy only; torch is imported by :class:`LazyAttention` when it computes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import SDPA_HINT, AttentionInputError


def _to_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # torch.Tensor, without importing torch
        x = x.detach()
        if x.dtype.is_floating_point:
            x = x.float()  # numpy has no bfloat16; a no-op for float32
        return x.cpu().numpy()
    return np.asarray(x)


def _mask_indices(mask: Any, batch_index: int, length: int, what: str) -> np.ndarray | None:
    if mask is None:
        return None
    m = _to_numpy(mask)
    if m.ndim == 2:
        m = m[batch_index]
    if m.ndim != 1 or m.shape[0] != length:
        raise AttentionInputError(
            f"{what} has shape {tuple(_to_numpy(mask).shape)}; expected ({length},) or (batch, {length})"
        )
    return np.flatnonzero(m != 0)


def to_attention_array(
    attention: Any,
    *,
    name: str = "attention",
    batch_index: int = 0,
    query_mask: Any = None,
    key_mask: Any = None,
    signed: bool = False,
) -> np.ndarray:
    """Return ``attention`` as float32 ``(layers, heads, query, key)``.

    Accepts a tuple/list of per-layer tensors ``(batch, heads, query, key)`` or ``(heads, query, key)``
    as transformers returns them, or one tensor/array of shape ``(layers, batch, heads, query, key)``
    or ``(layers, heads, query, key)``. ``batch_index`` picks one item of a batch; ``query_mask`` and
    ``key_mask`` (1 = keep, e.g. the tokenizer's ``attention_mask``) drop padding positions.
    ``signed=True`` accepts negative values (differences of attention, see ``AttentionWidget.diff``).
    """
    if attention is None:
        raise AttentionInputError(f"{name} is None")
    if isinstance(attention, (tuple, list)):
        if len(attention) == 0:
            raise AttentionInputError(f"{name} is empty (no layers). {SDPA_HINT}")
        layers = [_to_numpy(a) for a in attention]
        for i, layer in enumerate(layers):
            if layer.ndim not in (3, 4):
                raise AttentionInputError(
                    f"{name}[{i}] has shape {layer.shape} (rank {layer.ndim}); each layer must be "
                    "(batch, heads, query, key) or (heads, query, key)"
                )
            if layer.shape != layers[0].shape:
                raise AttentionInputError(
                    f"layers of {name} differ in shape: layer 0 is {layers[0].shape}, layer {i} is {layer.shape}"
                )
        if layers[0].ndim == 4:
            layers = [_select_batch(layer, batch_index, name) for layer in layers]
        array = np.stack(layers).astype(np.float32, copy=False)
    else:
        array = _to_numpy(attention)
        if array.ndim == 5:
            array = np.stack([_select_batch(layer, batch_index, name) for layer in array])
        elif array.ndim != 4:
            raise AttentionInputError(
                f"{name} has shape {array.shape} (rank {array.ndim}); expected a tuple of per-layer "
                "(batch, heads, query, key) tensors, or an array (layers, [batch,] heads, query, key)"
            )
        array = array.astype(np.float32, copy=False)
    if array.size == 0:
        raise AttentionInputError(f"{name} has shape {array.shape} with no weights. {SDPA_HINT}")

    q_keep = _mask_indices(query_mask, batch_index, array.shape[2], "query_mask")
    k_keep = _mask_indices(key_mask, batch_index, array.shape[3], "key_mask")
    if q_keep is not None:
        array = array[:, :, q_keep, :]
    if k_keep is not None:
        array = array[:, :, :, k_keep]
    _check_weights(array, name, signed)
    return np.ascontiguousarray(array)


def _select_batch(layer: np.ndarray, batch_index: int, name: str) -> np.ndarray:
    if not -layer.shape[0] <= batch_index < layer.shape[0]:
        raise AttentionInputError(
            f"batch_index {batch_index} is out of range for {name} with batch size {layer.shape[0]}"
        )
    return layer[batch_index]


def _check_weights(array: np.ndarray, name: str, signed: bool = False) -> None:
    """Reject NaN/inf and (unless ``signed``) negative weights, naming the first offending layer and head."""
    per_head_min = array.min(axis=(2, 3))
    bad = ~np.isfinite(array.sum(axis=(2, 3)))
    if bad.any():
        layer, head = np.argwhere(bad)[0]
        raise AttentionInputError(f"{name} has NaN or infinite weights (first at layer {layer}, head {head})")
    if not signed and (per_head_min < 0).any():
        layer, head = np.argwhere(per_head_min < 0)[0]
        raise AttentionInputError(
            f"{name} has negative weights (first at layer {layer}, head {head}, min {per_head_min[layer, head]:.3g}); "
            "pass attention probabilities (after softmax), not scores"
        )


def check_tokens(tokens: Sequence[str] | None, length: int, what: str, name: str = "tokens") -> list[str]:
    """Return ``tokens`` as a list of ``length`` strings or raise a specific error."""
    if tokens is None:
        raise AttentionInputError(f"{name} is required: a list of {length} strings, one per {what} position")
    tokens = [str(t) for t in tokens]
    if len(tokens) != length:
        raise AttentionInputError(
            f"{len(tokens)} {name} but the attention has {length} {what} positions; "
            "pass one token per position (after removing padding)"
        )
    return tokens


def check_indices(values: Sequence[int] | None, count: int, name: str, what: str) -> list[int]:
    """``values`` as ints in ``0..count-1`` (``None``: all of them), or a specific error naming ``name``."""
    if values is None:
        return list(range(count))
    values = [int(v) for v in values]
    bad = [v for v in values if not 0 <= v < count]
    if bad:
        raise AttentionInputError(f"{name} has {what} {bad[0]}, but the model has {count} {what}s (0..{count - 1})")
    return values


def prettify_tokens(tokens: Sequence[str]) -> list[str]:
    """BertViz's token clean-up: byte-level 'Ġ' and sentencepiece '▁' become spaces, '</w>' goes."""
    return [t.replace("Ġ", " ").replace("▁", " ").replace("</w>", "") for t in tokens]


# --------------------------------------------------------------------------- results


@dataclass
class ValueNorms:
    """Value-weighted attention (Kobayashi et al. 2020, see :func:`attn_widget.analysis.value_weighted_layer`):
    ``per_head (layers, heads, query, key)`` and ``per_layer (layers, query, key)``."""

    per_head: np.ndarray
    per_layer: np.ndarray

    def normalized(self) -> ValueNorms:
        """Each row divided by its sum, for display next to attention."""
        return ValueNorms(*(a / np.maximum(a.sum(-1, keepdims=True), 1e-12) for a in (self.per_head, self.per_layer)))


@dataclass
class ValueWeightedAttention:
    """What :func:`attn_widget.models.value_weighted_attention` returns: the input's tokens and
    attention ``(layers, heads, query, key)``, ``per_head`` of the same shape, ``per_layer (layers, query, key)``."""

    tokens: list[str]
    attention: np.ndarray
    per_head: np.ndarray
    per_layer: np.ndarray
    sentence_b_start: int | None = None


@dataclass
class AttentionResult:
    """Attention of one input, as numpy float32 ``(layers, heads, query, key)``.

    For encoder-decoder models ``attention``/``tokens`` are the encoder's, and ``encoder_*``,
    ``decoder_*`` and ``cross_attention`` (decoder queries × encoder keys) are filled in.
    ``queries``/``keys`` (``with_qk=True``): float32 ``(layers, heads, seq, head_dim)``, see
    :mod:`attn_widget.models.families`. ``causal``: the model masks later keys (from the model, when
    it was run; ``None`` for results built by hand). ``value_norms`` (``with_values=True``): value-weighted
    attention of the same layers and heads.
    """

    tokens: list[str]
    attention: np.ndarray | LazyAttention
    sentence_b_start: int | None = None
    encoder_tokens: list[str] | None = None
    decoder_tokens: list[str] | None = None
    encoder_attention: np.ndarray | None = None
    decoder_attention: np.ndarray | None = None
    cross_attention: np.ndarray | None = None
    #: Model layer/head number of each row of ``attention`` when ``layers=``/``heads=`` selected some.
    layer_numbers: list[int] | None = None
    head_numbers: list[int] | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    queries: np.ndarray | None = None
    keys: np.ndarray | None = None
    causal: bool | None = None
    value_norms: ValueNorms | None = None

    @property
    def is_encoder_decoder(self) -> bool:
        return self.cross_attention is not None

    def widget_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :class:`~attn_widget.AttentionWidget` showing this result."""
        if self.is_encoder_decoder:
            return dict(
                encoder_attention=self.encoder_attention,
                decoder_attention=self.decoder_attention,
                cross_attention=self.cross_attention,
                encoder_tokens=self.encoder_tokens,
                decoder_tokens=self.decoder_tokens,
            )
        return dict(
            attention=self.attention,
            tokens=self.tokens,
            sentence_b_start=self.sentence_b_start,
            layer_numbers=self.layer_numbers,
            head_numbers=self.head_numbers,
        )


# --------------------------------------------------------------------------- lazy attention and pooling

#: Rows of queries computed at a time (bounds temporary memory to ROW_CHUNK × keys × 4 bytes per head).
ROW_CHUNK = 128  # measured: 128 rows × 1,024 keys × 32 heads stays in cache (3× faster than 256)


class LazyAttention:
    """Attention ``(layers, heads, query, key)`` computed on demand from queries and keys.

    ``queries``: ``(layers, heads, seq, head_dim)``; ``keys``: the same (KV heads repeated per query
    head); ``scaling``: ``(layers,)``; ``causal``: mask keys after the query position.
    """

    def __init__(self, queries: np.ndarray, keys: np.ndarray, scaling: Sequence[float], causal: bool) -> None:
        if queries.shape != keys.shape or queries.ndim != 4:
            raise AttentionInputError(
                f"queries {queries.shape} and keys {keys.shape} must both be (layers, heads, seq, head_dim)"
            )
        self.queries, self.keys = queries, keys
        self.scaling = np.asarray(scaling, dtype=np.float32)
        self.causal = causal
        layers, heads, seq, _ = queries.shape
        self.shape = (layers, heads, seq, seq)
        self.ndim = 4

    def _rows(self, layer: int, heads: Sequence[int], q0: int, q1: int) -> Any:
        """:meth:`rows` as a torch tensor (no copy of q/k when ``heads`` is a contiguous range); causal
        rows stop at key ``q1`` (every later key has weight 0)."""
        import torch

        heads = list(heads)
        contiguous = heads == list(range(heads[0], heads[0] + len(heads))) if heads else True
        pick = slice(heads[0], heads[0] + len(heads)) if contiguous and heads else heads
        q = torch.from_numpy(self.queries[layer])[pick, q0:q1]
        k = torch.from_numpy(self.keys[layer])[pick]
        if self.causal:  # keys after the last query row are all zero: skip computing them
            k = k[:, :q1]
        scores = torch.matmul(q, k.transpose(-1, -2)).mul_(float(self.scaling[layer]))
        if self.causal:
            future = torch.arange(q1)[None, :] > torch.arange(q0, q1)[:, None]
            scores.masked_fill_(future, float("-inf"))
        return torch.softmax(scores, dim=-1)

    def rows(self, layer: int, heads: Sequence[int], q0: int, q1: int) -> np.ndarray:
        """Weights of query rows ``q0:q1`` for ``heads`` of ``layer``: float32 ``(len(heads), q1-q0, key)``."""
        import torch.nn.functional as F

        weights = self._rows(layer, heads, q0, q1)
        return F.pad(weights, (0, self.shape[3] - weights.shape[-1])).numpy()

    def pooled(self, layer: int, heads: Sequence[int], q0: int, q1: int, k0: int, k1: int, step: int) -> np.ndarray:
        """Max-pooled window (as :func:`pool_max`), computed and pooled in torch; the all-zero causal
        part right of the rows is not computed, only padded after pooling."""
        import torch.nn.functional as F

        cols = -(-(k1 - k0) // step)
        block = self._rows(layer, heads, q0, q1)[..., k0:k1]
        if not block.shape[-1]:  # a window wholly right of the causal rows
            return np.zeros((len(heads), -(-(q1 - q0) // step), cols), np.float32)
        pooled = pool_max(block, step)
        return F.pad(pooled, (0, cols - pooled.shape[-1])).numpy()

    def select_layers(self, layers: Sequence[int]) -> LazyAttention:
        """The same attention restricted to ``layers`` (views of q/k, nothing computed)."""
        idx = list(layers)
        return LazyAttention(self.queries[idx], self.keys[idx], self.scaling[idx], self.causal)

    def __getitem__(self, layer: int) -> np.ndarray:
        """One layer, all heads: float32 ``(heads, query, key)``."""
        return self.rows(layer, range(self.shape[1]), 0, self.shape[2])

    def __len__(self) -> int:
        return self.shape[0]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = np.stack([self[i] for i in range(len(self))])
        return out if dtype is None else out.astype(dtype)


def pool_max(block: Any, step: int = 1, *, out: tuple[int, int] | None = None) -> Any:
    """Max-pool the last two axes ``(..., q, k)``: the one pooling of the package.

    By ``step``: buckets of ``step`` rows/columns from 0 (the last may be shorter), giving
    ``(..., ⌈q/step⌉, ⌈k/step⌉)``. With ``out=(rows, cols)``: exactly that many buckets, bucket ``i``
    starting at ``⌊i·q/rows⌋`` (fixed-size previews). A torch tensor is pooled in torch (``step`` only).
    """
    *_, q, k = block.shape
    if out is None and step <= 1:
        return block
    if hasattr(block, "detach"):  # torch.Tensor, without importing torch here
        import torch.nn.functional as F

        return F.max_pool2d(block, step, step, ceil_mode=True)
    row_starts = np.arange(0, q, step) if out is None else np.arange(out[0]) * q // out[0]
    col_starts = np.arange(0, k, step) if out is None else np.arange(out[1]) * k // out[1]
    return np.maximum.reduceat(np.maximum.reduceat(block, row_starts, axis=-2), col_starts, axis=-1)


def _pooled_rows(
    source: Any, layer: int, heads: Sequence[int], q0: int, q1: int, k0: int, k1: int, step: int
) -> np.ndarray:
    if isinstance(source, LazyAttention):
        return source.pooled(layer, heads, q0, q1, k0, k1, step)
    return pool_max(np.asarray(source[layer, list(heads), q0:q1, k0:k1], dtype=np.float32), step)


def tile(source: Any, layer: int, heads: Sequence[int], q0: int, q1: int, k0: int, k1: int, step: int) -> np.ndarray:
    """Max-pooled window ``[q0:q1, k0:k1]`` of ``heads`` in ``layer``: float32 ``(heads, ⌈rows/step⌉, ⌈cols/step⌉)``.

    Query rows are computed ``ROW_CHUNK`` (rounded to ``step``) at a time, so a lazy source never
    holds more than one chunk of scores per head.
    """
    chunk = max(step, ROW_CHUNK // step * step)
    parts = [_pooled_rows(source, layer, heads, a, min(a + chunk, q1), k0, k1, step) for a in range(q0, q1, chunk)]
    return np.concatenate(parts, axis=1)


def thumbnails(source: Any, size: int) -> tuple[list[np.ndarray], int]:
    """Per layer, every head max-pooled to at most ``size`` × ``size``: list of ``(heads, r, c)`` and the step."""
    layers, heads, q, k = source.shape
    step = max(1, -(-max(q, k) // size))
    return [tile(source, layer, range(heads), 0, q, 0, k, step) for layer in range(layers)], step
