"""AttentionWidget's analysis traits: aggregations (rollout/flow/value), special tokens, head statistics, diff."""

import json

import numpy as np
import pytest
import traitlets
from helpers import TOKENS, softmax_attention
from tiny_models import make_model

import attn_widget
from attn_widget import AttentionInputError, AttentionWidget
from attn_widget.analysis import FLOW_MAX_TOKENS, attention_flow, attention_rollout, head_statistics
from attn_widget.wire import QuantizedAttention


def decode(state: dict) -> np.ndarray:
    return QuantizedAttention(
        state["layers"], np.array(state["scale"]), tuple(state["shape"]), state["dtype"]
    ).dequantize()


def stats_of(w: AttentionWidget) -> dict[str, np.ndarray]:
    w.stats_requested = True  # as the browser's summary view or "Colour by" does
    s = w.head_stats
    return dict(zip(s["names"], np.frombuffer(s["values"], "<f4").reshape(-1, *s["shape"])))


def test_rollout_and_flow_blocks_match_analysis_and_are_small():
    a = softmax_attention(layers=3, heads=4, n=5)
    w = AttentionWidget(a, TOKENS, aggregations=("rollout", "flow"))
    assert list(w.aggregation_data) == ["rollout", "flow"] and w.aggregation_notes == {}
    rollout, flow = (decode(w.aggregation_data[k]) for k in ("rollout", "flow"))
    assert rollout.shape == (3, 1, 5, 5) and flow.shape == (1, 1, 5, 5)
    np.testing.assert_allclose(rollout[:, 0], attention_rollout(a, per_layer=True), atol=2e-3)
    np.testing.assert_allclose(flow[0, 0], attention_flow(a), atol=2e-3)
    raw = sum(len(b) for b in w.attention_data["self"]["layers"])
    extra = sum(len(b) for s in w.aggregation_data.values() for b in s["layers"])
    assert extra == raw // 4 + 25  # rollout: one map per layer (a quarter of 4 heads), flow: one map
    with pytest.raises(traitlets.TraitError, match="'value' is not available: pass aggregations"):
        w.aggregation = "value"


def test_include_layers_selects_rollout_layers_of_the_whole_model():
    a = softmax_attention(layers=4, heads=2, n=5)
    w = AttentionWidget(a, TOKENS, aggregations=("rollout",), include_layers=[1, 3])
    np.testing.assert_allclose(
        decode(w.aggregation_data["rollout"])[:, 0], attention_rollout(a, per_layer=True)[[1, 3]], atol=2e-3
    )


def test_unavailable_aggregations_say_why():
    n = FLOW_MAX_TOKENS + 1
    w = AttentionWidget(
        softmax_attention(layers=2, heads=2, n=n), [f"t{i}" for i in range(n)], aggregations=("rollout", "flow")
    )
    assert "rollout" in w.aggregation_data and "flow" not in w.aggregation_data
    assert f"max_tokens={FLOW_MAX_TOKENS}" in w.aggregation_notes["flow"]
    with pytest.raises(traitlets.TraitError, match="'flow' is not available: attention flow is exact max-flow"):
        w.aggregation = "flow"
    subset = AttentionWidget(
        softmax_attention(layers=2, heads=2, n=5), TOKENS, layer_numbers=[3, 7], aggregations=("rollout",)
    )
    assert subset.aggregation_data == {} and "every layer and head" in subset.aggregation_notes["rollout"]
    tiled = AttentionWidget(softmax_attention(n=5), TOKENS, transport="tiles", aggregations=("rollout",))
    assert tiled.aggregation_data == {} and "tiled transport" in tiled.aggregation_notes["rollout"]
    with pytest.raises(ValueError, match="value-weighted attention needs the model"):
        AttentionWidget(softmax_attention(n=5), TOKENS, aggregations=("value",))
    with pytest.raises(ValueError, match="among 'rollout', 'flow', 'value'"):
        AttentionWidget(softmax_attention(n=5), TOKENS, aggregations=("mean",))


def test_from_model_value_weighted_and_tokenizer_special_tokens(tokenizer):
    model = make_model("bert", tokenizer)
    w = attn_widget.from_model(model, tokenizer, "the cat sat", "a dog ran", aggregations=("rollout", "value"))
    assert w.special_positions == [i for i, t in enumerate(w.tokens) if t in ("[CLS]", "[SEP]")] == [0, 4, 8]
    value = decode(w.aggregation_data["value"])
    assert value.shape == (3, 4, 9, 9)
    want = attn_widget.models.value_weighted_attention(model, tokenizer, "the cat sat", "a dog ran", normalize=True)
    np.testing.assert_allclose(value, want.per_head, atol=2e-3)  # the analysis result, as sent (float16 / uint8)
    assert not np.allclose(value, decode(w.attention_data["self"]), atol=0.05)  # differs from raw attention


def test_special_positions_default_set_and_hide_special_refused_for_tiles():
    w = AttentionWidget(softmax_attention(n=5), ["<s>", "a", "[SEP]", "</s>", "b"])
    assert w.special_positions == [0, 2, 3] and w.decoder_special_positions == []
    assert AttentionWidget(softmax_attention(n=5), TOKENS, special_tokens=["dog"]).special_positions == [4]
    tiled = AttentionWidget(softmax_attention(n=5), TOKENS, transport="tiles")
    with pytest.raises(traitlets.TraitError, match="only thumbnails"):
        tiled.hide_special = True


