"""Pull attention out of Hugging Face ``transformers`` models (torch is imported lazily)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .inputs import SDPA_HINT, AttentionInputError, check_indices, to_attention_array
from .qk import attention_modules, capture_qk


@dataclass
class AttentionResult:
    """Attention of one input, as numpy float32 ``(layers, heads, query, key)``.

    For encoder-decoder models ``attention``/``tokens`` are the encoder's, and ``encoder_*``,
    ``decoder_*`` and ``cross_attention`` (decoder queries × encoder keys) are filled in.
    ``queries``/``keys`` (``with_qk=True``): float32 ``(layers, heads, seq, head_dim)``, see :mod:`attn_widget.qk`.
    """

    tokens: list[str]
    attention: np.ndarray
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

    @property
    def is_encoder_decoder(self) -> bool:
        return self.cross_attention is not None

    def widget_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :class:`~attn_widget.AttentionWidget` showing this result."""
        if self.is_encoder_decoder:
            return dict(
                encoder_attention=self.encoder_attention, decoder_attention=self.decoder_attention,
                cross_attention=self.cross_attention, encoder_tokens=self.encoder_tokens,
                decoder_tokens=self.decoder_tokens,
            )
        return dict(attention=self.attention, tokens=self.tokens, sentence_b_start=self.sentence_b_start,
                    layer_numbers=self.layer_numbers, head_numbers=self.head_numbers)


@contextlib.contextmanager
def eager_attention(model: Any) -> Iterator[None]:
    """Run ``model`` with eager attention (which returns weights) and in eval mode, then restore both.

    transformers ≥ 4.48 defaults to ``sdpa``, whose kernels never materialise the weights: with
    ``output_attentions=True`` transformers 5 then returns ``attentions == ()``.
    """
    config = model.config
    previous = getattr(config, "_attn_implementation", None)
    was_training = model.training
    switch = previous not in (None, "eager")
    if switch:
        if hasattr(model, "set_attn_implementation"):
            model.set_attn_implementation("eager")
        else:  # transformers 4.x before set_attn_implementation
            config._attn_implementation = "eager"
    model.eval()
    try:
        yield
    finally:
        if switch:
            if hasattr(model, "set_attn_implementation"):
                model.set_attn_implementation(previous)
            else:
                config._attn_implementation = previous
        model.train(was_training)


def _encode(tokenizer: Any, text: str, text_pair: str | None) -> Any:
    return tokenizer(text, text_pair, return_tensors="pt") if text_pair is not None else tokenizer(text, return_tensors="pt")


def _sentence_b_start(encoding: Any) -> int | None:
    if "token_type_ids" in encoding:
        ids = encoding["token_type_ids"][0].tolist()
        if 1 in ids:
            return ids.index(1)
    with contextlib.suppress(Exception):  # slow tokenizers have no sequence_ids
        seq = encoding.sequence_ids(0)
        if 1 in seq:
            return seq.index(1)
    return None


#: extract_attention refuses (or goes lazy) when materialising attention would take more than this.
DEFAULT_MAX_MEMORY = 2 * 2**30


def attention_memory(config: Any, tokens: int, layers: int | None = None, heads: int | None = None) -> int:
    """Bytes of float32 attention ``(layers, heads, tokens, tokens)`` for ``config`` (all layers/heads by default)."""
    n_layers = layers if layers is not None else config.num_hidden_layers
    n_heads = heads if heads is not None else config.num_attention_heads
    return 4 * n_layers * n_heads * tokens * tokens


