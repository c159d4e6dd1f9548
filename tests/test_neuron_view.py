"""Neuron view: AttentionWidget q/k traits, and BertViz's neuron_view.show on stock transformers models."""

import json
import re

import numpy as np
import pytest
import traitlets
from IPython.display import HTML
from ipywidgets.widgets.widget import _remove_buffers
from tiny_models import HEADS, HIDDEN, LAYERS, make_model

import attn_widget
from attn_widget import (
    AttentionInputError,
    AttentionResult,
    AttentionWidget,
    extract_attention,
    from_model,
    neuron_view,
)
from attn_widget.errors import UnsupportedModelError

HEAD_DIM = HIDDEN // HEADS
TEXT, PAIR = "the cat sat on the mat", "a dog ran"


def decode(buffers) -> np.ndarray:
    return np.stack([np.frombuffer(b, dtype="<f2").reshape(HEADS, -1, HEAD_DIM) for b in buffers]).astype(np.float64)


def state_json(html: HTML) -> list[dict]:
    """The widget states embedded in an exported page."""
    return [json.loads(s) for s in re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', html.data, re.S)]


def test_neuron_data_is_float16_buffers_whose_softmax_is_the_model_attention(tokenizer):
    model = make_model("bert", tokenizer)
    w = from_model(model, tokenizer, TEXT, PAIR, view="neuron")
    seq = len(w.tokens)
    data = w.neuron_data
    assert data["shape"] == [LAYERS, HEADS, seq, HEAD_DIM] and data["layers"] == list(range(LAYERS))
    assert data["causal"] is False and w.sentence_b_start == w.tokens.index("[SEP]") + 1
    assert all(len(b) == HEADS * seq * HEAD_DIM * 2 for b in data["queries"] + data["keys"])

    w.stats_requested = True  # as the browser's summary view or "Colour by" does
    state, paths, buffers = _remove_buffers(w.get_state())
    assert ["neuron_data", "keys", LAYERS - 1] in paths and ["neuron_data", "queries", 0] in paths
    assert len(buffers) == 3 * LAYERS + 1  # attention, queries, keys: one buffer each per layer; head statistics
    assert len(json.dumps(state["neuron_data"])) < 500  # only shape/scaling metadata stays JSON

    q, k = decode(data["queries"]), decode(data["keys"])
    scores = np.einsum("lhqd,lhkd->lhqk", q, k) * np.array(data["scaling"])[:, None, None, None]
    softmax = np.exp(scores - scores.max(-1, keepdims=True))
    softmax /= softmax.sum(-1, keepdims=True)
    expected = extract_attention(model, tokenizer, TEXT, PAIR).attention
    assert np.abs(softmax - expected).max() < 2e-3  # float16 q/k


@pytest.mark.parametrize("family", ["gpt2", "llama"])
def test_causal_models_are_flagged(family, tokenizer):
    w = from_model(make_model(family, tokenizer), tokenizer, TEXT, view="neuron")
    assert w.neuron_data["causal"] is True and w.view == "neuron"


def test_head_trait_and_neuron_view_validation(tokenizer):
    model = make_model("bert", tokenizer)
    w = from_model(model, tokenizer, TEXT, view="neuron", head=3)
    assert w.head == 3
    with pytest.raises(AttentionInputError, match="head 4 is outside the model's heads: positions 0..3"):
        w.head = 4
    plain = from_model(model, tokenizer, TEXT)
    assert plain.neuron_data == {} and plain.head == 0
    with pytest.raises(traitlets.TraitError, match="neuron view needs queries and keys"):
        plain.view = "neuron"
    with pytest.raises(traitlets.TraitError, match="neuron view needs queries and keys"):
        AttentionWidget.from_result(extract_attention(model, tokenizer, TEXT), view="neuron")


def test_include_layers_sends_only_those_layers(tokenizer):
    result = extract_attention(make_model("llama", tokenizer), tokenizer, TEXT, with_qk=True)
    w = AttentionWidget.from_result(result, include_layers=[2, 0], view="neuron")
    assert w.layer_numbers == w.neuron_data["layers"] == [2, 0] and w.layer == 2
    assert len(w.neuron_data["keys"]) == 2
    np.testing.assert_allclose(decode(w.neuron_data["keys"][:1])[0], result.keys[2], atol=2e-3)
    with pytest.raises(AttentionInputError, match="include_layers has layer 3"):
        AttentionWidget.from_result(result, include_layers=[3])


def test_bytes_for_12_layers_12_heads_head_dim_64_at_128_tokens():
    """q and k in float16 (4.7 MB) plus attention in uint8 (2.4 MB): 7.1 MB, all binary."""
    rng = np.random.default_rng(0)
    qk = rng.standard_normal((2, 12, 12, 128, 64), dtype=np.float32)
    scores = rng.standard_normal((12, 12, 128, 128)).astype(np.float32)
    attention = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    result = AttentionResult(tokens=[f"t{i}" for i in range(128)], attention=attention, queries=qk[0], keys=qk[1])
    widget = AttentionWidget.from_result(result, view="neuron", stats_requested=True)  # stats as "Colour by" asks
    state, _, buffers = _remove_buffers(widget.get_state())
    stats = 13 * 12 * 12 * 4  # head_statistics: 13 float32 (layers, heads) arrays
    assert sum(len(b) for b in buffers) == 2 * 12 * 12 * 128 * 64 * 2 + 12 * 12 * 128 * 128 + stats == 7_085_376
    traits = {k: v for k, v in state.items() if k not in ("_esm", "_css")}
    assert len(json.dumps(traits)) < 10_000


@pytest.mark.parametrize(
    ("family", "pair", "causal"), [("bert", PAIR, False), ("gpt2", None, True), ("llama", None, True)]
)
def test_show_returns_self_contained_neuron_view(family, pair, causal, tokenizer):
    model = make_model(family, tokenizer)
    html = neuron_view.show(model, family, tokenizer, TEXT, pair, layer=2, head=1, html_action="return")
    assert isinstance(html, HTML) and "cdn." not in html.data.lower()  # a dot: base64 data cannot match by chance
    (state,) = state_json(html)
    assert (state["view"], state["layer"], state["head"], state["theme"]) == ("neuron", 2, 1, "dark")
    assert state["neuron_data"]["causal"] is causal
    assert state["neuron_data"]["shape"] == [LAYERS, HEADS, len(state["tokens"]), HEAD_DIM]
    assert all("$b64z" in b for b in state["neuron_data"]["queries"])
    assert (state["sentence_b_start"] is not None) is (pair is not None)
    assert model.config._attn_implementation == "sdpa"  # restored after the eager pass


def test_show_view_displays_and_submodule_import(tokenizer, capsys):
    from attn_widget.neuron_view import show

    assert show is attn_widget.neuron_view.show
    assert show(make_model("roberta", tokenizer), "RoBERTa", tokenizer, TEXT, display_mode="light") is None
    assert "AttentionWidget" in capsys.readouterr().out  # display() outside a notebook prints the repr


def test_show_errors(tokenizer):
    bert = make_model("bert", tokenizer)
    with pytest.raises(
        ValueError, match=r"model_type 'gpt2' does not match the model: BertModel has config.model_type 'bert'"
    ):
        neuron_view.show(bert, "gpt2", tokenizer, TEXT)
    with pytest.raises(
        UnsupportedModelError, match="model_type 'xlnet' is not supported; supported model types: bert, roberta"
    ):
        neuron_view.show(bert, "xlnet", tokenizer, TEXT)
    with pytest.raises(UnsupportedModelError, match=r"BartForConditionalGeneration \(model_type 'bart'\)"):
        from_model(make_model("bart", tokenizer), tokenizer, TEXT, view="neuron")
    with pytest.raises(AttentionInputError, match="head 9 is outside"):
        neuron_view.show(bert, "bert", tokenizer, TEXT, head=9, html_action="return")
    with pytest.raises(traitlets.TraitError, match="layer 5 is not shown"):
        neuron_view.show(bert, "bert", tokenizer, TEXT, layer=5, html_action="return")
    with pytest.raises(ValueError, match="display_mode must be"):
        neuron_view.show(bert, "bert", tokenizer, TEXT, display_mode="sepia")
    with pytest.raises(ValueError, match="html_action must be"):
        neuron_view.show(bert, "bert", tokenizer, TEXT, html_action="save")


def test_neuron_data_follows_selected_layers_and_heads(tokenizer):
    import torch

    from attn_widget import extract_attention

    model = make_model("bert", tokenizer)
    result = extract_attention(model, tokenizer, "the cat sat on the mat", with_qk=True, layers=[2, 0], heads=[3, 1])
    assert result.queries.shape[:2] == (2, 2) and result.keys.shape[:2] == (2, 2)
    scores = torch.from_numpy(result.queries) @ torch.from_numpy(result.keys).transpose(-1, -2)
    softmax = torch.softmax(scores * torch.from_numpy(result.extras["qk_scaling"])[:, None, None, None], -1).numpy()
    np.testing.assert_allclose(softmax, result.attention, atol=1e-5)  # every head pairs with its own q/k
    w = AttentionWidget.from_result(result, include_layers=[0])
    assert w.neuron_data["layers"] == [0] and w.neuron_data["shape"][:2] == [1, 2] and w.head_numbers == [3, 1]
