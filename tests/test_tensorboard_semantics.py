"""Runs, tags and values agree with TensorBoard's own loader (its EventMultiplexer and data
provider, the code behind `tensorboard --load_fast=false`) on one varied logdir: a stray event file
in the root, nested runs, a resumed run, symlinked folders and files, torch add_scalars /
add_hparams / new-style tensor scalars, TensorBoard's own writer with tensor scalars and its hparams
API (experiment config, session start)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from helpers import write_tensorboard_tensor_scalars

from attn_widget.tensorboard import ReaderCache, list_runs, read_scalars


def _torch_run(path: Path, steps: range, tags=("loss",), scale=1.0, new_style=False) -> None:
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(path)) as w:
        for step in steps:
            for k, tag in enumerate(tags):
                w.add_scalar(tag, scale * (step + k) / 7, step, new_style=new_style)


@pytest.fixture(scope="module")
def logdir(tmp_path_factory) -> Path:
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    from torch.utils.tensorboard import SummaryWriter

    root = tmp_path_factory.mktemp("varied")
    _torch_run(root, range(3), tags=("stray",))  # a stray file in the root: run "."
    _torch_run(root / "a", range(20), tags=("loss", "acc"))
    _torch_run(root / "a" / "b", range(10), tags=("loss",), scale=2.0)  # a run nested in a run
    _torch_run(root / "deep" / "x" / "y", range(5), tags=("loss",), new_style=True)  # tensor scalars
    resumed = root / "resumed"  # a second session restarted from step 30 of the first's 50
    for stamp, steps, scale in ((1, range(50), 1.0), (2, range(30, 60), -1.0)):
        _torch_run(root / f".tmp{stamp}", steps, scale=scale)
        resumed.mkdir(exist_ok=True)
        (src,) = (root / f".tmp{stamp}").iterdir()
        src.rename(resumed / f"events.out.tfevents.{1700000000 + stamp}.host.1.0")
        (root / f".tmp{stamp}").rmdir()
    with SummaryWriter(str(root / "exp")) as w:
        for step in range(10):
            w.add_scalar("train/loss", 1 / (step + 1), step)
            w.add_scalars("loss", {"train": step / 10, "val": step / 5}, step)
        w.add_hparams({"lr": 0.01, "optimizer": "adam"}, {"hparam/accuracy": 0.75}, run_name="session")
    write_tensorboard_tensor_scalars(root / "tf2", "tf2/loss", [np.float64(step / 3) for step in range(15)])
    # TensorBoard's own hparams API (summary_v2, no TensorFlow needed for the protos): the experiment
    # config, one session's values of every kind, and its metric as a scalar
    from tensorboard.plugins.hparams import summary_v2 as hp

    writer = EventFileWriter(str(root / "tb_hparams"))
    config = hp.hparams_config_pb(
        hparams=[hp.HParam("lr"), hp.HParam("optimizer"), hp.HParam("layers")], metrics=[hp.Metric("accuracy")]
    )
    session = hp.hparams_pb({"lr": 3e-4, "optimizer": "adamw", "layers": 12, "tied": True}, trial_id="trial-7")
    for step, summary in enumerate([config, session]):
        writer.add_event(event_pb2.Event(wall_time=2000.0 + step, step=0, summary=summary))
    for step in range(5):
        accuracy = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="accuracy", simple_value=step / 5)])
        writer.add_event(event_pb2.Event(wall_time=2010.0 + step, step=step, summary=accuracy))
    writer.close()
    os.symlink(root / "a" / "b", root / "alias")  # a symlinked run folder
    (root / "linked").mkdir()
    (target,) = [p for p in (root / "deep" / "x" / "y").iterdir()]
    os.symlink(target, root / "linked" / target.name)  # a symlinked event file
    return root


def _tensorboard_view(logdir: Path):
    """{run: {tag: (steps, wall_times, values)}} and {run: hparams} as TensorBoard loads them."""
    from tensorboard import context
    from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
    from tensorboard.plugins.hparams import plugin_data_pb2

    multiplexer = plugin_event_multiplexer.EventMultiplexer(tensor_size_guidance={"scalars": 0})
    multiplexer.AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    provider = data_provider.MultiplexerDataProvider(multiplexer, str(logdir))
    ctx = context.RequestContext()
    scalars = provider.read_scalars(ctx, experiment_id="", plugin_name="scalars", downsample=10**9)
    out = {run: {} for run in multiplexer.Runs()}
    for run, tags in scalars.items():
        for tag, data in tags.items():
            out[run][tag] = tuple(np.array([getattr(d, f) for d in data]) for f in ("step", "wall_time", "value"))
    hparams = {}
    for run, tags in multiplexer.PluginRunToTagToContent("hparams").items():
        for content in tags.values():
            data = plugin_data_pb2.HParamsPluginData.FromString(content)
            if data.HasField("session_start_info"):
                info = data.session_start_info.hparams
                hparams[run] = {k: getattr(v, v.WhichOneof("kind")) for k, v in info.items()}
    return out, hparams


def _purged(steps, walls, values):
    """TensorBoard's points of a resumed run with its orphaned points removed: torch writes no
    SessionLog.START, so TensorBoard keeps the first session's points beyond the restart (steps go
    0..49, 30..59); we drop them, as TensorBoard does for sessions it recognises, and sort by step."""
    keep = np.ones(steps.size, bool)
    for restart in np.flatnonzero(np.diff(steps) < 0) + 1:
        keep[:restart] &= steps[:restart] < steps[restart]
    order = np.argsort(steps[keep], kind="stable")
    return tuple(col[keep][order] for col in (steps, walls, values))


def test_runs_tags_values_and_hparams_match_tensorboard(logdir):
    theirs, their_hparams = _tensorboard_view(logdir)
    cache = ReaderCache()
    ours = {r.name: r for r in list_runs(logdir, cache=cache)}

    assert set(ours) == set(theirs)
    assert {".", "a", "a/b", "alias", "linked", "exp/loss_train", "exp/loss_val", "exp/session"} <= set(ours)
    for name, run in ours.items():
        assert run.tags == sorted(theirs[name]), name
        assert run.warnings == [], name
        scalars = read_scalars(run.path, cache=cache)
        for tag, series in theirs[name].items():
            steps, walls, values = _purged(*series) if name == "resumed" else series
            np.testing.assert_array_equal(scalars[tag].steps, steps, err_msg=f"{name} {tag}")
            np.testing.assert_array_equal(scalars[tag].wall_times, walls, err_msg=f"{name} {tag}")
            np.testing.assert_allclose(scalars[tag].values, values, rtol=1e-7, err_msg=f"{name} {tag}")
    assert read_scalars(logdir / "resumed")["loss"].values.tolist()[29:32] == pytest.approx([29 / 7, -30 / 7, -31 / 7])
    assert {n: r.hparams for n, r in ours.items() if r.hparams} == their_hparams
    assert ours["tb_hparams"].hparams == {"lr": 3e-4, "optimizer": "adamw", "layers": 12.0, "tied": True}
    assert ours["tb_hparams"].metrics == {"accuracy": pytest.approx(0.8)}  # the session's final metric (float32)
    # the one grouping on top of TensorBoard's runs: add_scalars folders name their parent
    groups = {n: r.scalars_group for n, r in ours.items() if r.scalars_group}
    assert groups == {
        "exp/loss_train": {"parent": "exp", "tag": "loss", "key": "train"},
        "exp/loss_val": {"parent": "exp", "tag": "loss", "key": "val"},
    }


def test_symlink_loops_end_and_links_outside_are_not_followed(tmp_path):
    root = tmp_path / "root"
    _torch_run(root / "run", range(3))
    os.symlink(root, root / "run" / "back_to_root")  # a loop TensorBoard would walk forever
    os.symlink(root / "run", root / "run" / "self")
    _torch_run(tmp_path / "outside", range(3), tags=("secret",))
    os.symlink(tmp_path / "outside", root / "escape")
    (root / "file_link").mkdir()
    secret = next((tmp_path / "outside").iterdir())
    os.symlink(secret, root / "file_link" / secret.name)
    assert [r.name for r in list_runs(root)] == ["run"]
