"""Turn what users pass (transformers outputs, torch tensors, numpy arrays) into one float32 array.

Every public entry point goes through :func:`to_attention_array` and :func:`check_tokens`, so the
same input gets the same clear error wherever it is passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

SDPA_HINT = (
    "transformers returns an empty attentions tuple when the model runs with 'sdpa' or flash "
    "attention. Load the model with attn_implementation='eager', call "
    "model.set_attn_implementation('eager') before the forward pass, or use "
    "attn_widget.extract_attention(model, tokenizer, text), which switches for you."
)


class AttentionInputError(ValueError):
    """Attention or tokens that cannot be shown as given."""


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
        raise AttentionInputError(f"batch_index {batch_index} is out of range for {name} with batch size {layer.shape[0]}")
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
