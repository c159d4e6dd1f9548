"""Attention too large to hold: computed per layer from captured queries and keys, and pooled views.

At 32 layers × 32 heads × 2,048 tokens the weights are 4.3 G floats (17 GB); the queries and keys
they come from are a few hundred MB. :class:`LazyAttention` keeps q/k and computes
``softmax(q·kᵀ · scaling + mask)`` for the layer, heads and query rows asked for, so memory stays
bounded by one layer's slice. :func:`pool_max` and :func:`tile` give the downsampled views the
widget sends (max-pooling, so a single strong weight stays visible however far one zooms out).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .inputs import AttentionInputError

#: Rows of queries computed at a time (bounds temporary memory to ROW_CHUNK × keys × 4 bytes per head).
ROW_CHUNK = 128  # measured: 128 rows × 1,024 keys × 32 heads stays in cache (3× faster than 256)


class LazyAttention:
    """Attention ``(layers, heads, query, key)`` computed on demand from queries and keys.

    ``queries``: ``(layers, heads, seq, head_dim)``; ``keys``: the same (KV heads repeated per query
    head); ``scaling``: ``(layers,)``; ``causal``: mask keys after the query position.
    """

    def __init__(self, queries: np.ndarray, keys: np.ndarray, scaling: Sequence[float], causal: bool) -> None:
        if queries.shape != keys.shape or queries.ndim != 4:
            raise AttentionInputError(f"queries {queries.shape} and keys {keys.shape} must both be (layers, heads, seq, head_dim)")
        self.queries, self.keys = queries, keys
        self.scaling = np.asarray(scaling, dtype=np.float32)
        self.causal = causal
        layers, heads, seq, _ = queries.shape
        self.shape = (layers, heads, seq, seq)
        self.ndim = 4

    @property
    def nbytes(self) -> int:
        """Bytes the full float32 tensor would take."""
        return int(np.prod(self.shape, dtype=np.int64)) * 4

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
        pooled = F.max_pool2d(block, step, step, ceil_mode=True) if step > 1 else block
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


def pool_max(block: np.ndarray, step: int) -> np.ndarray:
    """Max-pool the last two axes by ``step`` (edges padded): ``(..., q, k)`` → ``(..., ⌈q/step⌉, ⌈k/step⌉)``."""
    if step <= 1:
        return block
    *lead, q, k = block.shape
    rows, cols = -(-q // step), -(-k // step)
    padded = np.zeros((*lead, rows * step, cols * step), dtype=block.dtype)
    padded[..., :q, :k] = block
    return padded.reshape(*lead, rows, step, cols, step).max(axis=(-3, -1))


def _pooled_rows(source: Any, layer: int, heads: Sequence[int], q0: int, q1: int, k0: int, k1: int, step: int) -> np.ndarray:
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