def _gib(n: int) -> str:
    """Bytes in the largest binary unit that keeps a number ≥ 1 (e.g. ``2.50 GiB``, ``576 B``)."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n} B"


def extract_attention(
    model: Any,
    tokenizer: Any,
    text: str,
    text_pair: str | None = None,
    *,
    decoder_text: str | None = None,
    with_qk: bool = False,
    layers: Sequence[int] | None = None,
    heads: Sequence[int] | None = None,
    lazy: bool | None = None,
    max_memory: int = DEFAULT_MAX_MEMORY,
) -> AttentionResult:
    """Run ``model`` on ``text`` (and ``text_pair``) and return its attention.

    Works on models loaded with the default ``sdpa`` attention: the call switches to eager and
    restores the model afterwards. For encoder-decoder models the decoder reads ``decoder_text``
    (default: ``text_pair``, else ``text``), tokenized with the same tokenizer. ``with_qk=True`` also
    captures ``queries``/``keys`` and ``extras["qk_scaling"]`` (:func:`attn_widget.qk.capture_qk`).

    ``layers``/``heads`` (model numbers) keep only those. Memory stays bounded: when the eager
    forward would materialise more than ``max_memory`` bytes of attention (all layers × heads ×
    tokens² × 4), the call runs the model with its memory-efficient attention, captures queries and
    keys instead and returns a :class:`~attn_widget.lazy.LazyAttention` that computes each layer on
    demand (``lazy=True`` forces this, ``lazy=False`` refuses with the estimate instead).
    """
    import torch

    device = next(model.parameters()).device
    is_enc_dec = bool(getattr(model.config, "is_encoder_decoder", False))
    enc = _encode(tokenizer, text, None if is_enc_dec else text_pair)
    inputs = {k: v.to(device) for k, v in enc.items() if k in ("input_ids", "token_type_ids", "attention_mask")}
    if is_enc_dec:
        unsupported = {"layers": layers, "heads": heads, "lazy": lazy or None}  # with_qk: capture_qk names the supported models
        given = [name for name, value in unsupported.items() if value is not None]
        if given:
            raise AttentionInputError(f"{', '.join(given)} apply to self-attention models; encoder-decoder models give all layers and heads")
        dec_ids = tokenizer(decoder_text or text_pair or text, return_tensors="pt")["input_ids"].to(device)
        inputs["decoder_input_ids"] = dec_ids
    n_tokens = inputs["input_ids"].shape[1]
    eager_bytes = attention_memory(model.config, n_tokens)
    if lazy is None:
        lazy = eager_bytes > max_memory and not is_enc_dec
    if lazy:
        if with_qk:
            reason = (f"{n_tokens} tokens need {_gib(eager_bytes)} of attention (> max_memory={_gib(max_memory)})"
                      if eager_bytes > max_memory else "lazy=True was asked for")
            raise AttentionInputError(f"{reason}: the neuron view needs the model's own attention weights; "
                                      "use a shorter input, raise max_memory, or drop lazy=True")
        return _extract_lazy(model, tokenizer, enc, inputs, layers, heads, max_memory)
    if eager_bytes > max_memory:
        raise AttentionInputError(
            f"attention of {n_tokens} tokens needs {_gib(eager_bytes)} (all {model.config.num_hidden_layers} layers × "
            f"{model.config.num_attention_heads} heads × {n_tokens}² × 4 bytes), more than max_memory={_gib(max_memory)}; "
            "use lazy=True (computes layers on demand from queries/keys), a shorter input, or raise max_memory"
        )
    qk_context = capture_qk(model) if with_qk else contextlib.nullcontext()
    with eager_attention(model), torch.no_grad(), qk_context as qk:
        out = model(**inputs, output_attentions=True, return_dict=True)

    def convert(ids: Any) -> list[str]:
        return list(tokenizer.convert_ids_to_tokens(ids[0].tolist()))

    if is_enc_dec:
        parts = {name: getattr(out, name, None) for name in ("encoder_attentions", "decoder_attentions", "cross_attentions")}
        for name, value in parts.items():
            if not value:
                raise AttentionInputError(f"{type(model).__name__} returned no {name}. {SDPA_HINT}")
        encoder = to_attention_array(parts["encoder_attentions"], name="encoder_attentions")
        enc_tokens, dec_tokens = convert(inputs["input_ids"]), convert(inputs["decoder_input_ids"])
        return AttentionResult(
            tokens=enc_tokens, attention=encoder, encoder_tokens=enc_tokens, decoder_tokens=dec_tokens,
            encoder_attention=encoder,
            decoder_attention=to_attention_array(parts["decoder_attentions"], name="decoder_attentions"),
            cross_attention=to_attention_array(parts["cross_attentions"], name="cross_attentions"),
        )
    if not getattr(out, "attentions", None):
        raise AttentionInputError(f"{type(model).__name__} returned no attentions. {SDPA_HINT}")
    layer_numbers = _selection(layers, len(out.attentions), "layers", "layer")
    head_numbers = _selection(heads, out.attentions[0].shape[1], "heads", "head")
    attention = to_attention_array([out.attentions[i] for i in layer_numbers], name="attentions")[:, head_numbers]
    result = AttentionResult(
        tokens=convert(inputs["input_ids"]),
        attention=np.ascontiguousarray(attention),
        sentence_b_start=_sentence_b_start(enc) if text_pair is not None else None,
        layer_numbers=layer_numbers if layers is not None else None,
        head_numbers=head_numbers if heads is not None else None,
    )
    if qk is not None:  # the same layers and heads as the attention
        qk.fill(result)
        result.queries, result.keys = (np.ascontiguousarray(a[np.ix_(layer_numbers, head_numbers)]) for a in (result.queries, result.keys))
        result.extras["qk_scaling"] = result.extras["qk_scaling"][layer_numbers]
    return result


def _selection(values: Sequence[int] | None, count: int, name: str, what: str) -> list[int]:
    """Selected layers/heads (all when ``None``); an empty selection is an error."""
    if values is not None and not len(values):
        raise AttentionInputError(f"{name} is empty: select at least one {what}")
    return check_indices(values, count, name, what)


def _extract_lazy(model, tokenizer, enc, inputs, layers, heads, max_memory) -> AttentionResult:
    """Queries/keys from one memory-efficient forward; attention computed per layer on demand."""
    import torch

    from .lazy import LazyAttention

    with capture_qk(model) as capture, torch.no_grad():
        was_training = model.training
        model.eval()
        try:
            model(**inputs)
        finally:
            model.train(was_training)
    queries, keys = capture.arrays()
    layer_numbers = _selection(layers, queries.shape[0], "layers", "layer")
    head_numbers = _selection(heads, queries.shape[1], "heads", "head")
    causal = all(getattr(m, "is_causal", False) for m in attention_modules(model)[1])
    if not causal and (inputs["attention_mask"] == 0).any():
        raise AttentionInputError("lazy extraction handles one unpadded input; padding masks are not applied")
    one_layer = attention_memory(model.config, queries.shape[2], 1, len(head_numbers))
    if one_layer > max_memory:
        raise AttentionInputError(f"one layer of attention at {queries.shape[2]} tokens needs {_gib(one_layer)}, "
                                  f"more than max_memory={_gib(max_memory)}; pass heads= or a shorter input")
    select = np.ix_(layer_numbers, head_numbers)
    lazy = LazyAttention(np.ascontiguousarray(queries[select]), np.ascontiguousarray(keys[select]),
                         capture.scaling[layer_numbers], causal)
    return AttentionResult(
        tokens=list(tokenizer.convert_ids_to_tokens(inputs["input_ids"][0].tolist())),
        attention=lazy,
        sentence_b_start=_sentence_b_start(enc) if "token_type_ids" in enc and enc["token_type_ids"].any() else None,
        layer_numbers=layer_numbers if layers is not None else None,
        head_numbers=head_numbers if heads is not None else None,
    )


def from_model(model: Any, tokenizer: Any, text: str, text_pair: str | None = None, **widget_options: Any):
    """Extract attention from ``model`` on ``text`` and return an :class:`~attn_widget.AttentionWidget`.

    ``view="neuron"`` also captures queries and keys for the neuron view. ``aggregations`` (any of
    ``"rollout"``, ``"flow"``, ``"value"``) adds those views; ``"value"`` runs
    :func:`~attn_widget.analysis.value_weighted_attention` (rows normalised). Special tokens are the
    tokenizer's ``all_special_tokens``.
    """
    from .widget import AttentionWidget

    # ``heads`` stays the widget's head selection (as in BertViz); extract a subset of heads with
    # extract_attention(..., heads=...) and AttentionWidget.from_result.
    extract_keys = {"decoder_text", "layers", "lazy", "max_memory"}
    result = extract_attention(model, tokenizer, text, text_pair, with_qk=widget_options.get("view") == "neuron",
                               **{k: widget_options.pop(k) for k in extract_keys & widget_options.keys()})
    if "value" in widget_options.get("aggregations", ()):
        from .analysis import value_weighted_attention

        value = value_weighted_attention(model, tokenizer, text, text_pair, normalize=True).per_head
        widget_options["value_weighted"] = value if result.layer_numbers is None else value[result.layer_numbers]
    widget_options.setdefault("special_tokens", tokenizer.all_special_tokens)
    kv_heads = getattr(model.config, "num_key_value_heads", None)
    if kv_heads and kv_heads < model.config.num_attention_heads and result.head_numbers is None:
        widget_options.setdefault("num_kv_heads", kv_heads)  # the model view groups query heads by KV head
    return AttentionWidget.from_result(result, **widget_options)
