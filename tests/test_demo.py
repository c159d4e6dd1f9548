"""The offline demo, end to end: real training, real files, the real notebook."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import nbclient
import nbformat
import pytest

from attn_widget.demo import ENV_MODEL, NOTEBOOK, REPO_EXAMPLES, RUNS
from attn_widget.tensorboard import read_attention

STEPS = 400  # both heads form by step 400 in the second run (the best at this count): about 25 s in all
CHECK = re.compile(
    r"pattern check: previous-token head L\d+H\d+ score ([\d.]+) \(untrained ([\d.]+)\), "
    r"induction head L\d+H\d+ score ([\d.]+) \(untrained ([\d.]+)\) (OK|FAILED)"
)
FORMATION = re.compile(
    r"formation in [\w.-]+: previous-token head L\d+H\d+ first exceeded half its final score \([\d.]+\) at step (\d+); "
    r"induction head L\d+H\d+ first exceeded half its final score \([\d.]+\) at step (\d+)"
)
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
pytestmark = pytest.mark.slow


def run_demo(out: pathlib.Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "attn_widget.demo", "--no-browser", "--out", str(out), "--steps", str(STEPS)],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "CI": "1"},
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    return out, run_demo(out)


def test_headless_demo_trains_runs_and_learns_the_pattern(demo):
    out, proc = demo
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    prev, prev_untrained, ind, ind_untrained, verdict = CHECK.search(proc.stdout).groups()
    assert verdict == "OK"
    assert float(prev) > 2 * float(prev_untrained) and float(ind) > 2 * float(ind_untrained)
    for run in RUNS:
        assert list((out / "runs" / run.name).glob("events.out.tfevents.*")), f"no TensorBoard events for {run.name}"
        assert read_attention(out / "runs" / run.name).steps[::8] == [0, 128, 256, 384]  # every 400 // 24 steps
    previous_formed, induction_formed = map(int, FORMATION.search(proc.stdout).groups())
    assert 0 < previous_formed <= STEPS and 0 < induction_formed <= STEPS
    assert (out / "model" / "config.json").exists() and (out / "model" / "tokenizer.json").exists()
    for view in ("head", "model"):
        html = out / f"{view}_view.html"
        assert str(html) in proc.stdout and html.stat().st_size > 1000


def test_second_run_reuses_the_saved_model(demo):
    out, first = demo
    assert first.returncode == 0
    weights = out / "model" / "model.safetensors"
    before = weights.stat().st_mtime_ns
    events = sorted((out / "runs").rglob("events.out.tfevents.*"))
    again = run_demo(out)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "reusing the trained model" in again.stdout and "training " not in again.stdout
    assert weights.stat().st_mtime_ns == before
    assert sorted((out / "runs").rglob("events.out.tfevents.*")) == events
    assert CHECK.search(again.stdout).group(5) == "OK"


def test_notebook_runs_against_the_demo_model(demo, monkeypatch):
    out, proc = demo
    assert proc.returncode == 0
    monkeypatch.setenv(ENV_MODEL, str(out / "model"))  # the kernel inherits it
    nb = nbformat.read(REPO_EXAMPLES / NOTEBOOK, as_version=4)
    assert not any(cell.get("outputs") for cell in nb.cells if cell.cell_type == "code"), (
        "outputs stored in the notebook"
    )
    nbclient.NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(out)}}
    ).execute()
    view_cells = [c for c in nb.cells if c.cell_type == "code" and ("_view(" in c.source)]
    assert len(view_cells) == 3
    view_cells += [c for c in nb.cells if c.cell_type == "code" and "from_run(" in c.source]  # the training snapshots
    assert len(view_cells) == 4
    for cell in view_cells:
        assert not [o for o in cell.outputs if o.output_type == "error"]
        assert any(WIDGET_MIME in o.get("data", {}) for o in cell.outputs), cell.source
