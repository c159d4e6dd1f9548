"""Run Hugging Face ``transformers`` models and pull out attention (torch is imported when a model runs).

:func:`extract_attention` switches ``sdpa`` to eager for the call and, in the same forward pass,
captures queries/keys (``with_qk``) and values (``with_values``) with :mod:`.families`;
:func:`value_weighted_attention` and :func:`induction_scores` are built on it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..analysis import induction_score, value_weighted_layer
from ..arrays import (
    AttentionResult,
    LazyAttention,
    ValueNorms,
    ValueWeightedAttention,
    check_indices,
    to_attention_array,
)
from ..errors import SDPA_HINT, AttentionInputError, checked_keywords
from .families import Capture, capture_projections, out_weight


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
    return (
        tokenizer(text, text_pair, return_tensors="pt")
        if text_pair is not None
        else tokenizer(text, return_tensors="pt")
    )


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


@checked_keywords
def extract_attention(
    model: Any,
    tokenizer: Any,
    text: str,
    text_pair: str | None = None,
    *,
    decoder_text: str | None = None,
    with_qk: bool = False,
    with_values: bool = False,
    layers: Sequence[int] | None = None,
    heads: Sequence[int] | None = None,
    lazy: bool | None = None,
    max_memory: int = DEFAULT_MAX_MEMORY,
) -> AttentionResult:
    """Run ``model`` on ``text`` (and ``text_pair``) and return its attention.

    Works on models loaded with the default ``sdpa`` attention: the call switches to eager and
    restores the model afterwards. For encoder-decoder models the decoder reads ``decoder_text``
    (default: ``text_pair``, else ``text``), tokenized with the same tokenizer. ``with_qk=True`` also
    captures ``queries``/``keys`` and ``extras["qk_scaling"]``, ``with_values=True`` the value-weighted
    attention ``value_norms`` (Kobayashi et al. 2020), both in the same forward pass
    (:func:`~attn_widget.models.families.capture_projections`).

    ``layers``/``heads`` (model numbers) keep only those. Memory stays bounded: when the eager
    forward would materialise more than ``max_memory`` bytes of attention (all layers × heads ×
    tokens² × 4), the call runs the model with its memory-efficient attention, captures queries and
    keys instead and returns a :class:`~attn_widget.arrays.LazyAttention` that computes each layer on
    demand (``lazy=True`` forces this, ``lazy=False`` refuses with the estimate instead).
    """
    import torch

    device = next(model.parameters()).device
    is_enc_dec = bool(getattr(model.config, "is_encoder_decoder", False))
    enc = _encode(tokenizer, text, None if is_enc_dec else text_pair)
    inputs = {k: v.to(device) for k, v in enc.items() if k in ("input_ids", "token_type_ids", "attention_mask")}
    if is_enc_dec:
        unsupported = {
            "layers": layers,
            "heads": heads,
            "lazy": lazy or None,
        }  # with_qk/values: the family registry says
        given = [name for name, value in unsupported.items() if value is not None]
        if given:
            raise AttentionInputError(
                f"{', '.join(given)} apply to self-attention models; encoder-decoder models give all layers and heads"
            )
        dec_ids = tokenizer(decoder_text or text_pair or text, return_tensors="pt")["input_ids"].to(device)
        inputs["decoder_input_ids"] = dec_ids
    n_tokens = inputs["input_ids"].shape[1]
    eager_bytes = attention_memory(model.config, n_tokens)
    if lazy is None:
        lazy = eager_bytes > max_memory and not is_enc_dec
    if lazy:
        if with_qk or with_values:
            reason = (
                f"{n_tokens} tokens need {_gib(eager_bytes)} of attention (> max_memory={_gib(max_memory)})"
                if eager_bytes > max_memory
                else "lazy=True was asked for"
            )
            needs = "the neuron view" if with_qk else "value-weighted attention"
            raise AttentionInputError(
                f"{reason}: {needs} needs the model's own attention weights; "
                "use a shorter input, raise max_memory, or drop lazy=True"
            )
        return _extract_lazy(model, tokenizer, enc, inputs, layers, heads, max_memory)
    if eager_bytes > max_memory:
        raise AttentionInputError(
            f"attention of {n_tokens} tokens needs {_gib(eager_bytes)} (all {model.config.num_hidden_layers} layers × "
            f"{model.config.num_attention_heads} heads × {n_tokens}² × 4 bytes), more than max_memory={_gib(max_memory)}; "
            "use lazy=True (computes layers on demand from queries/keys), a shorter input, or raise max_memory"
        )
    hooks = (
        capture_projections(model, qk=with_qk, values=with_values)
        if with_qk or with_values
        else contextlib.nullcontext()
    )
    with eager_attention(model), torch.no_grad(), hooks as capture:
        out = model(**inputs, output_attentions=True, return_dict=True)

    def convert(ids: Any) -> list[str]:
        return list(tokenizer.convert_ids_to_tokens(ids[0].tolist()))

    if is_enc_dec:
        parts = {
            name: getattr(out, name, None) for name in ("encoder_attentions", "decoder_attentions", "cross_attentions")
        }
        for name, value in parts.items():
            if not value:
                raise AttentionInputError(f"{type(model).__name__} returned no {name}. {SDPA_HINT}")
        encoder = to_attention_array(parts["encoder_attentions"], name="encoder_attentions")
        enc_tokens, dec_tokens = convert(inputs["input_ids"]), convert(inputs["decoder_input_ids"])
        return AttentionResult(
            tokens=enc_tokens,
            attention=encoder,
            encoder_tokens=enc_tokens,
            decoder_tokens=dec_tokens,
            encoder_attention=encoder,
            decoder_attention=to_attention_array(parts["decoder_attentions"], name="decoder_attentions"),
            cross_attention=to_attention_array(parts["cross_attentions"], name="cross_attentions"),
        )
    if not getattr(out, "attentions", None):
        raise AttentionInputError(f"{type(model).__name__} returned no attentions. {SDPA_HINT}")
    layer_numbers = _selection(layers, len(out.attentions), "layers", "layer")
    head_numbers = _selection(heads, out.attentions[0].shape[1], "heads", "head")
    # value norms sum over every head of a layer: then all layers are converted, and selected after
    everything = to_attention_array(
        out.attentions if with_values else [out.attentions[i] for i in layer_numbers], name="attentions"
    )
    selected = everything[layer_numbers] if with_values else everything
    result = AttentionResult(
        tokens=convert(inputs["input_ids"]),
        attention=np.ascontiguousarray(selected[:, head_numbers]),
        sentence_b_start=_sentence_b_start(enc) if text_pair is not None else None,
        layer_numbers=layer_numbers if layers is not None else None,
        head_numbers=head_numbers if heads is not None else None,
    )
    if capture is not None:
        result.causal = capture.causal
    if with_qk:  # the same layers and heads as the attention
        capture.fill(result)
        result.queries, result.keys = (
            np.ascontiguousarray(a[np.ix_(layer_numbers, head_numbers)]) for a in (result.queries, result.keys)
        )
        result.extras["qk_scaling"] = result.extras["qk_scaling"][layer_numbers]
    if with_values:
        norms = _value_norms(model, capture, everything)
        result.value_norms = ValueNorms(
            norms.per_head[np.ix_(layer_numbers, head_numbers)], norms.per_layer[layer_numbers]
        )
    return result


def _value_norms(model: Any, capture: Capture, attention: np.ndarray) -> ValueNorms:
    """Kobayashi et al. 2020 norms of every layer and head from captured values and the model's ``W_O``."""
    values = capture.values()  # (layers, kv_heads, key, d_head)
    heads = attention.shape[1]
    layers = [value_weighted_layer(attention[i], values[i], out_weight(model, i, heads)) for i in range(len(values))]
    return ValueNorms(np.stack([h for h, _ in layers]), np.stack([lay for _, lay in layers]))


