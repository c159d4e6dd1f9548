"""attn_widget.analysis: each measure on hand-computed cases, and value-weighted norms on real tiny models."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
import torch
from tiny_models import make_model

from attn_widget import analysis as an
from attn_widget.errors import AttentionInputError, UnsupportedModelError
from attn_widget.models import extract_attention, induction_scores, value_weighted_attention

# One head over tokens [CLS] . [SEP]; every statistic below is worked out by hand from these rows.
HAND = np.array([[[[0.5, 0.5, 0.0], [0.25, 0.5, 0.25], [0.0, 0.0, 1.0]]]], dtype=np.float32)
HAND_TOKENS = ["[CLS]", ".", "[SEP]"]


def softmax_attention(rng, shape, causal=False):
    logits = rng.normal(size=shape) * 2
    if causal:
        logits = np.where(np.tril(np.ones(shape[-2:], bool)), logits, -np.inf)
    a = np.exp(logits - logits.max(-1, keepdims=True))
    return (a / a.sum(-1, keepdims=True)).astype(np.float32)


def test_head_statistics_hand_computed():
    s = an.head_statistics(HAND, HAND_TOKENS)
    ln2 = math.log(2)
    expected = {
        "entropy": (ln2 + 1.5 * ln2 + 0) / 3,
        "entropy_ratio": 2.5 * ln2 / (3 * math.log(3)),
        "distance": (0.5 + 0.5 + 0) / 3,
        "first": (0.5 + 0.25 + 0) / 3,
        "cls": (0.5 + 0.25 + 0) / 3,
        "punctuation": (0.5 + 0.5 + 0) / 3,
        "sep": (0 + 0.25 + 1) / 3,
        "self": (0.5 + 0.5 + 1) / 3,
        "previous": (0.25 + 0) / 2,
        "next": (0.5 + 0.25) / 2,
        "confidence": (0.5 + 0.5 + 1) / 3,
        "previous_token_score": (0.25 + 0) / 3,
        "induction_score": 0.0,
    }
    assert set(s) == set(expected)
    for name, value in expected.items():
        assert s[name].shape == (1, 1), name
        assert s[name][0, 0] == pytest.approx(value, abs=1e-6), name


def test_head_statistics_without_tokens_has_positional_measures_only():
    s = an.head_statistics(HAND)
    assert "cls" not in s and "induction_score" not in s
    assert s["first"][0, 0] == pytest.approx(0.25)


def test_entropy_ratio_is_one_for_uniform_causal_rows():
    n = 6
    uniform_causal = np.tril(np.ones((n, n))) / np.arange(1, n + 1)[:, None]
    a = np.broadcast_to(uniform_causal, (2, 3, n, n)).astype(np.float32)
    auto = an.head_statistics(a)
    np.testing.assert_allclose(auto["entropy_ratio"], 1.0, rtol=1e-6)
    bidirectional = an.head_statistics(a, causal=False)["entropy_ratio"]
    np.testing.assert_allclose(bidirectional, sum(math.log(i) for i in range(1, n + 1)) / (n * math.log(n)), rtol=1e-6)
    uniform = np.full((1, 1, n, n), 1 / n, np.float32)
    np.testing.assert_allclose(an.head_statistics(uniform)["entropy_ratio"], 1.0, rtol=1e-6)


def test_distance_divides_by_row_mass():
    a = np.array([[[[0.0, 0.0], [0.2, 0.2]]]], np.float32)  # rows not normalised
    assert an.head_statistics(a)["distance"][0, 0] == pytest.approx((0 + 0.2 / 0.4) / 2)


def test_statistics_are_vectorised_consistently_across_layers_and_heads():
    rng = np.random.default_rng(1)
    a = softmax_attention(rng, (3, 4, 7, 7))
    s = an.head_statistics(a)
    for layer, head in [(0, 0), (2, 3), (1, 2)]:
        one = an.head_statistics(a[layer : layer + 1, head : head + 1])
        for name in s:
            assert s[name][layer, head] == pytest.approx(one[name][0, 0], rel=1e-5, abs=1e-7), name


def test_induction_pattern_and_score_match_transformerlens_definition():
    tokens = ["b", "x", "y", "x", "y"]
    expected = np.zeros((5, 5), bool)
    expected[3, 2] = expected[4, 3] = True  # the token after the earlier x / y
    np.testing.assert_array_equal(an.induction_pattern(tokens), expected)
    np.testing.assert_array_equal(an.induction_pattern([7, 3, 4, 3, 4]), expected)
    np.testing.assert_array_equal(an.previous_token_pattern(3), [[0, 0, 0], [1, 0, 0], [0, 1, 0]])

    a = np.zeros((1, 1, 5, 5), np.float32)
    a[0, 0, [0, 1, 2], [0, 0, 1]] = 1
    a[0, 0, 3, [2, 3]] = [0.6, 0.4]
    a[0, 0, 4, 3] = 1
    assert an.induction_score(a, tokens)[0, 0] == pytest.approx((0.6 + 1) / 5)
    # exclude_current_token drops the diagonal (α_00 = 1, α_33 = 0.4); exclude_bos key 0 (α_00, α_10)
    assert an.induction_score(a, tokens, exclude_current_token=True)[0, 0] == pytest.approx(1.6 / 3.6)
    assert an.induction_score(a, tokens, exclude_bos=True)[0, 0] == pytest.approx(1.6 / 3)
    both = an.induction_score(a, tokens, exclude_bos=True, exclude_current_token=True)
    assert both[0, 0] == pytest.approx(1.6 / 2.6)
    assert an.previous_token_score(a)[0, 0] == pytest.approx((1 + 1 + 0.6 + 1) / 5)


def test_perfect_induction_head_scores_m_over_2m_plus_1():
    m = 8
    ids = np.concatenate([[0], np.arange(1, m + 1), np.arange(1, m + 1)])
    n = len(ids)
    a = np.zeros((1, 1, n, n), np.float32)
    a[0, 0, np.arange(m + 1), np.arange(m + 1)] = 1
    second = np.arange(m + 1, n)
    a[0, 0, second, second - m + 1] = 1
    assert an.induction_score(a, ids)[0, 0] == pytest.approx(m / (2 * m + 1))


def test_detection_score_rejects_wrong_pattern_shape():
    with pytest.raises(AttentionInputError, match=r"expected \(3, 3\)"):
        an.detection_score(HAND, np.eye(4))


def test_induction_scores_on_real_model(tokenizer):
    model = make_model("gpt2", tokenizer)
    before = model.config._attn_implementation
    scores = induction_scores(model, tokenizer, seq_len=10, batch=2)
    assert scores.shape == (3, 4)
    assert np.all((scores >= 0) & (scores <= 1)) and scores.max() > 0
    assert model.config._attn_implementation == before
    np.testing.assert_array_equal(scores, induction_scores(model, tokenizer, seq_len=10, batch=2))
    assert not np.array_equal(scores, induction_scores(model, tokenizer, seq_len=10, batch=2, seed=1))
    by_size = induction_scores(model, len(tokenizer), seq_len=10, batch=2, bos_token_id=tokenizer.cls_token_id)
    assert by_size.shape == (3, 4)
    with pytest.raises(ValueError, match="at most 128"):
        induction_scores(model, tokenizer, seq_len=100)


def test_statistics_refuse_cross_attention():
    with pytest.raises(AttentionInputError, match="self-attention"):
        an.head_statistics(np.full((1, 1, 2, 3), 1 / 3, np.float32))


# --------------------------------------------------------------------------- rollout and flow

TWO_LAYERS = np.array(
    [
        [[[1, 0], [1, 0]], [[1, 0], [0, 1]]],  # layer 1: mean over heads [[1, 0], [.5, .5]]
        [[[0.5, 0.5], [0, 1]], [[0.5, 0.5], [0, 1]]],  # layer 2: mean [[.5, .5], [0, 1]]
    ],
    dtype=np.float32,
)


def test_rollout_of_identity_is_identity():
    eye = np.broadcast_to(np.eye(5, dtype=np.float32), (4, 3, 5, 5))
    np.testing.assert_array_equal(an.attention_rollout(eye), np.eye(5))
    np.testing.assert_array_equal(an.attention_rollout(eye, add_residual=False), np.eye(5))
    np.testing.assert_array_equal(an.attention_rollout(eye, per_layer=True), np.broadcast_to(np.eye(5), (4, 5, 5)))


def test_rollout_hand_computed():
    # Â_1 = [[1, 0], [.25, .75]], Â_2 = [[.75, .25], [0, 1]], R = Â_2 Â_1
    np.testing.assert_allclose(an.attention_rollout(TWO_LAYERS), [[0.8125, 0.1875], [0.25, 0.75]])
    np.testing.assert_allclose(an.attention_rollout(TWO_LAYERS, add_residual=False), [[0.75, 0.25], [0.5, 0.5]])
    per_layer = an.attention_rollout(TWO_LAYERS, per_layer=True)
    np.testing.assert_allclose(per_layer, [[[1, 0], [0.25, 0.75]], [[0.8125, 0.1875], [0.25, 0.75]]])


@pytest.mark.parametrize("add_residual", [True, False])
def test_single_layer_flow_equals_rollout(add_residual):
    # One layer: the only path from (1, i) to (0, j) is the edge of capacity Â[i, j]; rows of Â sum to 1.
    a = softmax_attention(np.random.default_rng(2), (1, 4, 6, 6))
    flow = an.attention_flow(a, add_residual)
    np.testing.assert_allclose(flow, an.attention_rollout(a, add_residual), atol=1e-6)
    np.testing.assert_allclose(an.attention_flow(a, add_residual, normalize=False), flow, atol=1e-6)


def test_two_layer_flow_hand_computed_differs_from_rollout():
    # From (2,0): to (0,0) via (1,0) min(.5, 1) + via (1,1) min(.5, .5) = 1; to (0,1) only via (1,1): .5.
    raw = an.attention_flow(TWO_LAYERS, add_residual=False, normalize=False)
    np.testing.assert_allclose(raw, [[1.0, 0.5], [0.5, 0.5]], atol=1e-7)
    normalized = an.attention_flow(TWO_LAYERS, add_residual=False)
    np.testing.assert_allclose(normalized, [[2 / 3, 1 / 3], [0.5, 0.5]], atol=1e-7)


def networkx_flow(mats):
    """The paper's construction: a DiGraph over (layer, token) nodes, Edmonds-Karp per pair, rows normalised."""
    layers, n, _ = mats.shape
    g = nx.DiGraph()
    for l in range(1, layers + 1):
        for i in range(n):
            for j in range(n):
                g.add_edge((l, i), (l - 1, j), capacity=float(mats[l - 1, i, j]))
    flows = np.array(
        [
            [nx.maximum_flow_value(g, (layers, i), (0, j), flow_func=nx.algorithms.flow.edmonds_karp) for j in range(n)]
            for i in range(n)
        ]
    )
    return flows / flows.sum(-1, keepdims=True)


