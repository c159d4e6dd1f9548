"""extract_attention / from_model on real transformers classes with small random configs."""

import numpy as np
import pytest
import torch
from tiny_models import HEADS, LAYERS, make_model

from attn_widget import AttentionInputError, AttentionWidget, extract_attention, from_model


def eager_reference(model, **inputs):
    """Attention from an eager copy of the same weights (what extraction must reproduce)."""
    model.set_attn_implementation("eager")
    try:
        with torch.no_grad():
            return model(**inputs, output_attentions=True)
    finally:
        model.set_attn_implementation("sdpa")


def test_sdpa_model_returns_nothing_without_us(tokenizer):
    model = make_model("bert", tokenizer)
    assert model.config._attn_implementation == "sdpa"
    with torch.no_grad():
        out = model(**tokenizer("the cat", return_tensors="pt"), output_attentions=True)
    assert not out.attentions  # the trap extraction has to avoid


def test_bert_sentence_pair_from_sdpa_model(tokenizer):
    model = make_model("bert", tokenizer)
    model.train()  # extraction must use eval mode (no dropout) and give training mode back
    r = extract_attention(model, tokenizer, "the cat sat on the mat", "a dog ran")
    assert r.tokens[0] == "[CLS]" and r.tokens[r.sentence_b_start - 1] == "[SEP]"
    assert r.tokens[r.sentence_b_start :] == ["a", "dog", "ran", "[SEP]"]
    n = len(r.tokens)
    assert r.attention.shape == (LAYERS, HEADS, n, n) and r.attention.dtype == np.float32
    np.testing.assert_allclose(r.attention.sum(-1), 1, atol=1e-5)
    assert model.config._attn_implementation == "sdpa" and model.training
    model.eval()
    ref = eager_reference(model, **tokenizer("the cat sat on the mat", "a dog ran", return_tensors="pt"))
    np.testing.assert_allclose(r.attention, torch.stack(ref.attentions)[:, 0].numpy(), atol=1e-6)


def test_gpt2_attention_is_causal(tokenizer):
    r = extract_attention(make_model("gpt2", tokenizer), tokenizer, "the cat sat on the mat")
    upper = np.triu(np.ones(r.attention.shape[-2:], bool), k=1)
    assert r.attention[..., upper].max() == 0
    assert r.sentence_b_start is None


@pytest.mark.parametrize("family", ["bart", "t5"])
def test_encoder_decoder_gives_three_blocks(tokenizer, family):
    r = extract_attention(make_model(family, tokenizer), tokenizer, "the cat sat on the mat", decoder_text="a cat")
    ne, nd = len(r.encoder_tokens), len(r.decoder_tokens)
    assert r.is_encoder_decoder
    assert r.encoder_attention.shape == (LAYERS, HEADS, ne, ne)
    assert r.decoder_attention.shape == (LAYERS, HEADS, nd, nd)
    assert r.cross_attention.shape == (LAYERS, HEADS, nd, ne)
    w = AttentionWidget(**r.widget_kwargs())
    assert set(w.attention_data) == {"encoder", "decoder", "cross"}


def test_llama_grouped_kv_heads_give_one_map_per_query_head(tokenizer):
    model = make_model("llama", tokenizer)
    assert model.config.num_key_value_heads == 2
    r = extract_attention(model, tokenizer, "the cat sat on the mat")
    assert r.attention.shape[:2] == (LAYERS, HEADS)
    # Heads sharing a KV group still differ (their queries differ).
    assert not np.allclose(r.attention[0, 0], r.attention[0, 1])


def test_from_model_builds_the_widget(tokenizer):
    w = from_model(make_model("roberta", tokenizer), tokenizer, "the cat sat", view="model", include_layers=[0, 2])
    assert isinstance(w, AttentionWidget) and w.view == "model" and w.layer_numbers == [0, 2]
    assert w.tokens[0] == "[CLS]"


def test_batched_padded_outputs_through_widget(tokenizer):
    model = make_model("bert", tokenizer)
    enc = tokenizer(["the cat sat on the mat", "a dog"], padding=True, return_tensors="pt")
    model.set_attn_implementation("eager")
    with torch.no_grad():
        out = model(**enc, output_attentions=True)
    tokens = tokenizer.convert_ids_to_tokens(enc["input_ids"][1])
    assert "[PAD]" in tokens
    w = AttentionWidget(out.attentions, tokens, batch_index=1, attention_mask=enc["attention_mask"])
    assert w.tokens == ["[CLS]", "a", "dog", "[SEP]"]
    assert w.attention_data["self"]["shape"] == [LAYERS, HEADS, 4, 4]


def test_empty_attentions_from_sdpa_get_the_hint(tokenizer):
    model = make_model("gpt2", tokenizer)
    with torch.no_grad():
        out = model(**tokenizer("the cat", return_tensors="pt"), output_attentions=True)
    with pytest.raises(AttentionInputError, match="set_attn_implementation\\('eager'\\)"):
        AttentionWidget(out.attentions, ["the", "cat"])


def test_model_restored_when_forward_fails(tokenizer):
    model = make_model("gpt2", tokenizer)
    with pytest.raises(IndexError):  # position embeddings run out
        extract_attention(model, tokenizer, " ".join(["the"] * 200))  # longer than n_positions=128
    assert model.config._attn_implementation == "sdpa"


