"""Model families, and the one hook capture of a forward pass: queries, keys and values per layer.

No model code is forked and no weights are copied. :data:`FAMILIES` says, per ``config.model_type``,
where a stock ``transformers`` model keeps its layers, each layer's self-attention module, its output
projection ``W_O``, and how the module projects hidden states to q, k, v. :func:`capture_projections`
puts a forward hook on each layer's self-attention module; the hook takes the hidden states (and, for
rotary models, the ``position_embeddings``) that the module was called with and runs the module's own
projections on them, so the vectors are exactly those its attention used. The hooks are removed on
exit, also when the forward pass raises. One forward pass gives attention, q/k and v together.

- ``queries``: ``(layers, heads, seq, head_dim)``, *unscaled*. Every supported family multiplies
  ``q·kᵀ`` by ``scaling`` (``1/√head_dim``) inside its attention function, so the model's attention
  is ``softmax(q·kᵀ · scaling + mask)``; ``scaling`` is captured per layer.
- ``keys``: the same shape. For rotary models (Llama, Mistral, Qwen2) queries and keys are taken
  after the rotary embedding; with grouped KV heads each query head gets the key of its KV group.
- ``values``: ``(layers, kv_heads, seq, head_dim)``, ``x W_V + b_V`` (not repeated per query head).
- ``causal``: the modules' own ``is_causal`` flag, the one place causality of a model is decided.

Adding a family is one entry in :data:`FAMILIES`. torch is imported when a hook runs.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..arrays import AttentionResult
from ..errors import UnsupportedModelError

#: ``project(module, hidden_states, forward_kwargs)`` → q, k ``(batch, heads, seq, head_dim)``, v ``(batch, kv_heads, seq, head_dim)``.
Projection = Callable[[Any, Any, dict], tuple[Any, Any, Any]]


def _heads(x: Any, head_dim: int) -> Any:
    """``(batch, seq, heads · head_dim)`` → ``(batch, heads, seq, head_dim)``."""
    return x.view(*x.shape[:-1], -1, head_dim).transpose(1, 2)


def _linear(query: str, key: str, value: str) -> Projection:
    """Models with separate query/key/value ``nn.Linear`` layers and no position rotation."""

    def project(module: Any, hidden: Any, kwargs: dict) -> tuple[Any, Any, Any]:
        d = module.attention_head_size
        return tuple(_heads(getattr(module, name)(hidden), d) for name in (query, key, value))

    return project


def _gpt2(module: Any, hidden: Any, kwargs: dict) -> tuple[Any, Any, Any]:
    """GPT-2: one fused ``c_attn`` (a ``Conv1D``) gives q, k, v side by side."""
    return tuple(_heads(x, module.head_dim) for x in module.c_attn(hidden).split(module.split_size, dim=2))


def _rotary(module: Any, hidden: Any, kwargs: dict) -> tuple[Any, Any, Any]:
    """Llama-style: rotary embedding from the family's own ``apply_rotary_pos_emb``, KV heads repeated for k."""
    q, k, v = (_heads(getattr(module, p)(hidden), module.head_dim) for p in ("q_proj", "k_proj", "v_proj"))
    cos, sin = kwargs["position_embeddings"]
    q, k = sys.modules[type(module).__module__].apply_rotary_pos_emb(q, k, cos, sin)
    return q, k.repeat_interleave(module.num_key_value_groups, dim=1), v


@dataclass(frozen=True)
class ModelFamily:
    """Where a family keeps its attention. Paths are dotted attributes: ``layers`` from
    ``model.base_model``, ``attention`` (the hooked self-attention module, with a float ``scaling``)
    and ``out_proj`` (``W_O``, an ``nn.Linear`` or GPT-2 ``Conv1D``) from one layer."""

    layers: str
    attention: str
    out_proj: str
    project: Projection


_BERT = ModelFamily("encoder.layer", "attention.self", "attention.output.dense", _linear("query", "key", "value"))
_LLAMA = ModelFamily("layers", "self_attn", "self_attn.o_proj", _rotary)
#: ``config.model_type`` → family: the one registry of supported models.
FAMILIES: dict[str, ModelFamily] = {
    "bert": _BERT,
    "roberta": _BERT,
    "distilbert": ModelFamily(
        "transformer.layer", "attention", "attention.out_lin", _linear("q_lin", "k_lin", "v_lin")
    ),
    "gpt2": ModelFamily("h", "attn", "attn.c_proj", _gpt2),
    "llama": _LLAMA,
    "mistral": _LLAMA,
    "qwen2": _LLAMA,
}


def _attr(obj: Any, path: str) -> Any:
    for name in path.split("."):
        obj = getattr(obj, name)
    return obj


def model_family(model: Any, what: str = "queries/keys") -> ModelFamily:
    """The :class:`ModelFamily` of ``model``, or :class:`UnsupportedModelError` naming the supported types."""
    model_type = getattr(getattr(model, "config", None), "model_type", None)
    family = FAMILIES.get(model_type)
    if family is None:
        if what == "values":
            raise UnsupportedModelError(
                f"value-weighted attention does not know model_type {model_type!r}; supported: "
                f"{', '.join(sorted(FAMILIES))}. Register a ModelFamily in attn_widget.models.families.FAMILIES."
            )
        raise UnsupportedModelError(
            f"queries/keys cannot be captured from {type(model).__name__} (model_type {model_type!r}); "
            f"supported model types: {', '.join(FAMILIES)}"
        )
    return family


