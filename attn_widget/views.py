"""BertViz-compatible entry points: change ``from bertviz import ...`` to ``from attn_widget import ...``.

Parameter names and defaults follow BertViz 1.4.1. Extra keyword arguments (``batch_index``,
``attention_mask``, ``encoding``, ...) go to :class:`~attn_widget.AttentionWidget`.
"""

from __future__ import annotations

from typing import Any

from .errors import check_keywords, parameter_names
from .widget import AttentionWidget

HTML_ACTIONS = ("view", "return")


def _show(widget: AttentionWidget, html_action: str):
    if html_action == "view":
        from IPython.display import display

        display(widget)
        return None
    from IPython.display import HTML

    return HTML(widget.to_html())


def _check_action(html_action: str) -> None:
    if html_action not in HTML_ACTIONS:
        raise ValueError(f"html_action must be one of {HTML_ACTIONS}, got {html_action!r}")


def _check_display_mode(display_mode: str) -> None:
    if display_mode not in ("dark", "light", "auto"):
        raise ValueError(f"display_mode must be 'dark', 'light' or 'auto', got {display_mode!r}")


def _bertviz_view(function, html_action: str, widget_options: dict[str, Any], **arguments: Any):
    """The widget of a BertViz entry point: its extra keywords checked against the widget's, then shown
    (``html_action="view"``) or returned as offline HTML (``"return"``)."""
    check_keywords(function.__name__, widget_options, AttentionWidget.keywords() | parameter_names(function))
    _check_action(html_action)
    return _show(AttentionWidget(**arguments, **widget_options), html_action)


def head_view(
    attention=None,
    tokens=None,
    sentence_b_start=None,
    prettify_tokens=True,
    layer=None,
    heads=None,
    encoder_attention=None,
    decoder_attention=None,
    cross_attention=None,
    encoder_tokens=None,
    decoder_tokens=None,
    include_layers=None,
    html_action="view",
    **widget_options: Any,
):
    """Lines between two token columns, per layer, one colour per head (BertViz's head view).

    ``html_action="view"`` displays the widget; ``"return"`` returns a self-contained
    ``IPython.display.HTML`` (renderer and data inline, works offline).
    """
    if layer is not None:
        widget_options["layer"] = layer
    if heads is not None:
        widget_options["heads"] = list(heads)
    return _bertviz_view(
        head_view,
        html_action,
        widget_options,
        attention=attention,
        tokens=tokens,
        sentence_b_start=sentence_b_start,
        encoder_attention=encoder_attention,
        decoder_attention=decoder_attention,
        cross_attention=cross_attention,
        encoder_tokens=encoder_tokens,
        decoder_tokens=decoder_tokens,
        include_layers=include_layers,
        prettify_tokens=prettify_tokens,
        view="head",
    )


def model_view(
    attention=None,
    tokens=None,
    sentence_b_start=None,
    prettify_tokens=True,
    display_mode="dark",
    encoder_attention=None,
    decoder_attention=None,
    cross_attention=None,
    encoder_tokens=None,
    decoder_tokens=None,
    include_layers=None,
    include_heads=None,
    html_action="view",
    **widget_options: Any,
):
    """Every layer × head as a small heatmap; click one to open it large (BertViz's model view).

    ``display_mode`` is ``"dark"`` or ``"light"`` as in BertViz (``"auto"`` follows JupyterLab).
    """
    _check_display_mode(display_mode)
    return _bertviz_view(
        model_view,
        html_action,
        widget_options,
        attention=attention,
        tokens=tokens,
        sentence_b_start=sentence_b_start,
        encoder_attention=encoder_attention,
        decoder_attention=decoder_attention,
        cross_attention=cross_attention,
        encoder_tokens=encoder_tokens,
        decoder_tokens=decoder_tokens,
        include_layers=include_layers,
        prettify_tokens=prettify_tokens,
        view="model",
        theme=display_mode,
        include_heads=list(include_heads or []),
    )
