"""The training timeline's REST handlers against a real Jupyter server (pytest-jupyter), on a run written by
``log_attention`` with a real (tiny, random) ``transformers`` GPT-2 through torch's SummaryWriter."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest
from jupyter_server.utils import url_path_join
from test_server_runs import error_of, get_json, jp_server_config, on_server_loop  # noqa: F401 - a fixture
from tiny_models import make_model, make_tokenizer
from torch.utils.tensorboard import SummaryWriter

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
    for path in ("snapshots?run=logs/trained", "snapshots/attention?run=logs/trained&step=10"):
        response = await http_server_client.fetch(url_path_join(jp_base_url, "attn-widget", path), raise_error=False)
        assert response.code in (401, 403), path