def model_layers(model: Any, family: ModelFamily) -> list[Any]:
    """The model's layers (each holding one self-attention module), in order."""
    try:
        return list(_attr(model.base_model, family.layers))
    except AttributeError as err:
        raise UnsupportedModelError(
            f"{type(model).__name__} has no layers at base_model.{family.layers}: {err}"
        ) from None


def attention_modules(model: Any, what: str = "queries/keys") -> tuple[ModelFamily, list[Any]]:
    """The family of ``model`` and its self-attention modules, one per layer in order."""
    family = model_family(model, what)
    return family, [_attr(layer, family.attention) for layer in model_layers(model, family)]


def out_weight(model: Any, layer: int, heads: int) -> np.ndarray:
    """``W_O`` of ``layer`` as float32 ``(heads, d_head, d_model)``, from an ``nn.Linear`` or GPT-2 ``Conv1D`` (x @ W)."""
    family = model_family(model, "values")
    module = _attr(model_layers(model, family)[layer], family.out_proj)
    w = module.weight.detach().float().cpu().numpy()
    w = w.T if hasattr(module, "in_features") else w  # Linear stores (out, in)
    return w.reshape(heads, w.shape[0] // heads, w.shape[1])


class Capture:
    """q, k (with ``qk``) and v (with ``values``) of each layer, filled by the hooks of :func:`capture_projections`."""

    def __init__(self, family: ModelFamily, modules: list[Any], qk: bool, values: bool) -> None:
        self._family = family
        #: The self-attention modules hooked, one per captured layer.
        self.modules = modules
        self._parts = (qk, qk, values)
        self._captured: list[tuple[Any, Any, Any] | None] = [None] * len(modules)
        #: ``(layers,)`` float32: the factor each layer multiplies ``q·kᵀ`` by before the softmax.
        self.scaling = np.array([m.scaling for m in modules], dtype=np.float32)
        #: Whether the model masks keys after the query position (the modules' own flag).
        self.causal = all(getattr(m, "is_causal", False) for m in modules)

    def hook(self, index: int) -> Callable[..., None]:
        """Forward hook (``with_kwargs=True``) storing layer ``index``'s projections as float32 on the CPU."""

        def on_forward(module: Any, args: tuple, kwargs: dict, output: Any) -> None:
            import torch

            hidden = args[0] if args else kwargs["hidden_states"]
            with torch.no_grad():
                parts = self._family.project(module, hidden, kwargs)
            self.store(index, parts)

        return on_forward

    def store(self, index: int, parts: tuple[Any, Any, Any]) -> None:
        """Keep layer ``index``'s q, k, v of the latest forward pass (subclasses keep every pass: generation)."""
        self._captured[index] = tuple(p.detach().float().cpu() if keep else None for p, keep in zip(parts, self._parts))

    def _stack(self, part: int, batch_index: int) -> np.ndarray:
        missing = [i for i, c in enumerate(self._captured) if c is None]
        if missing:
            raise RuntimeError(f"no forward pass reached layer(s) {missing}; run the model inside capture_projections")
        return np.stack([c[part][batch_index].numpy() for c in self._captured])

    def arrays(self, batch_index: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """``(queries, keys)`` of one batch item, each float32 ``(layers, heads, seq, head_dim)``."""
        return self._stack(0, batch_index), self._stack(1, batch_index)

    def values(self, batch_index: int = 0) -> np.ndarray:
        """Values of one batch item: float32 ``(layers, kv_heads, seq, head_dim)``."""
        return self._stack(2, batch_index)

    def fill(self, result: AttentionResult) -> None:
        """Set ``result.queries``/``result.keys`` (batch item 0) and ``result.extras["qk_scaling"]``."""
        result.queries, result.keys = self.arrays()
        result.extras["qk_scaling"] = self.scaling


@contextlib.contextmanager
def capture_projections(
    model: Any, *, qk: bool = True, values: bool = False, capture_type: type[Capture] = Capture, **options: Any
) -> Iterator[Capture]:
    """Hook every self-attention layer of ``model`` while the block runs; read the yielded capture after.

    Works with any attention implementation (eager, sdpa, flash). Hooks are removed on exit, also
    when the forward pass raises. ``capture_type`` (a :class:`Capture` subclass, given ``options``)
    may hook fewer layers (its ``modules``) and keep more than the latest pass.
    """
    family, modules = attention_modules(model, "queries/keys" if qk else "values")
    capture = capture_type(family, modules, qk, values, **options)
    handles = []
    try:
        for index, module in enumerate(capture.modules):
            handles.append(module.register_forward_hook(capture.hook(index), with_kwargs=True))
        yield capture
    finally:
        for handle in handles:
            handle.remove()
