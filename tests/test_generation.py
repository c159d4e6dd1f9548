"""extract_generation / from_generate on real transformers classes (small configs, random weights).

The reference for every stitched matrix is one eager forward pass over the final sequence.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers as tf
from tiny_models import make_model, make_tokenizer

from attn_widget import AttentionInputError, extract_generation, from_generate
from attn_widget.arrays import LazyAttention
from attn_widget.errors import SelectionError
from attn_widget.generation_widget import GenerationWidget
from attn_widget.models.generation import TOP_K

PROMPT = "the cat sat on the mat and my friend likes tea"
NEW = 8


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    return make_tokenizer(tmp_path_factory.mktemp("vocab"))


def gemma2(tokenizer, sliding_window=4):
    """Gemma-2: alternating sliding-window / global layers, attention and final-logit soft-capping."""
    torch.manual_seed(0)
    cfg = tf.Gemma2Config(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=8,
        max_position_embeddings=128,
        sliding_window=sliding_window,
        attn_logit_softcapping=5.0,
        final_logit_softcapping=3.0,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.sep_token_id,
        bos_token_id=tokenizer.cls_token_id,
    )
    return tf.Gemma2ForCausalLM(cfg).eval()  # eager: transformers has no sdpa path for Gemma-2


def model_for(family, tokenizer):
    model = gemma2(tokenizer) if family == "gemma2" else make_model(family, tokenizer)
    # Larger weights than the init: random models otherwise put near-uniform mass everywhere and a
    # wrong row would still look close.
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() > 1:
                p.mul_(4)
    return model


def reference(model, tokenizer, result):
    """One eager forward over the final sequence: (self attention, cross or None, encoder or None, logits)."""
    prev = model.config._attn_implementation
    model.set_attn_implementation("eager")
    try:
        with torch.no_grad():
            ids = torch.tensor([result.token_ids])
            if model.config.is_encoder_decoder:
                enc = tokenizer(PROMPT, return_tensors="pt")
                out = model(**enc, decoder_input_ids=ids, output_attentions=True)
                stack = lambda xs: torch.stack([x[0] for x in xs]).numpy()  # noqa: E731
                return (
                    stack(out.decoder_attentions),
                    stack(out.cross_attentions),
                    stack(out.encoder_attentions),
                    out.logits[0],
                )
            out = model(input_ids=ids, output_attentions=True)
            return torch.stack([a[0] for a in out.attentions]).numpy(), None, None, out.logits[0]
    finally:
        model.set_attn_implementation(prev)


@pytest.mark.parametrize("family", ["gpt2", "llama", "qwen2", "gemma2", "bart", "t5"])
def test_stitched_attention_equals_one_forward_pass(family, tokenizer):
    model = model_for(family, tokenizer)
    before = model.config._attn_implementation
    result = extract_generation(model, tokenizer, PROMPT, max_new_tokens=NEW, eos_token_id=None)
    assert model.config._attn_implementation == before == ("eager" if family == "gemma2" else "sdpa")  # restored
    P = result.prompt_length
    total = len(result.tokens)
    assert total == P + NEW and len(result.token_probs) == NEW == len(result.top_tokens) == len(result.entropy)
    self_attn, cross, encoder, logits = reference(model, tokenizer, result)
    assert result.attention.dtype == np.float32 and result.attention.shape == self_attn.shape
    np.testing.assert_allclose(result.attention, self_attn, atol=1e-4)
    assert np.all(np.triu(result.attention, 1) == 0)
    if family == "gemma2":  # the sliding window (4) really cut keys off: row 10 of layer 0 has 4 non-zeros
        assert np.count_nonzero(result.attention[0, 0, 10]) == 4 and np.count_nonzero(result.attention[1, 0, 10]) == 11
    if cross is not None:
        np.testing.assert_allclose(result.cross_attention, cross, atol=1e-4)
        np.testing.assert_allclose(result.encoder_attention, encoder, atol=1e-4)
        assert result.encoder_tokens == tokenizer.convert_ids_to_tokens(tokenizer(PROMPT)["input_ids"])
    # probabilities: softmax of the logits at the position that predicted each generated token
    probs = torch.softmax(logits[P - 1 : total - 1].float(), dim=-1)
    chosen = torch.tensor(result.token_ids[P:])
    np.testing.assert_allclose(result.token_probs, probs[torch.arange(NEW), chosen].numpy(), atol=1e-5)
    assert np.all(result.token_probs == [max(p for _, p in alts) for alts in result.top_tokens])  # greedy
    top = torch.topk(probs, TOP_K)
    for s in range(NEW):
        assert [tok for tok, _ in result.top_tokens[s]] == tokenizer.convert_ids_to_tokens(top.indices[s].tolist())
        np.testing.assert_allclose([p for _, p in result.top_tokens[s]], top.values[s].numpy(), atol=1e-5)
    entropy = -(probs * probs.log()).sum(-1)
    np.testing.assert_allclose(result.entropy, entropy.numpy(), atol=1e-4)


def test_sampling_is_reproducible_with_a_seed(tokenizer):
    model = model_for("llama", tokenizer)
    kwargs = dict(max_new_tokens=NEW, do_sample=True, temperature=1.5, eos_token_id=None)
    a = extract_generation(model, tokenizer, PROMPT, seed=3, **kwargs)
    b = extract_generation(model, tokenizer, PROMPT, seed=3, **kwargs)
    c = extract_generation(model, tokenizer, PROMPT, seed=4, **kwargs)
    assert a.token_ids == b.token_ids and a.token_ids != c.token_ids
    np.testing.assert_array_equal(a.attention, b.attention)
    self_attn, _, _, logits = reference(model, tokenizer, a)
    np.testing.assert_allclose(a.attention, self_attn, atol=1e-4)
    # token_probs are the model's own distribution (before temperature), not the sampling one
    P = a.prompt_length
    probs = torch.softmax(logits[P - 1 : -1], -1)[torch.arange(NEW), torch.tensor(a.token_ids[P:])]
    np.testing.assert_allclose(a.token_probs, probs.numpy(), atol=1e-5)


def test_layer_and_head_selection_and_early_stop(tokenizer):
    model = model_for("gpt2", tokenizer)
    full = extract_generation(model, tokenizer, PROMPT, max_new_tokens=NEW, eos_token_id=None)
    part = extract_generation(
        model, tokenizer, PROMPT, max_new_tokens=NEW, layers=[2, 0], heads=[1, 3], eos_token_id=None
    )
    assert part.layer_numbers == [2, 0] and part.head_numbers == [1, 3]
    np.testing.assert_allclose(part.attention, full.attention[np.ix_([2, 0], [1, 3])], atol=1e-6)
    # stop on the first generated token: one step, every array sized to it
    first = full.token_ids[full.prompt_length]
    stopped = extract_generation(model, tokenizer, PROMPT, max_new_tokens=NEW, eos_token_id=first)
    assert len(stopped.tokens) == stopped.prompt_length + 1 and len(stopped.token_probs) == 1
    np.testing.assert_allclose(
        stopped.attention, full.attention[..., : len(stopped.tokens), : len(stopped.tokens)], atol=1e-5
    )


def test_lazy_path_matches_eager(tokenizer):
    model = model_for("llama", tokenizer)
    eager = extract_generation(model, tokenizer, PROMPT, max_new_tokens=NEW, eos_token_id=None)
    lazy = extract_generation(model, tokenizer, PROMPT, max_new_tokens=NEW, eos_token_id=None, lazy=True)
    assert isinstance(lazy.attention, LazyAttention) and lazy.attention.shape == eager.attention.shape
    assert lazy.attention.keys.kv.shape[1] == 2  # keys held once per KV head (4 query heads, 2 KV heads)
    assert lazy.token_ids == eager.token_ids
    np.testing.assert_allclose(np.asarray(lazy.attention), eager.attention, atol=1e-4)
    np.testing.assert_allclose(lazy.token_probs, eager.token_probs, atol=1e-5)
    # automatic above max_memory; refused with the estimate when lazy=False
    auto = extract_generation(model, tokenizer, PROMPT, max_new_tokens=NEW, eos_token_id=None, max_memory=1000)
    assert isinstance(auto.attention, LazyAttention)
    with pytest.raises(AttentionInputError, match="more than max_memory"):
        extract_generation(model, tokenizer, PROMPT, max_new_tokens=NEW, lazy=False, max_memory=1000)
    # a subset of heads (both in KV group 1) and of layers
    part = extract_generation(
        model, tokenizer, PROMPT, max_new_tokens=NEW, eos_token_id=None, lazy=True, layers=[2, 1], heads=[3, 2]
    )
    assert part.attention.keys.kv.shape[1] == 1
    np.testing.assert_allclose(np.asarray(part.attention), eager.attention[np.ix_([2, 1], [3, 2])], atol=1e-4)
    with pytest.raises(AttentionInputError, match="supported model types"):
        extract_generation(model_for("gemma2", tokenizer), tokenizer, PROMPT, lazy=True)


def test_device_map_with_offload(tokenizer, tmp_path):
    pytest.importorskip("accelerate")
    model = model_for("llama", tokenizer)
    model.save_pretrained(tmp_path / "m")
    expected = extract_generation(model, tokenizer, PROMPT, max_new_tokens=NEW, eos_token_id=None)
    device_map = {
        "model.embed_tokens": "cpu",
        "model.layers.0": "cpu",
        "model.layers.1": "disk",
        "model.layers.2": "cpu",
        "model.norm": "cpu",
        "model.rotary_emb": "cpu",
        "lm_head": "disk",
    }
    placed = tf.LlamaForCausalLM.from_pretrained(
        tmp_path / "m", device_map=device_map, offload_folder=str(tmp_path / "off")
    )
    assert "disk" in placed.hf_device_map.values()
    result = extract_generation(placed, tokenizer, PROMPT, max_new_tokens=NEW, eos_token_id=None)
    assert result.token_ids == expected.token_ids
    np.testing.assert_allclose(result.attention, expected.attention, atol=1e-5)


def test_bad_input_gets_clear_errors(tokenizer):
    model = model_for("gpt2", tokenizer)
    with pytest.raises(AttentionInputError, match="prompt is empty"):
        extract_generation(model, tokenizer, "  ")
    with pytest.raises(AttentionInputError, match="exceed the model's context of 128"):
        extract_generation(model, tokenizer, PROMPT, max_new_tokens=200)
    with pytest.raises(AttentionInputError, match="cannot generate"):
        extract_generation(make_model("bert", tokenizer), tokenizer, PROMPT)
    with pytest.raises(TypeError, match="'temprature'; did you mean 'temperature'"):
        extract_generation(model, tokenizer, PROMPT, temprature=0.7)
    with pytest.raises(TypeError, match="'output_attentions'"):
        extract_generation(model, tokenizer, PROMPT, output_attentions=True)
    with pytest.raises(AttentionInputError, match="beam search"):
        extract_generation(model, tokenizer, PROMPT, num_beams=3)
    model.generation_config.num_beams = 4  # many seq2seq checkpoints default to beam search
    with pytest.raises(AttentionInputError, match=r"num_beams=4 \(the model's generation_config\)"):
        extract_generation(model, tokenizer, PROMPT)
    assert (
        len(extract_generation(model, tokenizer, PROMPT, max_new_tokens=2, num_beams=1, eos_token_id=None).token_probs)
        == 2
    )
    with pytest.raises(AttentionInputError, match="max_new_tokens must be a positive int"):
        extract_generation(model, tokenizer, PROMPT, max_new_tokens=0)


def test_from_generate_widget_traits(tokenizer):
    model = model_for("gpt2", tokenizer)
    widget = from_generate(model, tokenizer, PROMPT, max_new_tokens=NEW, eos_token_id=None, theme="dark")
    assert isinstance(widget, GenerationWidget) and widget.view == "generation" and widget.theme == "dark"
    assert widget.prompt_length == len(tokenizer(PROMPT)["input_ids"]) and widget.step == NEW
    assert len(widget.token_probs) == NEW and len(widget.top_tokens[0]) == TOP_K and len(widget.entropy) == NEW
    assert widget.attention_data["self"]["shape"] == [3, 4, widget.prompt_length + NEW, widget.prompt_length + NEW]
    widget.step = 2
    with pytest.raises(SelectionError, match="step 99 is outside 0..8"):
        widget.step = 99
    assert widget.step == 2
    state = widget.get_state()
    assert {"prompt_length", "token_probs", "top_tokens", "entropy", "step"} <= set(state)
    with pytest.raises(AttentionInputError, match="token_probs has 1 entries for 2 generated tokens"):
        GenerationWidget(
            np.full((1, 1, 3, 3), 1 / 3, np.float32),
            ["a", "b", "c"],
            prompt_length=1,
            token_probs=[0.5],
            top_tokens=[[("b", 0.5)]],
            entropy=[1.0],
        )
    widget.view = "head"  # the other views still work
    with pytest.raises(
        TypeError,
        match=r"from_generate\(\) got an unexpected keyword argument 'max_new_token'; did you mean 'max_new_tokens'",
    ):
        from_generate(model, tokenizer, PROMPT, max_new_token=2)
    with pytest.raises(TypeError, match="'stepp'; did you mean 'step'"):
        from_generate(model, tokenizer, PROMPT, stepp=2)
    rollout = from_generate(model, tokenizer, PROMPT, max_new_tokens=2, aggregations=("rollout",), view="model", step=1)
    assert set(rollout.aggregation_data) == {"rollout"} and rollout.view == "model" and rollout.step == 1
    enc_dec = from_generate(model_for("bart", tokenizer), tokenizer, PROMPT, max_new_tokens=4)
    assert (
        enc_dec.prompt_length == 1
        and enc_dec.decoder_tokens
        and set(enc_dec.attention_data) == {"encoder", "decoder", "cross"}
    )


def test_lazy_generation_goes_to_tiles(tokenizer, monkeypatch):
    model = model_for("qwen2", tokenizer)
    eager = extract_generation(model, tokenizer, PROMPT, max_new_tokens=NEW, eos_token_id=None)
    widget = from_generate(
        model, tokenizer, PROMPT, max_new_tokens=NEW, eos_token_id=None, lazy=True, include_layers=[0, 2]
    )
    total = widget.prompt_length + NEW
    assert widget.attention_data["self"].get("tiled") and widget.attention_data["self"]["shape"] == [2, 4, total, total]
    assert widget.num_kv_heads == 2
    # a row as the generation view asks for it (one query row, every key, step 1), through the widget's RPC:
    # computed from q/k on demand
    sent = []
    monkeypatch.setattr(widget, "send", lambda content, buffers=None: sent.append((content, buffers)))
    params = {"kind": "self", "layer": 1, "heads": [0, 3], "q0": 10, "q1": 11, "k0": 0, "k1": total, "step": 1}
    widget._rpc.handle(widget, {"rpc": "request", "id": "row", "method": "tile", "params": params}, [])
    ((content, buffers),) = sent
    assert content["id"] == "row" and "error" not in content
    scale = np.array(content["result"]["scale"], np.float32)[:, None, None] / 255
    row = np.frombuffer(buffers[0], np.uint8).reshape(2, 1, total) * scale
    np.testing.assert_allclose(row, eager.attention[2, [0, 3], 10:11], atol=3e-3)  # uint8 on the wire
