"""LazyAttention from captured q/k equals the model's attention; pooled tiles keep peaks."""

import numpy as np
import pytest
import torch

from attn_widget import extract_attention
from attn_widget.lazy import LazyAttention, pool_max, thumbnails, tile
from attn_widget.qk import capture_qk
from tiny_models import make_model


@pytest.mark.parametrize("family", ["bert", "gpt2", "llama"])
def test_lazy_attention_equals_model_attention(tokenizer, family):
    model = make_model(family, tokenizer, initializer_range=0.3)
    text = "the cat sat on the mat and the dog ran to the park"
    eager = extract_attention(model, tokenizer, text).attention
    with capture_qk(model) as capture, torch.no_grad():  # the default sdpa path: no weights materialised
        model(**tokenizer(text, return_tensors="pt"))
    q, k = capture.arrays()
    causal = family != "bert"
    lazy = LazyAttention(q, k, capture.scaling, causal=causal)
    assert lazy.shape == eager.shape
    np.testing.assert_allclose(np.asarray(lazy), eager, atol=1e-5)
    np.testing.assert_allclose(lazy.rows(1, [3, 0], 4, 9), eager[1, [3, 0], 4:9], atol=1e-5)


def test_pool_max_pads_edges_and_keeps_peaks():
    a = np.zeros((2, 5, 7), np.float32)
    a[1, 4, 6] = 0.9
    a[0, 0, 0] = 0.2
    p = pool_max(a, 3)
    assert p.shape == (2, 2, 3)
    assert p[1, 1, 2] == pytest.approx(0.9) and p[0, 0, 0] == pytest.approx(0.2) and p.sum() == pytest.approx(1.1)


def test_tile_of_lazy_source_matches_pooled_dense_window():
    rng = np.random.default_rng(0)
    q, k = rng.normal(size=(2, 3, 700, 4)).astype(np.float32), rng.normal(size=(2, 3, 700, 4)).astype(np.float32)
    lazy = LazyAttention(q, k, [0.5, 0.5], causal=True)
    dense = np.asarray(lazy)
    got = tile(lazy, 1, [2, 0], 100, 650, 20, 600, 4)  # spans two ROW_CHUNKs
    want = pool_max(dense[1, [2, 0], 100:650, 20:600], 4)
    np.testing.assert_allclose(got, want, atol=1e-6)
    thumbs, step = thumbnails(dense, 64)
    assert step == 11 and thumbs[0].shape == (3, 64, 64)
    assert thumbs[1].max() == pytest.approx(dense[1].max())
