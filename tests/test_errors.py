"""One error type for every bad selection, and unknown keyword arguments refused with a suggestion."""

import re

import numpy as np
import pytest
import traitlets
from helpers import TOKENS, softmax_attention
from tiny_models import make_model

import attn_widget
from attn_widget import (
    AttentionInputError,
    AttentionWidget,
    extract_attention,
    from_model,
    head_view,
    model_view,
    neuron_view,
)


@pytest.mark.parametrize(
    "trait, value, message",
    [
        ("layer", 7, "layer 7 is not shown; choose one of [0, 1]"),
        ("layer", "one", "The 'layer' trait of an AttentionWidget instance expected an int"),
        ("heads", [5], "heads has head 5, but the model has 3 heads"),
        ("head", 3, "head 3 is outside the model's heads: positions 0..2"),
        ("include_heads", [-1], "include_heads has head -1"),
        ("attention_filter", "ab", "attention_filter 'ab' does not apply here"),
        ("attention_filter", "sideways", "attention_filter 'sideways' is not one of ['all', 'aa'"),
        ("view", "sideways", "view 'sideways' is not one of ['head', 'model', 'neuron', 'summary']"),
        ("view", "neuron", "the neuron view needs queries and keys"),
        ("aggregation", "rollout", "aggregation 'rollout' is not available: pass aggregations=('rollout',)"),
        ("aggregation", "mean", "aggregation 'mean' is not one of ['raw', 'rollout', 'flow', 'value']"),
        ("mode", "dots", "mode 'dots' is not one of ['auto', 'lines', 'heatmap']"),
        ("theme", "blue", "theme 'blue' is not one of ['auto', 'light', 'dark']"),
    ],
)
def test_every_bad_selection_raises_attention_input_error_and_keeps_the_old_value(trait, value, message):
    w = AttentionWidget(softmax_attention(n=5), TOKENS)
    before = getattr(w, trait)
    with pytest.raises(AttentionInputError, match=re.escape(message)) as caught:
        setattr(w, trait, value)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, traitlets.TraitError)
    assert getattr(w, trait) == before  # nothing lost


def test_bad_selections_in_the_constructor_and_entry_points_raise_the_same_type():
    for call in (
        lambda: AttentionWidget(softmax_attention(n=5), TOKENS, layer=9),
        lambda: AttentionWidget(softmax_attention(n=5), TOKENS, view="sideways"),
        lambda: AttentionWidget(softmax_attention(n=5), TOKENS, aggregations=("mean",)),
        lambda: AttentionWidget(softmax_attention(n=5), TOKENS, transport="pigeon"),
        lambda: AttentionWidget(softmax_attention(n=5), TOKENS, include_layers=[4]),
        lambda: head_view(softmax_attention(n=5), TOKENS, heads=[8], html_action="return"),
        lambda: model_view(softmax_attention(n=5), TOKENS, include_heads=[8], html_action="return"),
    ):
        with pytest.raises(AttentionInputError):
            call()


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: model_view(softmax_attention(n=5), TOKENS, include_head=[0]),
            "model_view() got an unexpected keyword argument 'include_head'; did you mean 'include_heads'?",
        ),
        (
            lambda: head_view(softmax_attention(n=5), TOKENS, layers=[0]),
            "head_view() got an unexpected keyword argument 'layers'; did you mean 'layer'?",
        ),
        (
            lambda: AttentionWidget(softmax_attention(n=5), TOKENS, encodng="float16"),
            "AttentionWidget() got an unexpected keyword argument 'encodng'; did you mean 'encoding'?",
        ),
        (
            lambda: AttentionWidget(softmax_attention(n=5), TOKENS, zzz=1),
            "AttentionWidget() got an unexpected keyword argument 'zzz'",
        ),
    ],
)
def test_unknown_keywords_raise_type_error_naming_the_closest(call, message):
    with pytest.raises(TypeError) as caught:
        call()
    assert str(caught.value) == message


def test_unknown_keywords_of_the_model_entry_points(tokenizer):
    model = make_model("bert", tokenizer)
    cases = [
        (
            lambda: from_model(model, tokenizer, "the cat", aggregatons=("value",)),
            "from_model() got an unexpected keyword argument 'aggregatons'; did you mean 'aggregations'?",
        ),
        (
            lambda: extract_attention(model, tokenizer, "the cat", with_q=True),
            "extract_attention() got an unexpected keyword argument 'with_q'; did you mean 'with_qk'?",
        ),
        (
            lambda: neuron_view.show(model, "bert", tokenizer, "the cat", sentence_c="a dog"),
            "show() got an unexpected keyword argument 'sentence_c'; did you mean 'sentence_b'?",
        ),
    ]
    calls = []
    model.register_forward_pre_hook(lambda *_: calls.append(1))
    for call, message in cases:
        with pytest.raises(TypeError) as caught:
            call()
        assert str(caught.value).startswith(message)
    assert calls == []  # refused before the model runs


def test_unknown_keyword_errors_keep_valid_keywords_working():
    w = AttentionWidget(softmax_attention(n=5), TOKENS, encoding="float16", layer=1, layout={"width": "50%"})
    assert w.layer == 1 and attn_widget.AttentionWidget.keywords() >= {"include_layers", "view", "stats_requested"}
    assert np.isclose(w.attention_data["self"]["scale"][0][0], 1.0)
