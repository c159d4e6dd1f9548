"""Input normalisation and its errors (attn_widget.arrays), and the uint8/float16 wire encoding."""

import numpy as np
import pytest
import torch
from helpers import softmax_attention

from attn_widget import AttentionInputError, AttentionWidget, quantize_attention
from attn_widget.arrays import check_tokens, prettify_tokens, to_attention_array


def test_tuple_of_batched_layers_becomes_layers_heads_query_key():
    att = softmax_attention(batch=2)
    a = to_attention_array(att, batch_index=1)
    assert a.shape == (2, 3, 5, 5) and a.dtype == np.float32
    np.testing.assert_allclose(a[1], att[1][1].numpy())


def test_numpy_and_stacked_tensor_inputs_agree():
    att = softmax_attention(batch=1)
    stacked = torch.stack(att)  # (layers, batch, heads, q, k)
    np.testing.assert_array_equal(to_attention_array(att), to_attention_array(stacked))
    np.testing.assert_array_equal(to_attention_array(att), to_attention_array(stacked[:, 0].numpy()))


def test_bfloat16_tensors_are_accepted():
    att = tuple(a.to(torch.bfloat16) for a in softmax_attention())
    assert to_attention_array(att).dtype == np.float32


def test_padding_removed_with_attention_mask():
    att = softmax_attention(batch=1, n=6)
    mask = torch.tensor([[1, 1, 1, 1, 0, 0]])
    a = to_attention_array(att, query_mask=mask, key_mask=mask)
    assert a.shape == (2, 3, 4, 4)
    w = AttentionWidget(att, ["a", "b", "c", "d", "[PAD]", "[PAD]"], attention_mask=mask)
    assert w.tokens == ["a", "b", "c", "d"]
    assert w.attention_data["self"]["shape"] == [2, 3, 4, 4]


@pytest.mark.parametrize(
    "bad, message",
    [
        ((), "empty .*sdpa"),
        ([np.ones((3, 3))], "rank 2"),
        (np.ones((3, 3, 3)), "rank 3"),
        ([np.ones((2, 3, 3)), np.ones((2, 4, 4))], "differ in shape"),
        (np.full((1, 1, 2, 2), np.nan), "NaN"),
        (np.array([[[[0.5, -0.5], [1, 0]]]]), "negative"),
        (np.ones((1, 1, 0, 0)), "no weights"),
    ],
)
def test_bad_attention_gets_a_specific_error(bad, message):
    with pytest.raises(AttentionInputError, match=message):
        to_attention_array(bad)


def test_batch_index_out_of_range():
    with pytest.raises(AttentionInputError, match="batch_index 3 is out of range"):
        to_attention_array(softmax_attention(batch=2), batch_index=3)


def test_token_count_mismatch():
    with pytest.raises(AttentionInputError, match="4 tokens but the attention has 5 key positions"):
        AttentionWidget(softmax_attention(), ["a", "b", "c", "d"])
    with pytest.raises(AttentionInputError, match="tokens is required"):
        check_tokens(None, 3, "key")


def test_prettify_tokens_like_bertviz():
    assert prettify_tokens(["Ġthe", "▁cat", "sat</w>"]) == [" the", " cat", "sat"]


@pytest.mark.parametrize("dtype, tol", [("uint8", 1 / 510 + 1e-7), ("float16", 1e-3)])
def test_quantize_round_trip_error_is_bounded(dtype, tol):
    a = to_attention_array(softmax_attention(layers=3, heads=4, n=40))
    q = quantize_attention(a, dtype)
    assert len(q.layers) == 3 and all(isinstance(b, bytes) for b in q.layers)
    assert q.nbytes == a.size * (1 if dtype == "uint8" else 2)
    err = np.abs(q.dequantize() - a) / q.scale[:, :, None, None]
    assert err.max() <= tol


def test_quantize_rejects_unknown_dtype():
    with pytest.raises(ValueError, match="dtype must be one of"):
        quantize_attention(np.zeros((1, 1, 2, 2), np.float32), "int4")
