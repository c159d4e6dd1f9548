"""The browser format against attn_widget/wire_schema.json (the TypeScript side checks the same file),
and the one RPC envelope: tiles answered by the kernel, images asked of the browser."""

import json
from importlib import resources

import numpy as np
import pytest
from helpers import TOKENS, softmax_attention

from attn_widget import AttentionWidget
from attn_widget.arrays import AttentionResult
from attn_widget.errors import SelectionError
from attn_widget.generation_widget import GenerationWidget
from attn_widget.wire import ONE_WAY, SCHEMA, TWO_WAY, QuantizedAttention, enum_values, synced_traits

TILE = {"kind": "self", "layer": 1, "heads": [2, 0], "q0": 0, "q1": 20, "k0": 4, "k1": 20, "step": 3}


class SentMessages:
    """Stands in for the comm's sending side only: records what the widget sends (the dispatch is real)."""

    def __init__(self, widget: AttentionWidget, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent: list[tuple[dict, list]] = []
        monkeypatch.setattr(
            widget, "send", lambda content, buffers=None: self.sent.append((content, list(buffers or [])))
        )


def test_schema_ships_as_package_data_and_is_the_one_python_reads():
    text = resources.files("attn_widget").joinpath("wire_schema.json").read_text(encoding="utf-8")
    assert json.loads(text) == SCHEMA and SCHEMA["version"] == 1


def synced_by(widget_class: type) -> set[str]:
    synced = {name for name in widget_class.class_trait_names(sync=True) if not name.startswith("_")}
    return synced - set(AttentionWidget.__mro__[1].class_trait_names(sync=True))  # anywidget's/ipywidgets' own traits


def test_synced_traits_match_the_schema_names_and_directions():
    # AttentionWidget syncs the schema's traits but those marked for a subclass; GenerationWidget all of them.
    assert synced_by(AttentionWidget) == set(synced_traits()) < set(SCHEMA["traits"])
    assert synced_by(GenerationWidget) == set(synced_traits("GenerationWidget")) == set(SCHEMA["traits"])
    subclass_only = {n for n, s in SCHEMA["traits"].items() if s.get("subclass") == "GenerationWidget"}
    assert (
        subclass_only
        == synced_by(GenerationWidget) - synced_by(AttentionWidget)
        == {"prompt_length", "token_probs", "top_tokens", "entropy"}
    )
    # `step` is shared: the training step of a from_run widget, the generated tokens of a GenerationWidget.
    assert "step" in synced_by(AttentionWidget) and "subclass" not in SCHEMA["traits"]["step"]
    widget = AttentionWidget(softmax_attention(n=5), TOKENS)
    # Two-way traits are what the browser may set: the validated selections (and the stats request).
    for name in TWO_WAY:
        assert name in (
            "stats_requested",
            "view",
            "aggregation",
            "hide_special",
            "layer",
            "heads",
            "head",
            "include_heads",
            "attention_filter",
            "mode",
            "theme",
            "step",
        )
    assert set(TWO_WAY) | set(ONE_WAY) == set(SCHEMA["traits"]) and not set(TWO_WAY) & set(ONE_WAY)
    generation = GenerationWidget(
        softmax_attention(n=5), TOKENS, prompt_length=3, token_probs=[0.5, 0.25], top_tokens=[[]] * 2, entropy=[1, 2]
    )
    for name, spec in SCHEMA["traits"].items():
        if spec["type"] == "enum":
            assert list(widget.traits()[name].values) == spec["values"], name
            extra = spec.get("subclass_values", {}).get("GenerationWidget", [])
            assert list(generation.traits()[name].values) == spec["values"] + extra, name
    assert enum_values("view", "GenerationWidget")[-1] == "generation" and "generation" not in enum_values("view")
    with pytest.raises(SelectionError, match="view 'generation' is not one of"):
        widget.view = "generation"
    # What the browser and exported pages get: each widget's own traits, nothing missing.
    assert set(widget.wire_state()) == set(synced_traits())
    assert set(generation.wire_state()) == set(SCHEMA["traits"]) and generation.wire_state()["step"] == 2


def check_block(block: dict) -> None:
    schema = SCHEMA["block"]
    assert set(schema["fields"]) <= set(block) <= set(schema["fields"]) | set(schema["optional"])
    assert block["dtype"] in schema["dtypes"]
    layers, heads, q, k = block["shape"]
    assert np.asarray(block["scale"]).shape == (layers, heads)
    if block.get("tiled"):
        assert block["layers"] == [] and set(block["thumbs"]) == set(schema["thumbs_fields"])
        rows, cols = block["thumbs"]["shape"]
        assert all(len(b) == heads * rows * cols for b in block["thumbs"]["layers"])
    else:
        assert all(
            isinstance(b, bytes) and len(b) == heads * q * k * schema["dtypes"][block["dtype"]]["bytes"]
            for b in block["layers"]
        )


def test_encoded_blocks_neuron_and_stats_follow_the_schema():
    a = softmax_attention(layers=2, heads=3, n=5)
    for encoding in ("uint8", "float16"):
        w = AttentionWidget(a, TOKENS, encoding=encoding, aggregations=("rollout",))
        for block in (*w.attention_data.values(), *w.aggregation_data.values()):
            check_block(block)
        np.testing.assert_allclose(
            QuantizedAttention.from_state(w.attention_data["self"]).dequantize(), np.stack(a), atol=2e-3
        )
    check_block(AttentionWidget(a, TOKENS, transport="tiles").attention_data["self"])
    rng = np.random.default_rng(0)
    qk = rng.standard_normal((2, 2, 3, 5, 4), dtype=np.float32)
    result = AttentionResult(tokens=TOKENS, attention=np.stack(a), queries=qk[0], keys=qk[1])
    w = AttentionWidget.from_result(result, stats_requested=True)
    assert set(w.neuron_data) == set(SCHEMA["neuron"]["fields"]) and w.neuron_data["dtype"] == "float16"
    assert set(w.head_stats) == set(SCHEMA["stats"]["fields"])
    names, (layers, heads) = w.head_stats["names"], w.head_stats["shape"]
    assert len(w.head_stats["values"]) == len(names) * layers * heads * 4  # float32


def test_tile_request_is_answered_with_a_result_and_one_buffer(monkeypatch):
    a = np.stack(softmax_attention(layers=2, heads=3, n=20))
    w = AttentionWidget(a, [f"t{i}" for i in range(20)], transport="tiles")
    out = SentMessages(w, monkeypatch)
    w._rpc.handle(w, {"rpc": "request", "id": "7", "method": "tile", "params": TILE}, [])
    ((content, buffers),) = out.sent
    assert content["rpc"] == "response" and content["id"] == "7" and "error" not in content
    assert set(content["result"]) == set(SCHEMA["rpc"]["methods"]["tile"]["result"])
    rows, cols = content["result"]["rows"], content["result"]["cols"]
    assert (rows, cols) == (7, 6) and len(buffers) == 1 and len(buffers[0]) == 2 * rows * cols
    tile = (
        np.frombuffer(buffers[0], np.uint8).reshape(2, rows, cols)
        * (np.array(content["result"]["scale"]) / 255)[:, None, None]
    )
    expected = np.zeros((2, 21, 18), np.float32)
    expected[:, :20, :16] = a[1, [2, 0], 0:20, 4:20]
    np.testing.assert_allclose(tile, expected.reshape(2, 7, 3, 6, 3).max(axis=(2, 4)), atol=2e-3)


@pytest.mark.parametrize(
    "request_, message",
    [
        ({"method": "tile", "params": {**TILE, "kind": "nope"}}, "tile kind 'nope' is not one of ['self']"),
        ({"method": "tile", "params": {"kind": "self"}}, "tile request lacks ['layer', 'heads'"),
        ({"method": "tile", "params": {**TILE, "layer": "x"}}, "whole numbers"),
        ({"method": "tile", "params": {**TILE, "heads": [9]}}, "heads has head 9"),
        ({"method": "tile", "params": "not an object"}, "must be an object"),
        ({"method": "draw"}, "unknown method 'draw'; this widget answers ['tile']"),
    ],
)
def test_bad_requests_answer_an_error_message_not_a_traceback(monkeypatch, request_, message):
    w = AttentionWidget(
        np.stack(softmax_attention(layers=2, heads=3, n=20)), [f"t{i}" for i in range(20)], transport="tiles"
    )
    out = SentMessages(w, monkeypatch)
    w._rpc.handle(w, {"rpc": "request", "id": 3, **request_}, [])
    ((content, buffers),) = out.sent
    assert content["rpc"] == "response" and content["id"] == 3 and "result" not in content and buffers == []
    assert message in content["error"] and "Traceback" not in content["error"]


def test_full_transport_widget_serves_no_tiles(monkeypatch):
    w = AttentionWidget(softmax_attention(n=5), TOKENS)
    out = SentMessages(w, monkeypatch)
    w._rpc.handle(w, {"rpc": "request", "id": "1", "method": "tile", "params": {**TILE, "layer": 0}}, [])
    assert "unknown method 'tile'" in out.sent[0][0]["error"]


def test_save_image_asks_the_browser_and_writes_its_answer(tmp_path, monkeypatch):
    w = AttentionWidget(softmax_attention(n=5), TOKENS)
    out = SentMessages(w, monkeypatch)
    future = w.save_image(tmp_path / "view.svg", timeout=30)
    ((request, _),) = out.sent
    assert request == {"rpc": "request", "id": request["id"], "method": "image", "params": {"format": "svg"}}
    w._rpc.handle(w, {"rpc": "response", "id": "someone else's", "result": {"format": "svg"}}, [b"<svg/>!"])
    assert not future.done()  # answers to other requests are not taken
    w._rpc.handle(w, {"rpc": "response", "id": request["id"], "result": {"format": "svg"}}, [memoryview(b"<svg/>")])
    assert future.result(timeout=5) == tmp_path / "view.svg" and (tmp_path / "view.svg").read_bytes() == b"<svg/>"
    w._rpc.handle(w, {"rpc": "response", "id": request["id"], "result": {}}, [b"late"])  # a second view: ignored
    assert (tmp_path / "view.svg").read_bytes() == b"<svg/>"

    failing = w.save_image(tmp_path / "view.png", timeout=30)
    w._rpc.handle(w, {"rpc": "response", "id": out.sent[-1][0]["id"], "error": "canvas is empty"}, [])
    with pytest.raises(RuntimeError, match="the view could not draw the image: canvas is empty"):
        failing.result(timeout=5)
    assert not (tmp_path / "view.png").exists()