def _selection(values: Sequence[int] | None, count: int, name: str, what: str) -> list[int]:
    """Selected layers/heads (all when ``None``); an empty selection is an error."""
    if values is not None and not len(values):
        raise AttentionInputError(f"{name} is empty: select at least one {what}")
    return check_indices(values, count, name, what)


def _extract_lazy(model, tokenizer, enc, inputs, layers, heads, max_memory) -> AttentionResult:
    """Queries/keys from one memory-efficient forward; attention computed per layer on demand."""
    import torch

    with capture_projections(model) as capture, torch.no_grad():
        was_training = model.training
        model.eval()
        try:
            model(**inputs)
        finally:
            model.train(was_training)
    queries, keys = capture.arrays()
    layer_numbers = _selection(layers, queries.shape[0], "layers", "layer")
    head_numbers = _selection(heads, queries.shape[1], "heads", "head")
    causal = capture.causal
    if not causal and (inputs["attention_mask"] == 0).any():
        raise AttentionInputError("lazy extraction handles one unpadded input; padding masks are not applied")
    one_layer = attention_memory(model.config, queries.shape[2], 1, len(head_numbers))
    if one_layer > max_memory:
        raise AttentionInputError(
            f"one layer of attention at {queries.shape[2]} tokens needs {_gib(one_layer)}, "
            f"more than max_memory={_gib(max_memory)}; pass heads= or a shorter input"
        )
    select = np.ix_(layer_numbers, head_numbers)
    lazy = LazyAttention(
        np.ascontiguousarray(queries[select]),
        np.ascontiguousarray(keys[select]),
        capture.scaling[layer_numbers],
        causal,
    )
    return AttentionResult(
        tokens=list(tokenizer.convert_ids_to_tokens(inputs["input_ids"][0].tolist())),
        attention=lazy,
        sentence_b_start=_sentence_b_start(enc) if "token_type_ids" in enc and enc["token_type_ids"].any() else None,
        layer_numbers=layer_numbers if layers is not None else None,
        head_numbers=head_numbers if heads is not None else None,
        causal=causal,
    )


