"""``from_model`` / ``from_generate``: run a model and show its attention, the one-call entry points."""

from __future__ import annotations

from typing import Any

from .errors import check_keywords, parameter_names
from .generation_widget import GenerationWidget
from .models import extract_attention, extract_generation, generation_keywords
from .widget import AttentionWidget

#: Options of from_model that go to extract_attention, not to the widget. ``heads`` stays the widget's
#: head selection (as in BertViz); extract a subset of heads with extract_attention(..., heads=...)
#: and AttentionWidget.from_result.
EXTRACT_OPTIONS = {"decoder_text", "layers", "lazy", "max_memory"}


def from_model(
    model: Any, tokenizer: Any, text: str, text_pair: str | None = None, **widget_options: Any
) -> AttentionWidget:
    """Extract attention from ``model`` on ``text`` and return an :class:`~attn_widget.AttentionWidget`.

    One forward pass. ``view="neuron"`` also captures queries and keys for the neuron view.
    ``aggregations`` (any of ``"rollout"``, ``"flow"``, ``"value"``) adds those views; ``"value"``
    captures the values in the same pass (:func:`~attn_widget.models.value_weighted_attention`, rows
    normalised). Special tokens are the tokenizer's ``all_special_tokens``. Other options go to
    :class:`~attn_widget.AttentionWidget` or, for ``decoder_text``, ``layers``, ``lazy`` and
    ``max_memory``, to :func:`~attn_widget.models.extract_attention`.
    """
    check_keywords(
        "from_model", widget_options, EXTRACT_OPTIONS | AttentionWidget.keywords() | parameter_names(from_model)
    )
    result = extract_attention(
        model, tokenizer, text, text_pair,
        with_qk=widget_options.get("view") == "neuron",
        with_values="value" in widget_options.get("aggregations", ()),
        **{k: widget_options.pop(k) for k in EXTRACT_OPTIONS & widget_options.keys()},
    )  # fmt: skip
    if result.value_norms is not None:
        widget_options["value_weighted"] = result.value_norms.normalized().per_head
    widget_options.setdefault("special_tokens", tokenizer.all_special_tokens)
    for name, value in _kv_heads(model, result.head_numbers).items():
        widget_options.setdefault(name, value)
    return AttentionWidget.from_result(result, **widget_options)


def _kv_heads(model: Any, head_numbers: Any) -> dict[str, int]:
    """``num_kv_heads`` for a grouped-query model with every head extracted (the model view groups query heads by KV head)."""
    kv_heads = getattr(model.config, "num_key_value_heads", None)
    if kv_heads and kv_heads < model.config.num_attention_heads and head_numbers is None:
        return {"num_kv_heads": kv_heads}
    return {}


def from_generate(model: Any, tokenizer: Any, prompt: str, **options: Any) -> GenerationWidget:
    """Generate after ``prompt`` and return a :class:`~attn_widget.generation_widget.GenerationWidget` of it.

    Keyword arguments are :func:`~attn_widget.models.extract_generation`'s (``max_new_tokens``,
    ``layers``, ``heads``, ``seed``, generate's decoding options) or the widget's (``step``, ``view``,
    ``theme``, ``layer``, ``include_layers``, ``aggregations``, ...); ``heads`` selects the heads
    extracted. Unknown names raise ``TypeError`` naming the closest one.
    """
    extract_names = generation_keywords(model)
    check_keywords("from_generate", options, extract_names | GenerationWidget.keywords())
    extract_options = {k: options.pop(k) for k in list(options) if k in extract_names}
    result = extract_generation(model, tokenizer, prompt, **extract_options)
    options.setdefault("special_tokens", tokenizer.all_special_tokens)
    for name, value in _kv_heads(model, result.head_numbers).items():
        options.setdefault(name, value)
    return GenerationWidget.from_generation(result, **options)
