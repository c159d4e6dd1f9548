"""Fuzzing the runs reader with mutated copies of real event files (torch's SummaryWriter and
TensorBoard's own EventFileWriter): bit flips, truncation, zero fill, junk appended after a read,
spliced and random bytes. The reader must never raise, never invent a point, and a broken file must
leave every other run of the logdir as it was."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from helpers import write_tensorboard_tensor_scalars

from attn_widget.tensorboard import EventFileReader, ReaderCache, list_runs

CASES = 1200
SEED = 20261201


def _only_event_file(folder: Path) -> Path:
    (path,) = [p for p in folder.glob("*tfevents*")]
    return path


def _points(reader: EventFileReader) -> dict[str, set[tuple]]:
    out = {}
    for tag in reader.tags:
        s = reader.series(tag)
        out[tag] = set(zip(s.steps.tolist(), s.wall_times.tolist(), s.values.tolist()))
    return out


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> dict[str, bytes]:
    """Real event files: torch classic + new-style scalars mixed with histograms and text; an
    add_hparams session; TensorBoard's writer with tensor scalars and plugin metadata; a periodic
    3-tag file long enough for the column-wise fast path."""
    from torch.utils.tensorboard import SummaryWriter

    base = tmp_path_factory.mktemp("fuzz_sources")
    with SummaryWriter(str(base / "mixed")) as w:
        for step in range(40):
            w.add_scalar("loss", 1.0 / (step + 1), step)
            w.add_scalar("ns", step * 2.5, step, new_style=True)
            if step % 10 == 0:
                w.add_histogram("weights", np.linspace(-1, 1, 20) * step, step)
                w.add_text("notes", f"step {step}", step)
    with SummaryWriter(str(base / "hp")) as w:
        w.add_hparams({"lr": 0.1, "opt": "adam"}, {"hparam/acc": 0.5}, run_name="session")
    write_tensorboard_tensor_scalars(base / "tf2", "tf2/loss", [np.float32(step / 4) for step in range(40)])
    with SummaryWriter(str(base / "periodic"), max_queue=1000) as w:
        for step in range(1500):
            for tag in ("a", "bb", "ccc"):
                w.add_scalar(tag, step * 0.5, step)
    folders = {
        "mixed": base / "mixed",
        "hp": base / "hp" / "session",
        "tf2": base / "tf2",
        "periodic": base / "periodic",
    }
    return {name: _only_event_file(folder).read_bytes() for name, folder in folders.items()}


def _mutate(kind: str, data: bytes, rng: np.random.Generator) -> bytes:
    n = len(data)
    if kind == "bit_flips":
        out = bytearray(data)
        for pos in rng.integers(0, n, rng.integers(1, 9)).tolist():
            out[pos] ^= 1 << int(rng.integers(0, 8))
        return bytes(out)
    if kind == "truncate":
        return data[: int(rng.integers(0, n))]
    if kind == "zero_fill":
        lo = int(rng.integers(0, n))
        hi = min(n, lo + int(rng.integers(1, 4096)))
        return data[:lo] + bytes(hi - lo) + data[hi:]
    if kind == "zero_file":  # what a crash can leave: the size is there, the bytes are not
        return bytes(int(rng.integers(16, 4096)))
    if kind == "splice":  # a chunk repeated or dropped
        lo, hi = sorted(rng.integers(0, n, 2).tolist())
        return data[:hi] + data[lo:] if rng.random() < 0.5 else data[:lo] + data[hi:]
    if kind == "random":
        return rng.integers(0, 256, int(rng.integers(0, 6000)), dtype=np.uint8).tobytes()
    raise ValueError(kind)


KINDS = ("bit_flips", "truncate", "zero_fill", "zero_file", "splice", "random", "junk_after_read")


def test_mutated_event_files_never_raise_invent_points_or_hide_other_runs(originals, tmp_path):
    rng = np.random.default_rng(SEED)
    logdir = tmp_path / "logs"
    intact = {}
    for name, data in originals.items():  # the intact runs beside the broken one
        (logdir / name).mkdir(parents=True)
        (logdir / name / "events.out.tfevents.1.host").write_bytes(data)
    cache = ReaderCache()
    for run in list_runs(logdir, cache=cache):
        intact[run.name] = (run.tags, run.last_step, run.warnings)
    assert all(warnings == [] for _, _, warnings in intact.values())
    expected = {}
    for name in originals:
        reader = EventFileReader(logdir / name / "events.out.tfevents.1.host")
        reader.update()
        expected[name] = _points(reader)

    bad_dir = logdir / "zz_bad"
    bad_dir.mkdir()
    counts = dict.fromkeys(KINDS, 0)
    for case in range(CASES):
        kind = KINDS[case % len(KINDS)]
        source = list(originals)[int(rng.integers(0, len(originals)))]
        path = bad_dir / f"events.out.tfevents.{case}.host"
        reader = EventFileReader(path)
        if kind == "junk_after_read":
            path.write_bytes(originals[source])
            reader.update()
            with open(path, "ab") as f:
                f.write(rng.integers(0, 256, int(rng.integers(1, 3000)), dtype=np.uint8).tobytes())
            reader.update()
            got = _points(reader)
            assert got == expected[source], f"case {case}: points read before the junk changed"
        else:
            path.write_bytes(_mutate(kind, originals[source], rng))
            reader.update()
            got = _points(reader)
        for tag, pts in got.items():  # never a fake tag or point
            assert tag in expected[source] and pts <= expected[source][tag], f"case {case} ({kind}): invented data"
        if kind in ("bit_flips", "zero_file", "zero_fill") and got != expected[source]:
            assert reader.warnings, f"case {case} ({kind}): data lost without a warning"

        runs = {r.name: r for r in list_runs(logdir, cache=cache)}
        assert "zz_bad" in runs  # the broken run is listed (with its warnings), never an error
        if kind != "junk_after_read":  # listed from a fresh read (batched with others when small)
            assert runs["zz_bad"].tags == sorted(got) and runs["zz_bad"].warnings == [
                f"{path.name}: {w}" for w in reader.warnings
            ], f"case {case} ({kind}): the listing differs from the file's own reader"
        for name, listed in intact.items():
            run = runs[name]
            assert (run.tags, run.last_step, run.warnings) == listed, f"case {case}: run {name} changed"
        os.unlink(path)
        counts[kind] += 1
    assert sum(counts.values()) == CASES >= 1000