def test_layers_and_heads_keep_model_numbers(tokenizer):
    model = make_model("bert", tokenizer)
    full = extract_attention(model, tokenizer, "the cat sat on the mat")
    part = extract_attention(model, tokenizer, "the cat sat on the mat", layers=[2, 0], heads=[3])
    assert part.attention.shape == (2, 1, *full.attention.shape[2:])
    np.testing.assert_array_equal(part.attention, full.attention[[2, 0]][:, [3]])
    w = AttentionWidget.from_result(part)
    assert w.layer_numbers == [2, 0] and w.head_numbers == [3] and w.layer == 2
    with pytest.raises(AttentionInputError, match="layers has layer 5, but the model has 3 layers"):
        extract_attention(model, tokenizer, "the cat", layers=[5])


@pytest.mark.parametrize("family", ["gpt2", "llama"])
def test_over_the_memory_limit_goes_lazy_and_matches(tokenizer, family):
    from attn_widget.arrays import LazyAttention

    model = make_model(family, tokenizer, initializer_range=0.3)
    text = "the cat sat on the mat and the dog ran to the park"
    eager = extract_attention(model, tokenizer, text).attention
    lazy = extract_attention(model, tokenizer, text, max_memory=5000, layers=[1, 2])  # one layer fits, all do not
    assert isinstance(lazy.attention, LazyAttention) and lazy.layer_numbers == [1, 2]
    np.testing.assert_allclose(np.asarray(lazy.attention), eager[[1, 2]], atol=1e-5)
    assert model.config._attn_implementation == "sdpa"
    w = AttentionWidget.from_result(lazy)
    assert w.attention_data["self"]["tiled"] and w.layer_numbers == [1, 2]


def test_refuses_with_the_estimate_instead_of_crashing(tokenizer):
    model = make_model("bert", tokenizer)
    with pytest.raises(
        AttentionInputError,
        match=r"needs 3\.00 KiB \(all 3 layers × 4 heads × 8² × 4 bytes\), more than max_memory=100 B.*lazy=True",
    ):
        extract_attention(model, tokenizer, "the cat sat on the mat", lazy=False, max_memory=100)


def test_from_model_passes_selection_and_memory_limit(tokenizer):
    model = make_model("gpt2", tokenizer)
    w = from_model(model, tokenizer, "the cat sat on the mat", layers=[1], heads=[2], max_memory=10**9)
    assert w.layer_numbers == [1] and w.heads == [2] and w.head_numbers == []  # heads= selects, as in BertViz
    with pytest.raises(AttentionInputError, match="layers apply to self-attention models"):
        from_model(make_model("bart", tokenizer), tokenizer, "the cat", layers=[0])
    with pytest.raises(
        AttentionInputError, match="> max_memory=100 B\\): the neuron view needs the model's own attention weights"
    ):
        from_model(model, tokenizer, "the cat sat on the mat", view="neuron", max_memory=100)


def test_diff_accepts_encoding_and_its_preview_shows_magnitudes(tokenizer):
    from attn_widget.export import preview_png

    model = make_model("bert", tokenizer)
    a = extract_attention(model, tokenizer, "the cat sat on the mat")
    b = extract_attention(model, tokenizer, "the dog sat on the mat")
    w = AttentionWidget.diff(a, b, encoding="uint8")
    assert w.attention_data["self"]["dtype"] == "float16" and "cat|dog" in w.tokens
    assert preview_png(w.wire_state()).startswith(b"\x89PNG")


def test_user_review_cases(tokenizer):
    """Selections, GQA grouping and messages found by trying the API as a user."""
    llama = make_model("llama", tokenizer)
    w = from_model(llama, tokenizer, "the cat sat on the mat", layers=[1, 2], aggregations="value")
    assert w.layer_numbers == [1, 2] and w.aggregation_data["value"]["shape"][0] == 2 and w.num_kv_heads == 2
    with pytest.raises(AttentionInputError, match="include_layers is empty"):
        from_model(llama, tokenizer, "the cat", include_layers=[])
    with pytest.raises(AttentionInputError, match="lazy=True was asked for: the neuron view"):
        extract_attention(llama, tokenizer, "the cat sat", lazy=True, with_qk=True)
    gpt2 = make_model("gpt2", tokenizer)
    one_head = extract_attention(
        gpt2, tokenizer, "the cat sat on the mat . the cat sat", lazy=True, max_memory=1500, heads=[0]
    )
    assert one_head.attention.shape[1] == 1  # the per-layer check counts the selected heads only
    a = extract_attention(gpt2, tokenizer, "the cat sat", layers=[1, 2])
    assert AttentionWidget.diff(a, a, signed=True).layer_numbers == [1, 2]
    cross = extract_attention(make_model("bart", tokenizer), tokenizer, "the cat sat", decoder_text="a dog")
    only_cross = AttentionWidget(
        cross_attention=cross.cross_attention, encoder_tokens=cross.encoder_tokens, decoder_tokens=cross.decoder_tokens
    )
    assert only_cross.attention_filter == "cross"


def test_head_selection_errors_name_the_extracted_heads(tokenizer):
    result = extract_attention(make_model("gpt2", tokenizer), tokenizer, "the cat sat on the mat", heads=[3, 1])
    w = AttentionWidget.from_result(result)
    w.heads = [1]  # positions in the stored heads: model head 1
    with pytest.raises(AttentionInputError, match=r"heads selects positions 0..1 among the extracted heads \[3, 1\]"):
        w.heads = [3]
