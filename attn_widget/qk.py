"""Queries and keys of every self-attention layer of a stock ``transformers`` model.

No model code is forked and no weights are copied: :func:`capture_qk` puts a forward hook on each
layer's self-attention module; the hook takes the hidden states (and, for rotary models, the
``position_embeddings``) that the module was called with and runs the module's own projections on
them, so the vectors are exactly those its attention used. The hooks are removed on exit, also when
the forward pass raises.

- ``queries``: ``(layers, heads, seq, head_dim)``, *unscaled*. Every supported family multiplies
  ``q·kᵀ`` by ``scaling`` (``1/√head_dim``) inside its attention function, so the model's attention
  is ``softmax(q·kᵀ · scaling + mask)``; ``scaling`` is captured per layer.
- ``keys``: the same shape. For rotary models (Llama, Mistral, Qwen2) queries and keys are taken
  after the rotary embedding; with grouped KV heads each query head gets the key of its KV group.

Adding a family is one entry in :data:`ADAPTERS`. torch is imported lazily.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .inputs import AttentionInputError

if TYPE_CHECKING:
    from .extract import AttentionResult


class UnsupportedModelError(AttentionInputError):
    """The model's architecture has no q/k adapter in :data:`ADAPTERS`."""


def _heads(x: Any, head_dim: int) -> Any:
    """``(batch, seq, heads · head_dim)`` → ``(batch, heads, seq, head_dim)``."""
    return x.view(*x.shape[:-1], -1, head_dim).transpose(1, 2)


def _linear_qk(query: str, key: str) -> Callable[[Any, Any, dict], tuple[Any, Any]]:
    """Projection of models with separate query/key ``nn.Linear`` layers and no position rotation."""

    def project(module: Any, hidden: Any, kwargs: dict) -> tuple[Any, Any]:
        d = module.attention_head_size
        return _heads(getattr(module, query)(hidden), d), _heads(getattr(module, key)(hidden), d)

    return project


def _gpt2_qk(module: Any, hidden: Any, kwargs: dict) -> tuple[Any, Any]:
    q, k, _ = module.c_attn(hidden).split(module.split_size, dim=2)
    return _heads(q, module.head_dim), _heads(k, module.head_dim)


def _rotary_qk(module: Any, hidden: Any, kwargs: dict) -> tuple[Any, Any]:
    """Llama-style: rotary embedding from the family's own ``apply_rotary_pos_emb``, KV heads repeated."""
    q, k = _heads(module.q_proj(hidden), module.head_dim), _heads(module.k_proj(hidden), module.head_dim)
    cos, sin = kwargs["position_embeddings"]
    q, k = sys.modules[type(module).__module__].apply_rotary_pos_emb(q, k, cos, sin)
    return q, k.repeat_interleave(module.num_key_value_groups, dim=1)


@dataclass(frozen=True)
class QKAdapter:
    """One family: the class name of its per-layer self-attention module, and its q/k projection.

    ``project(module, hidden_states, forward_kwargs)`` returns q and k, each
    ``(batch, heads, seq, head_dim)``; the module must have a float ``scaling`` attribute.
    """

    attention_class: str
    project: Callable[[Any, Any, dict], tuple[Any, Any]]


#: ``config.model_type`` → adapter.
ADAPTERS: dict[str, QKAdapter] = {
    "bert": QKAdapter("BertSelfAttention", _linear_qk("query", "key")),
    "roberta": QKAdapter("RobertaSelfAttention", _linear_qk("query", "key")),
    "distilbert": QKAdapter("DistilBertSelfAttention", _linear_qk("q_lin", "k_lin")),
    "gpt2": QKAdapter("GPT2Attention", _gpt2_qk),
    "llama": QKAdapter("LlamaAttention", _rotary_qk),
    "mistral": QKAdapter("MistralAttention", _rotary_qk),
    "qwen2": QKAdapter("Qwen2Attention", _rotary_qk),
}


def attention_modules(model: Any) -> tuple[QKAdapter, list[Any]]:
    """The adapter for ``model`` and its self-attention modules, one per layer in order.

    Raises :class:`UnsupportedModelError` naming the supported model types.
    """
    model_type = getattr(getattr(model, "config", None), "model_type", None)
    adapter = ADAPTERS.get(model_type)
    if adapter is None:
        raise UnsupportedModelError(
            f"queries/keys cannot be captured from {type(model).__name__} (model_type {model_type!r}); "
            f"supported model types: {', '.join(ADAPTERS)}"
        )
    modules = [m for m in model.modules()
               if type(m).__name__ == adapter.attention_class and not getattr(m, "is_cross_attention", False)]
    if not modules:
        raise UnsupportedModelError(f"{type(model).__name__} has no {adapter.attention_class} modules")
    return adapter, modules


