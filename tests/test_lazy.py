"""LazyAttention from captured q/k equals the model's attention; pooled tiles keep peaks."""

import numpy as np
import pytest
import torch
from tiny_models import make_model

from attn_widget import extract_attention
from attn_widget.arrays import LazyAttention, pool_max, thumbnails, tile
from attn_widget.models import capture_projections


@pytest.mark.parametrize("family", ["bert", "gpt2", "llama"])
def test_lazy_attention_equals_model_attention(tokenizer, family):
    model = make_model(family, tokenizer, initializer_range=0.3)
    text = "the cat sat on the mat and the dog ran to the park"
    eager = extract_attention(model, tokenizer, text).attention
    with capture_projections(model) as capture, torch.no_grad():  # the default sdpa path: no weights materialised
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


def test_widget_tiles_transport_sends_thumbnails_not_weights(monkeypatch):
    from ipywidgets.widgets.widget import _remove_buffers

    import attn_widget.build as build_module
    from attn_widget import AttentionWidget

    rng = np.random.default_rng(1)
    a = rng.random((3, 4, 300, 300)).astype(np.float32) ** 6
    a /= a.sum(-1, keepdims=True)
    tokens = [f"t{i}" for i in range(300)]
    monkeypatch.setattr(build_module, "FULL_TRANSPORT_MAX_BYTES", a.size - 1)  # just over the cap
    w = AttentionWidget(a, tokens)
    block = w.attention_data["self"]
    assert block["tiled"] and block["layers"] == [] and block["thumbs"]["shape"] == [60, 60]
    _, _, buffers = _remove_buffers(w.get_state())
    assert sum(len(b) for b in buffers) == 3 * 4 * 60 * 60  # thumbnails only
    # A full-resolution window served on request equals the weights.
    window = w._tile_server.window(
        {"kind": "self", "layer": 2, "heads": [3, 1], "q0": 10, "q1": 50, "k0": 0, "k1": 300, "step": 1}
    )
    np.testing.assert_array_equal(window, a[2, [3, 1], 10:50])
    assert AttentionWidget(a, tokens, transport="full").attention_data["self"].get("tiled") is None


@pytest.mark.parametrize(
    "request_, message",
    [
        ({"layer": 5}, "outside"),
        ({"q1": 999}, "outside"),
        ({"heads": [9]}, "head 9"),
        ({"step": 0}, "outside"),
        ({"kind": "cross"}, "cross"),
    ],
)
def test_bad_tile_requests_are_refused(request_, message):
    from attn_widget import AttentionWidget

    a = np.full((2, 2, 20, 20), 1 / 20, np.float32)
    w = AttentionWidget(a, [str(i) for i in range(20)], transport="tiles")
    req = {"kind": "self", "layer": 0, "heads": [0], "q0": 0, "q1": 20, "k0": 0, "k1": 20, "step": 1, **request_}
    with pytest.raises(Exception, match=message):
        w._tile_server.window(req)


def test_lazy_attention_goes_to_the_widget_as_tiles(tokenizer):
    from attn_widget import AttentionWidget

    model = make_model("llama", tokenizer)
    with capture_projections(model) as capture, torch.no_grad():
        model(**tokenizer("the cat sat on the mat", return_tensors="pt"))
    lazy = LazyAttention(*capture.arrays(), capture.scaling, causal=True)
    w = AttentionWidget(
        lazy, tokenizer.convert_ids_to_tokens(tokenizer("the cat sat on the mat")["input_ids"]), include_layers=[2]
    )
    assert w.attention_data["self"]["tiled"] and w.layer_numbers == [2]
    with pytest.raises(ValueError, match="sent as tiles"):
        AttentionWidget(lazy, [str(i) for i in range(lazy.shape[2])], transport="full")


def test_tiled_widget_exports_thumbnails_and_a_preview(tmp_path):
    from attn_widget import AttentionWidget
    from attn_widget.export import preview_png

    a = np.zeros((2, 3, 200, 200), np.float32)
    a[:, :, np.arange(200), np.arange(200)] = 1.0  # diagonal
    w = AttentionWidget(a, [str(i) for i in range(200)], transport="tiles")
    png = preview_png(w.wire_state())
    assert png.startswith(b"\x89PNG") and len(png) > 100
    html = w.to_html()
    assert '"tiled":true' in html and "$b64z" in html


def test_causal_windows_right_of_the_rows_are_zero_and_shaped():
    rng = np.random.default_rng(3)
    q, k = rng.normal(size=(1, 2, 300, 4)).astype(np.float32), rng.normal(size=(1, 2, 300, 4)).astype(np.float32)
    lazy = LazyAttention(q, k, [0.5], causal=True)
    dense = np.asarray(lazy)
    for window in ((0, 50, 100, 300, 3), (0, 300, 0, 300, 7), (140, 290, 130, 260, 4)):
        q0, q1, k0, k1, step = window
        np.testing.assert_allclose(
            tile(lazy, 0, [1, 0], q0, q1, k0, k1, step), pool_max(dense[0, [1, 0], q0:q1, k0:k1], step), atol=1e-6
        )


def test_tile_step_larger_than_the_window_is_refused():
    from attn_widget import AttentionWidget

    w = AttentionWidget(np.full((1, 1, 100, 100), 0.01, np.float32), [str(i) for i in range(100)], transport="tiles")
    with pytest.raises(Exception, match="outside"):
        w._tile_server.window(
            {"kind": "self", "layer": 0, "heads": [0], "q0": 0, "q1": 100, "k0": 0, "k1": 100, "step": 10**9}
        )
