"""Queries/keys captured with hooks on real tiny models reproduce the models' own attention."""

import numpy as np
import pytest
import torch
from tiny_models import HEADS, HIDDEN, LAYERS, make_model

from attn_widget.arrays import AttentionResult
from attn_widget.errors import UnsupportedModelError
from attn_widget.models import FAMILIES, attention_modules, capture_projections, eager_attention, extract_attention
from attn_widget.wire import neuron_payload

HEAD_DIM = HIDDEN // HEADS
CAUSAL = {"gpt2", "llama", "mistral", "qwen2"}
ROTARY = {"llama", "mistral", "qwen2"}
TEXT = "the cat sat on the mat yesterday"


def hook_count(model) -> int:
    """attn_widget's forward and forward-pre hooks on any module of ``model``.

    transformers 5 keeps hooks of its own (output capturing, installed by the first forward pass),
    so hooks are told apart by the module that defines them.
    """
    hooks = [h for m in model.modules() for h in (*m._forward_hooks.values(), *m._forward_pre_hooks.values())]
    return sum(h.__module__.startswith("attn_widget") for h in hooks)


def softmax_attention(queries, keys, scaling, key_mask) -> np.ndarray:
    """``softmax(q·kᵀ · scaling + mask)`` per layer and head; ``key_mask`` ``(seq, seq)`` bool, True = visible."""
    scores = np.einsum("lhqd,lhkd->lhqk", queries.astype(np.float64), keys.astype(np.float64))
    scores = scores * scaling[:, None, None, None] + np.where(key_mask, 0.0, -np.inf)
    scores -= scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    return weights / weights.sum(axis=-1, keepdims=True)


def visible(family: str, seq: int) -> np.ndarray:
    causal = np.tril(np.ones((seq, seq), dtype=bool))
    return causal if family in CAUSAL else np.ones((seq, seq), dtype=bool)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_softmax_of_captured_qk_equals_model_attention(family, tokenizer):
    model = make_model(family, tokenizer)
    pair = "my friend likes tea and cake" if family == "bert" else None
    result = extract_attention(model, tokenizer, TEXT, pair, with_qk=True)
    seq = len(result.tokens)
    assert result.queries.shape == result.keys.shape == (LAYERS, HEADS, seq, HEAD_DIM)
    assert result.queries.dtype == result.keys.dtype == np.float32
    np.testing.assert_allclose(result.extras["qk_scaling"], HEAD_DIM**-0.5, rtol=1e-6)
    if family == "bert":
        assert result.sentence_b_start == result.tokens.index("[SEP]") + 1
    rebuilt = softmax_attention(result.queries, result.keys, result.extras["qk_scaling"], visible(family, seq))
    assert np.abs(rebuilt - result.attention).max() <= 1e-4
    assert hook_count(model) == 0


@pytest.mark.parametrize("family", sorted(ROTARY))
def test_grouped_kv_heads_repeat_each_group_key_to_its_query_heads(family, tokenizer):
    model = make_model(family, tokenizer)
    groups = model.config.num_attention_heads // model.config.num_key_value_heads
    assert groups == 2
    keys = extract_attention(model, tokenizer, TEXT, with_qk=True).keys
    for head in range(HEADS):
        np.testing.assert_array_equal(keys[:, head], keys[:, head - head % groups])
    assert not np.allclose(keys[:, 0], keys[:, groups])


