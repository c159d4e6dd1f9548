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


# --- the notebook's claims about what the model shows --------------------------------------------------


def notebook_text() -> str:
    nb = nbformat.read(REPO_EXAMPLES / NOTEBOOK, as_version=4)
    return "\n".join(cell.source for cell in nb.cells)


def demo_attention(model_dir: pathlib.Path):
    """What the notebook computes: the attention (layers, heads, query, key) of its text, its tokens, and the
    induction head (layer, head) chosen by ``induction_scores`` as there."""
    import numpy as np
    import torch

    from attn_widget.demo import load
    from attn_widget.models import induction_scores

    model, tokenizer = load(model_dir)
    source = notebook_text()
    text = re.search(r'text = "([^"]+)"', source).group(1)
    inputs = tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        attentions = model(**inputs, output_attentions=True).attentions
    attention = np.stack([a[0].numpy() for a in attentions])
    tokens = tokenizer.convert_ids_to_tokens(inputs["input_ids"][0])
    scores = induction_scores(model, tokenizer, seq_len=12)
    return attention, tokens, divmod(int(scores.argmax()), scores.shape[1])


def second(tokens: list[str], word: str) -> int:
    """Position of the second occurrence of ``word``."""
    return [i for i, t in enumerate(tokens) if t == word][1]


def strongest(attention, tokens, layer: int, head: int, query: int) -> str:
    return tokens[int(attention[layer, head, query].argmax())]


def test_notebook_claims_hold_for_the_demo_model(demo):
    """Each claim the notebook makes about the trained model, quoted, then checked on that model."""
    out, proc = demo
    assert proc.returncode == 0
    text = notebook_text()
    attention, tokens, (layer, head) = demo_attention(out / "model")
    assert layer == 1, "the notebook speaks of the induction head in layer 1"

    assert "the second `cup`: its strongest line goes to `[BOS]`" in text
    assert strongest(attention, tokens, layer, head, second(tokens, "cup")) == "[BOS]"

    assert "hover the second `ship` and its strongest line goes to `owl`" in text
    assert strongest(attention, tokens, layer, head, second(tokens, "ship")) == "owl"
    assert "the second `owl` likewise goes to the second `fox`" in text
    owl = second(tokens, "owl")
    assert int(attention[layer, head, owl].argmax()) == second(tokens, "fox")

    assert "in the second copy, each word's strongest line goes to the word just before it" in text
    copy = range(second(tokens, "fox"), len(tokens))
    assert any(all(int(attention[0, h, i].argmax()) == i - 1 for i in copy) for h in range(attention.shape[1]))

    assert "early in the second copy its weight sits on `[BOS]`" in text
    for word in ("rain", "cup"):
        assert strongest(attention, tokens, layer, head, second(tokens, word)) == "[BOS]", word

    assert "click the second `ship`. The key that wins (`owl`)" in text  # the softmax is the attention above


def test_missing_demo_dependencies_are_named_with_the_extra(monkeypatch):
    from attn_widget import demo

    demo.missing_demo_dependencies()  # this environment has the demo extra
    monkeypatch.setattr(
        demo, "DEMO_DEPENDENCIES", (("torch", None), ("no_such_dist_xyz", None), ("accelerate", "99.0"))
    )
    with pytest.raises(
        SystemExit, match=r'no_such_dist_xyz, accelerate>=99.0 \(found .*\): pip install "attn-widget\[demo\]"'
    ):
        demo.missing_demo_dependencies()
