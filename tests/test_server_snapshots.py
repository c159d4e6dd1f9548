"""The training timeline's REST handlers against a real Jupyter server (pytest-jupyter), on a run written by
``log_attention`` with a real (tiny, random) ``transformers`` GPT-2 through torch's SummaryWriter."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path

import numpy as np
import pytest
from jupyter_server.utils import url_path_join
from test_server_runs import error_of, get_json, jp_server_config, on_server_loop  # noqa: F401 - a fixture
from tiny_models import make_model, make_tokenizer
from torch.utils.tensorboard import SummaryWriter
from tornado.httpclient import HTTPClientError

from attn_widget.tensorboard import log_attention, read_attention

pytest_plugins = ("pytest_jupyter.jupyter_server",)

PROBES = ["the cat sat on the mat", "a bird sang"]


@pytest.fixture
def logs(jp_root_dir: Path, tmp_path: Path) -> Path:
    """root/logs/trained: loss at steps 0..29 and snapshots of two probes at steps 10 and 20; root/logs/plain:
    scalars only."""
    logs = jp_root_dir / "logs"
    tokenizer = make_tokenizer(tmp_path)
    model = make_model("gpt2", tokenizer)
    with SummaryWriter(str(logs / "trained")) as writer:
        for step in range(30):
            writer.add_scalar("loss", 3.0 - step * 0.05, step)
            if step in (10, 20):
                log_attention(writer, step, model, tokenizer, PROBES)
    with SummaryWriter(str(logs / "plain")) as writer:
        writer.add_scalar("loss", 1.0, 0)
    return logs


@on_server_loop
async def test_listing_marks_runs_with_snapshots(jp_fetch, logs):
    runs = {r["name"]: r for r in (await get_json(jp_fetch, "runs", logdir="logs"))["runs"]}
    assert runs["logs/trained"]["snapshots"] == len(PROBES)
    assert runs["logs/plain"]["snapshots"] == 0
    assert "attention/induction_score/L0H0" in runs["logs/trained"]["tags"]


@on_server_loop
async def test_steps_texts_and_one_snapshot_in_compact_form(jp_fetch, logs):
    steps = await get_json(jp_fetch, "snapshots", run="logs/trained")
    assert steps["steps"] == [10, 20] and steps["texts"] == PROBES
    layers, heads, n, _ = steps["shape"]
    assert steps["layer_numbers"] == list(range(layers))

    answer = await get_json(jp_fetch, "snapshots", "attention", run="logs/trained", step="20", text="1")
    expected = read_attention(logs / "trained").get(20, 1)
    assert answer["step"] == 20 and answer["text"] == PROBES[1] and answer["tokens"] == expected.tokens
    data = np.frombuffer(base64.b64decode(answer["data"]), np.uint8).reshape(answer["shape"])
    weights = data / np.float32(255) * np.array(answer["scale"], np.float32)[:, :, None, None]
    np.testing.assert_allclose(weights, expected.attention, atol=1 / 510 + 1e-6)
    assert answer["shape"] == list(expected.shape)


def unframe(body: bytes) -> tuple[dict, np.ndarray]:
    """Metadata and uint8 block (layers, heads, query, key) of a binary answer: uint32 LE header length,
    that UTF-8 JSON, the block."""
    (length,) = struct.unpack_from("<I", body)
    meta = json.loads(body[4 : 4 + length].decode("utf-8"))
    return meta, np.frombuffer(body[4 + length :], np.uint8).reshape(meta["shape"])


@on_server_loop
async def test_binary_form_carries_the_same_snapshot_without_base64(jp_fetch, logs):
    params = {"run": "logs/trained", "step": "10", "text": "0"}
    as_json = await get_json(jp_fetch, "snapshots", "attention", **params)
    by_accept = await jp_fetch(
        "attn-widget", "snapshots", "attention", params=params, headers={"Accept": "application/octet-stream"}
    )
    by_query = await jp_fetch("attn-widget", "snapshots", "attention", params={**params, "format": "binary"})
    for response in (by_accept, by_query):
        assert response.code == 200 and response.headers["Content-Type"] == "application/octet-stream"
        meta, block = unframe(response.body)
        assert meta == {k: v for k, v in as_json.items() if k != "data"}
        assert block.tobytes() == base64.b64decode(as_json["data"])
        assert len(response.body) == 4 + len(json.dumps(meta).encode()) + block.size  # raw bytes, no base64
    expected = read_attention(logs / "trained").get(10, 0)
    weights = block / np.float32(255) * np.array(meta["scale"], np.float32)[:, :, None, None]
    np.testing.assert_allclose(weights, expected.attention, atol=1 / 510 + 1e-6)
    forced = await jp_fetch(
        "attn-widget",
        "snapshots",
        "attention",
        params={**params, "format": "json"},
        headers={"Accept": "application/octet-stream"},
    )
    assert forced.headers["Content-Type"].startswith("application/json") and json.loads(forced.body) == as_json


@on_server_loop
async def test_binary_requests_get_json_errors(jp_fetch, logs):
    binary = {"Accept": "application/octet-stream"}
    cases = [
        ({"run": "logs/trained", "step": "15"}, 404, "no attention snapshot at step 15"),
        ({"run": "logs/trained", "step": "ten"}, 400, "integers"),
        ({"run": "../outside", "step": "10"}, 400, "'..'"),
        ({"run": "logs/trained", "step": "10", "format": "png"}, 400, "format must be 'json' or 'binary'"),
    ]
    for params, code, words in cases:
        with pytest.raises(HTTPClientError) as info:
            await jp_fetch("attn-widget", "snapshots", "attention", params=params, headers=binary)
        response = info.value.response
        assert info.value.code == code and response.headers["Content-Type"].startswith("application/json"), params
        assert words in json.loads(response.body)["message"], params


@on_server_loop
async def test_a_live_run_shows_new_snapshots(jp_fetch, logs, tmp_path):
    assert (await get_json(jp_fetch, "snapshots", run="logs/trained"))["steps"] == [10, 20]
    tokenizer = make_tokenizer(tmp_path)
    with SummaryWriter(str(logs / "trained")) as writer:  # a second event file, as a resumed run writes
        log_attention(writer, 40, make_model("gpt2", tokenizer), tokenizer, PROBES)
    assert (await get_json(jp_fetch, "snapshots", run="logs/trained"))["steps"] == [10, 20, 40]


@on_server_loop
async def test_bad_requests_get_clear_errors(jp_fetch, logs, jp_root_dir):
    code, message = await error_of(jp_fetch, "snapshots", run="logs/plain")
    assert code == 404 and "no attention snapshots" in message and str(jp_root_dir) not in message
    code, message = await error_of(jp_fetch, "snapshots", "attention", run="logs/trained", step="15")
    assert code == 404 and "no attention snapshot at step 15" in message and "10 and 20" in message
    code, message = await error_of(jp_fetch, "snapshots", "attention", run="logs/trained", step="10", text="7")
    assert code == 404 and "text index 7" in message
    code, message = await error_of(jp_fetch, "snapshots", "attention", run="logs/trained", step="ten")
    assert code == 400 and "integers" in message
    code, message = await error_of(jp_fetch, "snapshots", run="../outside")
    assert code == 400 and "'..'" in message
    code, _ = await error_of(jp_fetch, "snapshots", run="logs/missing")
    assert code == 404


@on_server_loop
async def test_snapshots_require_auth(http_server_client, jp_base_url, logs):
    paths = ("snapshots?run=logs/trained", "snapshots/attention?run=logs/trained&step=10")
    for path in (*paths, f"{paths[1]}&format=binary"):
        response = await http_server_client.fetch(url_path_join(jp_base_url, "attn-widget", path), raise_error=False)
        assert response.code in (401, 403), path