def test_rotary_keys_differ_from_unrotated_projection(tokenizer):
    model = make_model("llama", tokenizer)
    result = extract_attention(model, tokenizer, TEXT, with_qk=True)
    ids = tokenizer(TEXT, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        hidden = model.model.embed_tokens(ids)
        raw = model.model.layers[0].self_attn.k_proj(model.model.layers[0].input_layernorm(hidden))
    raw = raw[0].view(len(result.tokens), -1, HEAD_DIM).transpose(0, 1).numpy()  # (kv heads, seq, d)
    np.testing.assert_allclose(result.keys[0, 0, 0], raw[0, 0], atol=1e-6)  # position 0: rotation by 0
    assert np.abs(result.keys[0, 0, 1:] - raw[0, 1:]).max() > 1e-3


def test_padding_mask_with_batched_capture(tokenizer):
    model = make_model("bert", tokenizer)
    batch = tokenizer(["the cat sat on the mat and the dog ran", "a bird sang"], padding=True, return_tensors="pt")
    with eager_attention(model), torch.no_grad(), capture_projections(model) as qk:
        out = model(**batch, output_attentions=True)
    queries, keys = qk.arrays(batch_index=1)
    key_mask = np.broadcast_to(batch["attention_mask"][1].numpy().astype(bool), (queries.shape[2],) * 2)
    assert not key_mask.all()
    attention = torch.stack(out.attentions)[:, 1].numpy()
    assert np.abs(softmax_attention(queries, keys, qk.scaling, key_mask) - attention).max() <= 1e-4
    assert hook_count(model) == 0


@pytest.mark.parametrize("family", ["bert", "llama"])
def test_hooks_removed_when_forward_raises(family, tokenizer):
    model = make_model(family, tokenizer)
    last_attention = attention_modules(model)[1][-1]
    hooks_seen = []

    def fail(module, args, output):
        hooks_seen.append(hook_count(model))
        raise RuntimeError("failure inside the forward pass")

    handle = last_attention.register_forward_hook(fail)
    with pytest.raises(RuntimeError, match="inside the forward"):
        extract_attention(model, tokenizer, TEXT, with_qk=True)
    handle.remove()
    assert hooks_seen == [LAYERS]  # the capture hooks were there during the forward...
    assert hook_count(model) == 0  # ...and are gone after it raised
    assert model.config._attn_implementation == "sdpa"


def test_hooks_removed_after_success_inside_capture_context(tokenizer):
    model = make_model("gpt2", tokenizer)
    with capture_projections(model) as qk, torch.no_grad():
        assert hook_count(model) == LAYERS
        model(**tokenizer(TEXT, return_tensors="pt"))  # default sdpa: capture does not need eager
    assert hook_count(model) == 0
    queries, keys = qk.arrays()
    assert queries.shape == keys.shape == (LAYERS, HEADS, len(tokenizer(TEXT)["input_ids"]), HEAD_DIM)


def test_capture_without_forward_names_missing_layers(tokenizer):
    with capture_projections(make_model("distilbert", tokenizer)) as qk:
        pass
    with pytest.raises(RuntimeError, match=r"layer\(s\) \[0, 1, 2\]"):
        qk.arrays()


@pytest.mark.parametrize("family", ["t5", "bart"])
def test_unsupported_model_names_supported_ones(family, tokenizer):
    model = make_model(family, tokenizer)
    message = rf"model_type '{family}'.*supported model types: bert, roberta, distilbert, gpt2, llama, mistral, qwen2"
    with pytest.raises(UnsupportedModelError, match=message):
        extract_attention(model, tokenizer, TEXT, with_qk=True)
    assert hook_count(model) == 0
    assert model.config._attn_implementation == "sdpa"


def test_neuron_payload_round_trips_float16_buffers(tokenizer):
    result = extract_attention(make_model("llama", tokenizer), tokenizer, TEXT, with_qk=True)
    seq = len(result.tokens)
    payload = neuron_payload(result)
    assert payload["shape"] == [LAYERS, HEADS, seq, HEAD_DIM]
    assert payload["head_dim"] == HEAD_DIM and payload["dtype"] == "float16"
    assert payload["layers"] == list(range(LAYERS))
    assert payload["scaling"] == pytest.approx([HEAD_DIM**-0.5] * LAYERS)
    for name, array in (("queries", result.queries), ("keys", result.keys)):
        assert all(isinstance(b, bytes) and len(b) == HEADS * seq * HEAD_DIM * 2 for b in payload[name])
        decoded = np.stack([np.frombuffer(b, dtype="<f2").reshape(HEADS, seq, HEAD_DIM) for b in payload[name]])
        np.testing.assert_allclose(decoded, array, rtol=1e-3, atol=1e-3)

    one = neuron_payload(result, layer=-1)
    assert one["layers"] == [LAYERS - 1] and one["shape"][0] == 1
    assert one["keys"] == payload["keys"][-1:]


def test_neuron_payload_only_plain_json_and_bytes(tokenizer):
    result = extract_attention(make_model("bert", tokenizer), tokenizer, TEXT, with_qk=True)

    def leaves(value):
        if isinstance(value, dict):
            return [leaf for v in value.values() for leaf in leaves(v)]
        if isinstance(value, list):
            return [leaf for v in value for leaf in leaves(v)]
        return [value]

    assert {type(v) for v in leaves(neuron_payload(result))} <= {int, float, str, bytes}


def test_neuron_payload_size_bert_base_shape():
    """12 layers × 12 heads × head_dim 64 at 128 tokens: 2 × 12·12·128·64 halves = 4.7 MB."""
    rng = np.random.default_rng(0)
    qk = rng.standard_normal((2, 12, 12, 128, 64), dtype=np.float32)
    result = AttentionResult(
        tokens=["t"] * 128, attention=np.zeros((12, 12, 128, 128), np.float32), queries=qk[0], keys=qk[1]
    )
    payload = neuron_payload(result)
    assert sum(len(b) for b in payload["queries"] + payload["keys"]) == 4_718_592
    assert payload["scaling"] == [0.125] * 12


def test_neuron_payload_errors(tokenizer):
    result = extract_attention(make_model("bert", tokenizer), tokenizer, TEXT)
    assert result.queries is None and result.keys is None
    with pytest.raises(ValueError, match="with_qk=True"):
        neuron_payload(result)
    result.queries = np.full((1, 1, 2, 4), 1e5, dtype=np.float32)
    result.keys = np.zeros((1, 1, 2, 4), dtype=np.float32)
    with pytest.raises(ValueError, match="float16 range"):
        neuron_payload(result)
    with pytest.raises(IndexError):
        neuron_payload(
            AttentionResult(tokens=[], attention=result.attention, queries=result.keys, keys=result.keys), layer=1
        )