@pytest.mark.parametrize("causal", [False, True])
def test_flow_matches_networkx_reference(causal):
    a = softmax_attention(np.random.default_rng(3), (3, 2, 5, 5), causal=causal)
    mats = 0.5 * a.mean(1).astype(np.float64) + 0.5 * np.eye(5)
    np.testing.assert_allclose(an.attention_flow(a), networkx_flow(mats), atol=1e-5)


def test_flow_refuses_long_inputs_clearly():
    a = np.full((1, 1, 40, 40), 1 / 40, np.float32)
    with pytest.raises(ValueError, match=r"max_tokens=32 tokens; this input has 40.*attention_rollout"):
        an.attention_flow(a)
    assert an.attention_flow(a, max_tokens=40).shape == (40, 40)


# --------------------------------------------------------------------------- special tokens


def test_hide_special_tokens_removes_and_renormalises():
    tokens = ["[CLS]", "a", "b", "[SEP]"]
    a = np.array([[[[0.7, 0.1, 0.1, 0.1], [0.5, 0.2, 0.2, 0.1], [0.4, 0.3, 0.1, 0.2], [0.25] * 4]]], np.float32)
    hidden = an.hide_special_tokens(a, tokens)
    assert hidden.tokens == ["a", "b"]
    np.testing.assert_array_equal(hidden.positions, [1, 2])
    np.testing.assert_allclose(hidden.attention, [[[[0.5, 0.5], [0.75, 0.25]]]], rtol=1e-6)
    rolled, kept, _ = an.hide_special_tokens(an.attention_rollout(a), tokens, special=["[SEP]"])
    assert kept == ["[CLS]", "a", "b"] and rolled.shape == (3, 3)
    np.testing.assert_allclose(rolled.sum(-1), 1, rtol=1e-6)
    raw = an.hide_special_tokens(a, tokens, renormalize=False).attention
    np.testing.assert_allclose(raw, [[[[0.2, 0.2], [0.3, 0.1]]]])
    with pytest.raises(AttentionInputError, match="3 tokens but the attention has 4 key positions"):
        an.hide_special_tokens(a, tokens[:3])


