"""``from_model``: run a model and show its attention, the one-call entry point."""

from __future__ import annotations

from typing import Any

from .errors import check_keywords, parameter_names
from .models import extract_attention
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
    kv_heads = getattr(model.config, "num_key_value_heads", None)
    if kv_heads and kv_heads < model.config.num_attention_heads and result.head_numbers is None:
        widget_options.setdefault("num_kv_heads", kv_heads)  # the model view groups query heads by KV head
    return AttentionWidget.from_result(result, **widget_options)