def test_head_stats_travel_as_float32_buffers_and_enable_the_summary_view():
    from ipywidgets.widgets.widget import _remove_buffers

    a = softmax_attention(layers=12, heads=12, n=16)
    w = AttentionWidget(a, [f"w{i}" for i in range(16)])
    expected = head_statistics(a, w.tokens)
    stats = stats_of(w)
    assert list(stats) == list(expected) and "induction_score" in stats
    for name in expected:
        np.testing.assert_array_equal(stats[name], expected[name])
    state, _, buffers = _remove_buffers({"head_stats": w.head_stats})
    assert sum(len(b) for b in buffers) == len(expected) * 144 * 4 and len(json.dumps(state)) < 500
    w.view = "summary"
    assert w.view == "summary"
    lazy_free = AttentionWidget(
        encoder_attention=softmax_attention(n=5),
        decoder_attention=softmax_attention(n=3),
        cross_attention=np.full((2, 3, 3, 5), 0.2, np.float32),
        encoder_tokens=TOKENS,
        decoder_tokens=["<s>", "x", "</s>"],
    )
    lazy_free.stats_requested = True
    assert lazy_free.head_stats == {} and lazy_free.decoder_special_positions == [0, 2]
    with pytest.raises(traitlets.TraitError, match="summary view needs head statistics"):
        lazy_free.view = "summary"


def test_diff_is_signed_float16_of_a_minus_b(tokenizer):
    from attn_widget import extract_attention

    model = make_model("bert", tokenizer, initializer_range=0.5)
    a = extract_attention(model, tokenizer, "the cat sat on the mat")
    b = extract_attention(model, tokenizer, "the dog sat on the mat")
    w = AttentionWidget.diff(a, b, view="model")
    d = decode(w.attention_data["self"])
    assert w.signed and w.attention_data["self"]["dtype"] == "float16" and w.view == "model"
    np.testing.assert_allclose(d, a.attention - b.attention, atol=1e-3)
    assert d.min() < -0.01 and d.max() > 0.01
    assert w.tokens[2] == "cat|dog" and w.tokens[1] == "the"
    w.stats_requested = True
    assert w.head_stats == {}  # statistics of differences are not offered
    same = AttentionWidget.diff(a.attention, a.attention, a.tokens)
    assert not np.any(decode(same.attention_data["self"]))


def test_diff_errors_are_clear():
    a = np.stack(softmax_attention(layers=2, heads=3, n=5))
    with pytest.raises(AttentionInputError, match=r"a has shape \(2, 3, 5, 5\) and b \(2, 3, 4, 4\)"):
        AttentionWidget.diff(a, softmax_attention(layers=2, heads=3, n=4), TOKENS)
    with pytest.raises(AttentionInputError, match="tokens are required"):
        AttentionWidget.diff(a, a)
    with pytest.raises(AttentionInputError, match="b has negative weights"):
        AttentionWidget.diff(a, -a, TOKENS)
    with pytest.raises(ValueError, match="float16"):
        AttentionWidget(a - a, TOKENS, signed=True)
    with pytest.raises(AttentionInputError, match="aggregations apply to self-attention probabilities"):
        AttentionWidget.diff(a, a, TOKENS, aggregations=("rollout",))


@pytest.mark.parametrize("view", ["head", "neuron"])
def test_from_model_with_value_aggregation_runs_the_model_once(tokenizer, view):
    model = make_model("gpt2", tokenizer)
    forwards = []
    model.register_forward_pre_hook(lambda *_: forwards.append(1))
    w = attn_widget.from_model(model, tokenizer, "the cat sat on the mat", aggregations=("rollout", "value"), view=view)
    assert len(forwards) == 1
    assert {"rollout", "value"} <= set(w.aggregation_data) and bool(w.neuron_data) == (view == "neuron")
    want = attn_widget.models.value_weighted_attention(model, tokenizer, "the cat sat on the mat", normalize=True)
    np.testing.assert_allclose(decode(w.aggregation_data["value"]), want.per_head, atol=2e-3)


def test_head_statistics_are_computed_when_first_asked_for():
    a = softmax_attention(layers=2, heads=3, n=5)
    w = AttentionWidget(a, TOKENS)
    assert w.head_stats == {} and w.stats_requested is False  # nothing computed at construction
    sent = []
    w.observe(lambda change: sent.append(change["name"]), names=["head_stats"])
    w.stats_requested = True  # what the browser does for the summary view or "Colour by"
    assert sent == ["head_stats"] and list(stats_of(w)) == list(head_statistics(a, TOKENS))
    summary = AttentionWidget(a, TOKENS, view="summary")  # asking for the summary view computes them too
    assert summary.view == "summary" and summary.head_stats["names"] == w.head_stats["names"]
    page = AttentionWidget(a, TOKENS).to_html()  # exported pages have them up front
    assert '"head_stats":{"names":["entropy"' in page