# --------------------------------------------------------------------------- value-weighted


def test_value_weighted_layer_hand_computed_with_shared_kv_head():
    attention = np.array([[[1, 0], [0.5, 0.5]], [[0, 1], [0.5, 0.5]]], np.float32)  # 2 query heads
    values = np.array([[[1.0], [2.0]]], np.float32)  # 1 KV head, keys 0 and 1, d_head 1
    out_weight = np.array([[[1.0, 0.0]], [[0.0, 1.0]]], np.float32)  # head 0 → axis 0, head 1 → axis 1
    per_head, per_layer = an.value_weighted_layer(attention, values, out_weight)
    np.testing.assert_allclose(per_head, [[[1, 0], [0.5, 1]], [[0, 2], [0.5, 1]]])
    np.testing.assert_allclose(per_layer, [[1, 2], [math.sqrt(0.5), math.sqrt(2)]], rtol=1e-6)
    with pytest.raises(AttentionInputError, match="3 attention heads cannot share 2"):
        an.value_weighted_layer(np.ones((3, 2, 2)), np.ones((2, 2, 1)), np.ones((3, 1, 2)))


def direct_value_weighted(family, model, inputs):
    """‖α_ij f_h(x_j)‖ from the weights and hidden states, one head and one key at a time."""
    with torch.no_grad():
        model.set_attn_implementation("eager")
        out = model(**inputs, output_attentions=True, output_hidden_states=True)
        base = model.base_model
        per_head, per_layer = [], []
        for l, alpha in enumerate(out.attentions):
            alpha = alpha[0].double()
            heads = alpha.shape[0]
            x = out.hidden_states[l][0]
            if family == "bert":
                layer = base.encoder.layer[l]
                v = layer.attention.self.value(x)
                wo = layer.attention.output.dense.weight.T
            elif family == "gpt2":
                layer = base.h[l]
                qkv = layer.ln_1(x) @ layer.attn.c_attn.weight + layer.attn.c_attn.bias
                v = qkv[:, 2 * x.shape[-1] :]
                wo = layer.attn.c_proj.weight
            else:
                layer = base.layers[l]
                v = layer.self_attn.v_proj(layer.input_layernorm(x))
                wo = layer.self_attn.o_proj.weight.T
            d = wo.shape[0] // heads
            kv = v.shape[-1] // d
            f = torch.stack(
                [
                    v[:, (h // (heads // kv)) * d : (h // (heads // kv) + 1) * d] @ wo[h * d : (h + 1) * d]
                    for h in range(heads)
                ]
            ).double()  # (heads, key, d_model)
            vectors = alpha[..., None] * f[:, None, :, :]  # (heads, query, key, d_model)
            per_head.append(vectors.norm(dim=-1))
            per_layer.append(vectors.sum(0).norm(dim=-1))
    return torch.stack(per_head).numpy(), torch.stack(per_layer).numpy()


@pytest.mark.parametrize("family", ["bert", "gpt2", "llama"])
def test_value_weighted_matches_direct_computation(tokenizer, family):
    model = make_model(family, tokenizer)
    text = "the cat sat on the mat . my friend likes tea"
    result = value_weighted_attention(model, tokenizer, text)
    reference = extract_attention(model, tokenizer, text)
    assert result.tokens == reference.tokens
    np.testing.assert_allclose(result.attention, reference.attention)
    inputs = dict(tokenizer(text, return_tensors="pt"))  # the same ids, types and mask as extract_attention
    per_head, per_layer = direct_value_weighted(family, model, inputs)
    n = len(result.tokens)
    assert result.per_head.shape == (3, 4, n, n) and result.per_layer.shape == (3, n, n)
    np.testing.assert_allclose(result.per_head, per_head, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(result.per_layer, per_layer, rtol=1e-4, atol=1e-6)


def test_value_weighted_grouped_kv_heads_share_values(tokenizer):
    model = make_model("llama", tokenizer)  # 4 query heads over 2 KV heads: heads 0, 1 read KV 0; 2, 3 read KV 1
    assert model.config.num_key_value_heads == 2
    d = model.config.hidden_size // 4
    with torch.no_grad():
        for layer in model.model.layers:
            w = layer.self_attn.o_proj.weight
            w[:, d : 2 * d] = w[:, :d]  # heads 0, 1, 2 get the same W_O slice
            w[:, 2 * d : 3 * d] = w[:, :d]
    raw = value_weighted_attention(model, tokenizer, "a bird sang in the tree")
    lower = np.tril(np.ones(raw.attention.shape[-2:], bool))
    f_norm = raw.per_head[..., lower] / raw.attention[..., lower]  # ‖f_h(x_j)‖ per (layer, head, pair)
    np.testing.assert_allclose(f_norm[:, 0], f_norm[:, 1], rtol=1e-4)  # same V, same W_O
    assert not np.allclose(f_norm[:, 0], f_norm[:, 2], rtol=1e-2)  # same W_O, other KV head
    normalized = value_weighted_attention(model, tokenizer, "a bird sang in the tree", normalize=True)
    np.testing.assert_allclose(normalized.per_head.sum(-1), 1, rtol=1e-5)
    np.testing.assert_allclose(normalized.per_layer.sum(-1), 1, rtol=1e-5)


@pytest.mark.parametrize("family", ["roberta", "distilbert", "qwen2"])
def test_value_weighted_other_adapters_run(tokenizer, family):
    model = make_model(family, tokenizer)
    result = value_weighted_attention(model, tokenizer, "she ran to the park")
    n = len(result.tokens)
    assert result.per_head.shape == (3, 4, n, n) and (result.per_layer > 0).any()
    # the per-layer norm of a sum never exceeds the sum of per-head norms (triangle inequality)
    assert (result.per_layer <= result.per_head.sum(1) * (1 + 1e-5) + 1e-7).all()


def test_value_weighted_unsupported_architecture_names_supported(tokenizer):
    model = make_model("bart", tokenizer)
    with pytest.raises(UnsupportedModelError, match=r"model_type 'bart'; supported: bert, distilbert, gpt2, llama"):
        value_weighted_attention(model, tokenizer, "the cat")


def hooks(model):
    return {name: list(m._forward_hooks.values()) for name, m in model.named_modules() if m._forward_hooks}


def test_value_weighted_removes_hooks_on_exception(tokenizer):
    model = make_model("gpt2", tokenizer)
    assert value_weighted_attention(model, tokenizer, "the cat sat").per_layer.shape[0] == 3
    installed = hooks(model)  # transformers 5 keeps its own output-capturing hooks after the first run
    assert not any(name.endswith("c_attn") for name in installed)
    before = model.config._attn_implementation

    def fail(module, inputs, output):
        raise RuntimeError("boom in layer 1")

    own = model.transformer.h[1].register_forward_hook(fail)  # fires after layers 0 and 1 captured values
    with pytest.raises(RuntimeError, match="boom in layer 1"):
        value_weighted_attention(model, tokenizer, "the cat sat")
    own.remove()
    assert hooks(model) == installed
    assert model.config._attn_implementation == before
