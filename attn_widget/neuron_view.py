"""BertViz-compatible neuron view: change ``from bertviz.neuron_view import show`` to
``from attn_widget.neuron_view import show``. Works on the user's own, unmodified ``transformers``
model (no forked model code): queries and keys are captured with hooks, see :mod:`attn_widget.models.families`.
"""

from __future__ import annotations

from typing import Any

from .errors import UnsupportedModelError, check_keywords, parameter_names
from .models import FAMILIES, extract_attention
from .views import _check_action, _check_display_mode, _show
from .widget import AttentionWidget


def _check_model_type(model: Any, model_type: str) -> None:
    actual = getattr(getattr(model, "config", None), "model_type", None)
    if str(model_type).lower() not in FAMILIES:
        raise UnsupportedModelError(
            f"model_type {model_type!r} is not supported; supported model types: {', '.join(FAMILIES)}"
        )
    if str(model_type).lower() != actual:
        raise ValueError(
            f"model_type {model_type!r} does not match the model: {type(model).__name__} has config.model_type {actual!r}"
        )


def show(
    model,
    model_type,
    tokenizer,
    sentence_a,
    sentence_b=None,
    display_mode="dark",
    layer=None,
    head=None,
    html_action="view",
    **widget_options: Any,
):
    """Queries, keys and how they make the attention of one head (BertViz's ``neuron_view.show``).

    ``model_type`` (e.g. ``"bert"``, ``"gpt2"``, ``"llama"``) must match ``model.config.model_type``.
    ``layer``/``head``: the initial selection. ``html_action="view"`` displays the widget; ``"return"``
    returns a self-contained ``IPython.display.HTML``. Extra keyword arguments go to
    :class:`~attn_widget.AttentionWidget`.
    """
    check_keywords("show", widget_options, AttentionWidget.keywords() | parameter_names(show))
    _check_action(html_action)
    _check_display_mode(display_mode)
    _check_model_type(model, model_type)
    result = extract_attention(model, tokenizer, sentence_a, sentence_b, with_qk=True)
    for name, value in (("layer", layer), ("head", head)):
        if value is not None:
            widget_options[name] = value
    widget = AttentionWidget.from_result(
        result, view="neuron", theme=display_mode, prettify_tokens=True, **widget_options
    )
    return _show(widget, html_action)