class QKCapture:
    """q/k of each layer, filled by the hooks of :func:`capture_qk` during a forward pass."""

    def __init__(self, adapter: QKAdapter, modules: list[Any]) -> None:
        self._adapter = adapter
        self._captured: list[tuple[Any, Any] | None] = [None] * len(modules)
        #: ``(layers,)`` float32: the factor each layer multiplies ``q·kᵀ`` by before the softmax.
        self.scaling = np.array([m.scaling for m in modules], dtype=np.float32)

    def hook(self, index: int) -> Callable[..., None]:
        """Forward hook (``with_kwargs=True``) storing layer ``index``'s q and k as float32 on the CPU."""

        def store(module: Any, args: tuple, kwargs: dict, output: Any) -> None:
            import torch

            hidden = args[0] if args else kwargs["hidden_states"]
            with torch.no_grad():
                q, k = self._adapter.project(module, hidden, kwargs)
            self._captured[index] = (q.detach().float().cpu(), k.detach().float().cpu())

        return store

    def arrays(self, batch_index: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """``(queries, keys)`` of one batch item, each float32 ``(layers, heads, seq, head_dim)``."""
        missing = [i for i, qk in enumerate(self._captured) if qk is None]
        if missing:
            raise RuntimeError(f"no forward pass reached layer(s) {missing}; run the model inside capture_qk")
        queries, keys = (np.stack([qk[i][batch_index].numpy() for qk in self._captured]) for i in (0, 1))
        return queries, keys

    def fill(self, result: AttentionResult) -> None:
        """Set ``result.queries``/``result.keys`` (batch item 0) and ``result.extras["qk_scaling"]``."""
        result.queries, result.keys = self.arrays()
        result.extras["qk_scaling"] = self.scaling


@contextlib.contextmanager
def capture_qk(model: Any) -> Iterator[QKCapture]:
    """Hook every self-attention layer of ``model`` while the block runs; read the yielded capture after.

    Works with any attention implementation (eager, sdpa, flash). Hooks are removed on exit, also
    when the forward pass raises.
    """
    adapter, modules = attention_modules(model)
    capture = QKCapture(adapter, modules)
    handles = []
    try:
        for index, module in enumerate(modules):
            handles.append(module.register_forward_hook(capture.hook(index), with_kwargs=True))
        yield capture
    finally:
        for handle in handles:
            handle.remove()


def neuron_payload(result: AttentionResult, layer: int | Sequence[int] | None = None) -> dict[str, Any]:
    """q/k of ``result`` for the browser (an anywidget trait): one float16 little-endian buffer per layer.

    ``layer``: a layer index or a list of them (negative counts from the end), or ``None`` for all. Returns
    ``{"shape": [layers sent, heads, seq, head_dim], "head_dim", "dtype": "float16", "layers": [layer
    indices], "scaling": [float per layer], "queries": [bytes], "keys": [bytes]}``; each buffer is C-order
    ``(heads, seq, head_dim)``; ``scaling`` comes from ``result.extras["qk_scaling"]`` (default
    ``1/√head_dim``). Raises ``ValueError`` without q/k or where a value overflows float16.
    """
    if result.queries is None or result.keys is None:
        raise ValueError("result has no queries/keys; call extract_attention(..., with_qk=True)")
    n_layers, heads, seq, head_dim = result.queries.shape
    layers = list(range(n_layers)) if layer is None else [range(n_layers)[i] for i in np.atleast_1d(layer)]
    scaling = result.extras.get("qk_scaling", np.full(n_layers, head_dim ** -0.5, dtype=np.float32))

    def encode(array: np.ndarray) -> list[bytes]:
        selected = array[layers]
        if not (np.abs(selected) <= np.finfo(np.float16).max).all():
            raise ValueError("queries/keys exceed the float16 range (±65504) or are not finite")
        return [h.tobytes() for h in selected.astype("<f2")]

    return {
        "shape": [len(layers), heads, seq, head_dim],
        "head_dim": head_dim,
        "dtype": "float16",
        "layers": [(result.layer_numbers or range(n_layers))[i] for i in layers],  # model layer numbers
        "scaling": [float(scaling[i]) for i in layers],
        "queries": encode(result.queries),
        "keys": encode(result.keys),
    }