def value_weighted_attention(
    model: Any, tokenizer: Any, text: str, text_pair: str | None = None, *, normalize: bool = False
) -> ValueWeightedAttention:
    """Run ``model`` on ``text`` and return ``‖α_ij f(x_j)‖`` per head and per layer (Kobayashi et al. 2020).

    One forward pass of :func:`extract_attention` (``with_values=True``): hooks (always removed) capture
    the values ``x W_V + b_V``, combined with the output projection by
    :func:`~attn_widget.analysis.value_weighted_layer`. Families: :data:`~attn_widget.models.families.FAMILIES`.
    ``normalize`` divides each row by its sum, for display next to attention.
    """
    result = extract_attention(model, tokenizer, text, text_pair, with_values=True)
    norms = result.value_norms.normalized() if normalize else result.value_norms
    return ValueWeightedAttention(
        result.tokens, result.attention, norms.per_head, norms.per_layer, result.sentence_b_start
    )


def induction_scores(
    model: Any,
    tokenizer_or_vocab_size: Any,
    *,
    seq_len: int = 50,
    batch: int = 4,
    seed: int = 0,
    bos_token_id: int | None = None,
) -> np.ndarray:
    """Induction scores ``(layers, heads)`` of ``model`` on repeated random tokens (TransformerLens).

    Feeds ``batch`` sequences ``[bos] + r + r``, ``r`` = ``seq_len`` uniform random non-special ids,
    and averages :func:`induction_score` over them, as ``detect_head(model, seqs, "induction_head")``.
    ``bos`` is ``bos_token_id``, else the tokenizer's BOS/CLS, else ``model.config.bos_token_id``;
    none means no prefix. Runs with eager attention (:func:`eager_attention`).
    """
    import torch

    if isinstance(tokenizer_or_vocab_size, (int, np.integer)):
        vocab, special, tok = int(tokenizer_or_vocab_size), set(), None
    else:
        tok = tokenizer_or_vocab_size
        vocab, special = len(tok), set(tok.all_special_ids)
    if bos_token_id is None:
        candidates = (
            getattr(tok, "bos_token_id", None),
            getattr(tok, "cls_token_id", None),
            getattr(model.config, "bos_token_id", None),
        )
        bos_token_id = next((c for c in candidates if isinstance(c, int)), None)
    length = 2 * seq_len + (bos_token_id is not None)
    limit = next(
        (
            getattr(model.config, k)
            for k in ("max_position_embeddings", "n_positions")
            if isinstance(getattr(model.config, k, None), int)
        ),
        None,
    )
    if limit is not None and length > limit:
        raise ValueError(
            f"seq_len={seq_len} makes inputs of {length} tokens; {type(model).__name__} takes at most {limit}"
        )
    pool = np.setdiff1d(np.arange(vocab), list(special))
    half = np.random.default_rng(seed).choice(pool, size=(batch, seq_len))
    ids = np.concatenate([half, half], axis=1)
    if bos_token_id is not None:
        ids = np.concatenate([np.full((batch, 1), bos_token_id), ids], axis=1)
    device = next(model.parameters()).device
    with eager_attention(model), torch.no_grad():
        out = model(input_ids=torch.as_tensor(ids, device=device), output_attentions=True, return_dict=True)
    if not getattr(out, "attentions", None):
        raise AttentionInputError(f"{type(model).__name__} returned no attentions. {SDPA_HINT}")
    return np.mean(
        [induction_score(to_attention_array(out.attentions, batch_index=b), ids[b]) for b in range(batch)], axis=0
    )
