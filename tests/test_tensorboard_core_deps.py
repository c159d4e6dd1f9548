"""`pip install attn-widget` without extras reads TensorBoard logs: the wheel goes into a fresh
virtualenv holding only it and its declared dependencies (no tensorboard, no torch), which then
lists and reads event files torch's SummaryWriter wrote here."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

READ_SCRIPT = textwrap.dedent("""
    import importlib.util, json, os, sys
    from attn_widget.tensorboard import ReaderCache, ReadWorkers, list_runs, read_scalars
    runs = list_runs(sys.argv[1])
    workers = ReadWorkers(2)  # the worker processes of the server, from the wheel too
    in_workers = list_runs(sys.argv[1], cache=ReaderCache(workers=workers))
    out = {
        "workers_agree": [(r.name, r.tags, r.warnings) for r in in_workers] == [(r.name, r.tags, r.warnings) for r in runs],
        "worker_module": workers.call(importlib.util.find_spec, "attn_widget").origin,
        "missing": [m for m in ("tensorboard", "torch", "tensorflow") if importlib.util.find_spec(m) is None],
        "runs": {r.name: {"tags": r.tags, "warnings": r.warnings, "hparams": r.hparams,
                          "group": r.scalars_group} for r in runs},
        "scalars": {r.name: {t: s.values.tolist() for t, s in read_scalars(r.path).items()} for r in runs},
    }
    print(json.dumps(out))
""")


def test_wheel_alone_reads_torch_event_files(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    logdir = tmp_path / "logs"
    with SummaryWriter(str(logdir / "train")) as w:
        for step in range(50):
            w.add_scalar("loss", 1.0 / (step + 1), step)
            w.add_scalar("ns", step * 2.5, step, new_style=True)  # tensor scalar (protobuf path)
        w.add_scalars("pair", {"a": 1.0, "b": 2.0}, 0)
        w.add_hparams({"lr": 0.1, "opt": "adam"}, {"hparam/acc": 0.5}, run_name="session")

    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)], check=True
    )
    (wheel,) = tmp_path.glob("attn_widget-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "-q", str(wheel)], check=True)
    script = tmp_path / "read.py"
    script.write_text(READ_SCRIPT)
    done = subprocess.run([python, str(script), str(logdir)], capture_output=True, text=True, check=True, cwd=tmp_path)
    got = json.loads(done.stdout)

    assert got["workers_agree"]
    assert got["worker_module"].startswith(str(venv))  # the workers import the installed wheel

    assert got["missing"] == ["tensorboard", "torch", "tensorflow"]
    assert set(got["runs"]) == {"train", "train/pair_a", "train/pair_b", "train/session"}
    assert all(run["warnings"] == [] for run in got["runs"].values())
    assert got["runs"]["train"]["tags"] == ["loss", "ns"]
    assert got["runs"]["train/pair_b"]["group"] == {"parent": "train", "tag": "pair", "key": "b"}
    assert got["runs"]["train/session"]["hparams"] == {"lr": 0.1, "opt": "adam"}
    np.testing.assert_allclose(got["scalars"]["train"]["loss"], 1.0 / (np.arange(50) + 1), rtol=1e-6)
    np.testing.assert_array_equal(got["scalars"]["train"]["ns"], np.arange(50) * 2.5)
    assert got["scalars"]["train/session"]["hparam/acc"] == [0.5]
