"""AttentionWidget traits, binary transport and BertViz-compatible entry points."""

import json

import numpy as np
import pytest
import traitlets
from helpers import TOKENS, softmax_attention
from IPython.display import HTML

import attn_widget
from attn_widget import AttentionInputError, AttentionWidget, head_view, model_view


def test_attention_travels_as_binary_buffers_not_json_floats():
    from ipywidgets.widgets.widget import _remove_buffers

    def wire(n: int):
        w = AttentionWidget(softmax_attention(layers=2, heads=3, n=n), [f"t{i}" for i in range(n)])
        w.stats_requested = True  # as the browser's summary view or "Colour by" does
        state, paths, buffers = _remove_buffers(w.get_state())
        traits = {k: v for k, v in state.items() if k not in ("_esm", "_css")}  # the renderer source
        return traits, paths, buffers

    state, paths, buffers = wire(5)
    assert len(buffers) == 3 and all(len(b) == 3 * 5 * 5 for b in buffers[:2])  # one uint8 buffer per layer
    assert ["head_stats", "values"] in paths  # and one float32 buffer of head statistics
    assert ["attention_data", "self", "layers", 0] in paths
    assert state["attention_data"]["self"]["layers"] == [None, None]  # bytes left the JSON
    # 10× the tokens: the JSON grows by the token strings only (JSON floats would add ~100 kB).
    assert len(json.dumps(wire(50)[0])) - len(json.dumps(state)) < 1000


def test_float16_encoding_option():
    w = AttentionWidget(softmax_attention(n=5), TOKENS, encoding="float16")
    block = w.attention_data["self"]
    assert block["dtype"] == "float16" and len(block["layers"][0]) == 3 * 25 * 2


def test_defaults_and_selection_traits():
    w = AttentionWidget(softmax_attention(layers=4, heads=3, n=5), TOKENS, sentence_b_start=4)
    assert (w.view, w.layer, w.heads, w.theme, w.attention_filter) == ("head", 0, [0, 1, 2], "auto", "all")
    w.layer = 3
    w.heads = [2, 0, 2]
    assert w.heads == [0, 2]
    with pytest.raises(traitlets.TraitError, match="layer 4 is not shown"):
        w.layer = 4
    with pytest.raises(AttentionInputError, match="head 3, but the model has 3 heads"):
        w.heads = [3]
    with pytest.raises(traitlets.TraitError):
        w.view = "sideways"


def test_include_layers_keeps_model_layer_numbers():
    w = AttentionWidget(softmax_attention(layers=4, n=5), TOKENS, include_layers=[1, 3])
    assert w.layer_numbers == [1, 3] and w.layer == 1 and len(w.attention_data["self"]["layers"]) == 2
    with pytest.raises(AttentionInputError, match="include_layers has layer 7"):
        AttentionWidget(softmax_attention(layers=4, n=5), TOKENS, include_layers=[7])


def test_encoder_decoder_blocks_and_filter_default():
    enc, dec = softmax_attention(n=5), softmax_attention(n=3)
    cross = tuple(np.full((3, 3, 5), 0.2, np.float32) for _ in range(2))
    w = AttentionWidget(
        encoder_attention=enc,
        decoder_attention=dec,
        cross_attention=cross,
        encoder_tokens=TOKENS,
        decoder_tokens=["<s>", "le", "chat"],
    )
    assert set(w.attention_data) == {"encoder", "decoder", "cross"}
    assert w.attention_data["cross"]["shape"] == [2, 3, 3, 5]
    assert w.attention_filter == "encoder" and w.decoder_tokens == ["<s>", "le", "chat"]
    with pytest.raises(AttentionInputError, match="2 decoder_tokens but the attention has 3"):
        AttentionWidget(
            encoder_attention=enc,
            decoder_attention=dec,
            cross_attention=cross,
            encoder_tokens=TOKENS,
            decoder_tokens=["<s>", "le"],
        )


def test_self_attention_must_be_square():
    with pytest.raises(AttentionInputError, match="must be square"):
        AttentionWidget(np.full((1, 1, 2, 3), 1 / 3, np.float32), ["a", "b", "c"])


def test_head_view_return_is_self_contained_html():
    html = head_view(softmax_attention(n=5), ["Ġthe", "cat", "sat", "on", "mat"], html_action="return")
    assert isinstance(html, HTML)
    assert "https://" not in html.data and "require.js" not in html.data  # nothing fetched
    assert '"tokens":[" the","cat"' in html.data  # prettify_tokens=True by default, as in BertViz
    assert "$b64z" in html.data  # binary, compressed, not JSON floats


def test_model_view_options_map_to_traits():
    html = model_view(
        softmax_attention(layers=3, heads=4, n=5),
        TOKENS,
        display_mode="light",
        include_layers=[0, 2],
        include_heads=[1, 3],
        html_action="return",
    )
    assert '"view":"model"' in html.data and '"theme":"light"' in html.data
    assert '"include_heads":[1,3]' in html.data and '"layer_numbers":[0,2]' in html.data
    with pytest.raises(ValueError, match="html_action"):
        model_view(softmax_attention(n=5), TOKENS, html_action="save")


def test_head_view_displays_widget(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    assert head_view(softmax_attention(n=5), TOKENS, layer=1, heads=[0]) is None
    assert isinstance(shown[0], AttentionWidget) and shown[0].layer == 1 and shown[0].heads == [0]


def test_bertviz_signatures_match():
    import inspect

    head = inspect.signature(attn_widget.head_view).parameters
    assert list(head)[:13] == [
        "attention",
        "tokens",
        "sentence_b_start",
        "prettify_tokens",
        "layer",
        "heads",
        "encoder_attention",
        "decoder_attention",
        "cross_attention",
        "encoder_tokens",
        "decoder_tokens",
        "include_layers",
        "html_action",
    ]
    model = inspect.signature(attn_widget.model_view).parameters
    assert model["display_mode"].default == "dark" and model["html_action"].default == "view"
    assert head["prettify_tokens"].default is True


def test_attention_filter_must_apply_to_the_data():
    w = AttentionWidget(softmax_attention(n=5), TOKENS)
    with pytest.raises(traitlets.TraitError, match="'ab' does not apply here; choose one of \\['all'\\]"):
        w.attention_filter = "ab"
    pair = AttentionWidget(softmax_attention(n=5), TOKENS, sentence_b_start=4)
    pair.attention_filter = "ba"
    assert pair.attention_filter == "ba"
