"""attn_widget.tensorboard on real event files written by torch's SummaryWriter and by
TensorBoard's own EventFileWriter, plus truncated, corrupt, empty and random copies."""

from __future__ import annotations

import os
import shutil
import struct
import time
from pathlib import Path

import numpy as np
import pytest

from attn_widget.tensorboard import (
    EventFileReader,
    ReaderCache,
    ScalarSeries,
    downsample,
    list_runs,
    read_scalars,
)


def records(path: Path) -> list[tuple[int, int]]:
    """(offset, data length) of each record, by plain sequential framing (independent of the reader)."""
    data = path.read_bytes()
    out, pos = [], 0
    while pos + 12 <= len(data):
        (length,) = struct.unpack_from("<Q", data, pos)
        out.append((pos, length))
        pos += length + 16
    assert pos == len(data)
    return out


def event_file(folder: Path) -> Path:
    (path,) = [p for p in folder.iterdir() if "tfevents" in p.name]
    return path


def write_session(run: Path, stamp: int, scalars) -> Path:
    """One training session's torch event file with ``(tag, step, value)`` points, moved into
    ``run`` under a name with time stamp ``stamp`` (a run's files are ordered by name)."""
    from torch.utils.tensorboard import SummaryWriter

    tmp = run.parent / f".session{stamp}"
    with SummaryWriter(str(tmp)) as w:
        for tag, step, value in scalars:
            w.add_scalar(tag, value, step)
    run.mkdir(exist_ok=True)
    return event_file(tmp).rename(run / f"events.out.tfevents.{stamp}.host.1.0")


def flip_bit(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x10
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def torch_logdir(tmp_path_factory) -> Path:
    """One torch run: classic 'loss' & 'train/acc', new-style 'ns' (float) & 'nsd' (double),
    add_scalars('multi', {a, b}), add_hparams, plus a histogram and text in between."""
    from torch.utils.tensorboard import SummaryWriter

    root = tmp_path_factory.mktemp("torch_logs")
    with SummaryWriter(str(root / "run")) as w:
        for step in range(200):
            w.add_scalar("loss", 1.0 / (step + 1), step)
            w.add_scalar("train/acc", step / 200, step)
            w.add_scalar("ns", step * 2.5, step, new_style=True)
            w.add_scalar("nsd", step / 3, step, new_style=True, double_precision=True)
            if step % 20 == 0:
                w.add_scalars("multi", {"a": step, "b": -step}, step)
                w.add_histogram("weights", np.linspace(-1, 1, 50) * step, step)
                w.add_text("notes", f"step {step}", step)
        w.add_hparams({"lr": 0.1, "bs": 32}, {"hparam/final": 0.75})
    return root


@pytest.fixture(scope="module")
def classic_file(tmp_path_factory) -> Path:
    """A torch file: 'loss' and 'acc' for 60 steps, flushed and closed."""
    from torch.utils.tensorboard import SummaryWriter

    folder = tmp_path_factory.mktemp("classic")
    with SummaryWriter(str(folder)) as w:
        for step in range(60):
            w.add_scalar("loss", 100.0 - step, step)
            w.add_scalar("acc", step / 60, step)
    return event_file(folder)


def test_crc32c_matches_tensorboards_implementation():
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

    from attn_widget.tensorboard._crc32c import crc32c, crc32c_rows, mask

    assert crc32c(b"123456789") == 0xE3069283  # the standard CRC-32C check value
    rng = np.random.default_rng(0)
    for length in (0, 1, 8, 45, 255, 256, 257, 5000, 70001):
        data = rng.integers(0, 256, length, dtype=np.uint8).tobytes()
        assert mask(crc32c(data)) == masked_crc32c(data), length
    rows = rng.integers(0, 256, (300, 37), dtype=np.uint8)
    assert crc32c_rows(rows).tolist() == [crc32c(r.tobytes()) for r in rows]


def test_torch_classic_and_new_style_scalars(torch_logdir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    scalars = read_scalars(torch_logdir / "run")
    steps = np.arange(200)
    assert scalars.warnings == []
    np.testing.assert_array_equal(scalars["loss"].steps, steps)
    np.testing.assert_allclose(scalars["loss"].values, (1.0 / (steps + 1)).astype(np.float32))
    np.testing.assert_allclose(scalars["ns"].values, steps * 2.5)
    np.testing.assert_array_equal(scalars["nsd"].values, steps / 3)  # double kept exactly
    assert scalars["ns"].steps.dtype == np.int64 and scalars["ns"].wall_times.dtype == np.float64
    assert "weights" not in scalars and "notes" not in scalars  # histogram/text are not scalars

    acc = EventAccumulator(str(torch_logdir / "run"), size_guidance={"scalars": 0})
    acc.Reload()
    assert set(acc.Tags()["scalars"]) == {"loss", "train/acc"}  # it misses new-style scalars
    for tag in ("loss", "train/acc"):
        events = acc.Scalars(tag)
        np.testing.assert_array_equal(scalars[tag].steps, [e.step for e in events])
        np.testing.assert_array_equal(scalars[tag].wall_times, [e.wall_time for e in events])
        np.testing.assert_array_equal(scalars[tag].values, np.float32([e.value for e in events]))


def test_add_scalars_and_add_hparams_folders_are_runs_as_in_tensorboard(torch_logdir):
    runs = {r.name: r for r in list_runs(torch_logdir)}
    hparams_dir = next(p.name for p in (torch_logdir / "run").iterdir() if p.is_dir() and not p.name.startswith("multi"))
    assert set(runs) == {"run", "run/multi_a", "run/multi_b", f"run/{hparams_dir}"}
    run = runs["run"]
    assert run.tags == sorted(["loss", "train/acc", "ns", "nsd"])
    assert run.last_step == 199 and run.hparams == {} and run.scalars_group is None
    assert run.size == sum(p.stat().st_size for p in (torch_logdir / "run").glob("*tfevents*"))
    assert runs["run/multi_a"].scalars_group == {"parent": "run", "tag": "multi", "key": "a"}
    assert runs["run/multi_b"].scalars_group == {"parent": "run", "tag": "multi", "key": "b"}
    session = runs[f"run/{hparams_dir}"]
    assert session.hparams == {"lr": 0.1, "bs": 32} and session.tags == ["hparam/final"]
    assert session.scalars_group is None
    multi_b = read_scalars(torch_logdir / "run" / "multi_b")
    np.testing.assert_array_equal(multi_b["multi"].steps, np.arange(0, 200, 20))
    np.testing.assert_array_equal(multi_b["multi"].values, -np.arange(0, 200, 20))


def test_tensorboard_writer_tensor_scalars(tmp_path):
    """TF2-style files from TensorBoard's own writer: scalar tensors whose metadata (plugin
    'scalars') comes only with each tag's first event; a merged TF1 summary; non-scalar plugins."""
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.plugins.scalar import metadata as scalar_metadata
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    from tensorboard.util import tensor_util

    scalar_meta = scalar_metadata.create_summary_metadata(display_name="", description="")
    other_meta = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="custom"))
    writer = EventFileWriter(str(tmp_path))
    for step in range(50):
        values = [
            summary_pb2.Summary.Value(tag="tf2/loss", tensor=tensor_util.make_tensor_proto(np.float32(step / 4))),
            summary_pb2.Summary.Value(tag="tf2/double", tensor=tensor_util.make_tensor_proto(np.float64(step / 7))),
            summary_pb2.Summary.Value(tag="custom", tensor=tensor_util.make_tensor_proto(np.float32(step))),
        ]
        if step == 0:
            values[0].metadata.CopyFrom(scalar_meta)
            values[1].metadata.CopyFrom(scalar_meta)
            values[2].metadata.CopyFrom(other_meta)
        for value in values:
            writer.add_event(event_pb2.Event(wall_time=1000.0 + step, step=step, summary=summary_pb2.Summary(value=[value])))
        merged = summary_pb2.Summary(value=[
            summary_pb2.Summary.Value(tag="tf1/a", simple_value=step),
            summary_pb2.Summary.Value(tag="tf1/b", simple_value=-step),
        ])
        writer.add_event(event_pb2.Event(wall_time=1000.0 + step, step=step, summary=merged))
    writer.close()

    scalars = read_scalars(tmp_path)
    assert set(scalars) == {"tf2/loss", "tf2/double", "tf1/a", "tf1/b"}  # "custom" is not a scalar
    np.testing.assert_array_equal(scalars["tf2/loss"].values, np.arange(50) / 4)
    np.testing.assert_array_equal(scalars["tf2/double"].values, np.arange(50) / 7)
    np.testing.assert_array_equal(scalars["tf2/loss"].wall_times, 1000.0 + np.arange(50))
    np.testing.assert_array_equal(scalars["tf1/b"].values, -np.arange(50))
    np.testing.assert_array_equal(scalars["tf1/a"].steps, np.arange(50))


def test_large_file_matches_event_accumulator(tmp_path):
    """51k interleaved records across the 1-, 2- and 3-byte step encodings (periodic framing)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(tmp_path), max_queue=5000) as w:
        for step in range(17_000):
            w.add_scalar("a", step * 0.25, step)
            w.add_scalar("bb/long_name", -step, step)
            w.add_scalar("c", 1.0 / (step + 1), step)
    ours = read_scalars(tmp_path, cache=ReaderCache(max_series_points=20_000))  # every point kept
    acc = EventAccumulator(str(tmp_path), size_guidance={"scalars": 0})
    acc.Reload()
    for tag in ("a", "bb/long_name", "c"):
        events = acc.Scalars(tag)
        assert len(events) == 17_000
        np.testing.assert_array_equal(ours[tag].steps, [e.step for e in events])
        np.testing.assert_array_equal(ours[tag].values, np.float32([e.value for e in events]))
        np.testing.assert_array_equal(ours[tag].wall_times, [e.wall_time for e in events])


def test_many_tags_per_step_match_event_accumulator(tmp_path):
    """40 tags of varied names logged every step (a period of 40 record lengths, broken at the step
    varint's 127 → 128 and by a stray tag every 97 steps): the vectorised framing's long periods."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from torch.utils.tensorboard import SummaryWriter

    tags = [f"{group}/{'x' * (k % 7)}m{k}" for k, group in enumerate(["train", "val", "grad/norm", "lr"] * 10)]
    with SummaryWriter(str(tmp_path), max_queue=5000) as w:
        for step in range(400):
            for k, tag in enumerate(tags):
                w.add_scalar(tag, step * 0.5 - k, step)
            if step % 97 == 0:
                w.add_scalar("stray", step, step)
    ours = read_scalars(tmp_path, cache=ReaderCache(max_series_points=20_000))
    acc = EventAccumulator(str(tmp_path), size_guidance={"scalars": 0})
    acc.Reload()
    assert sorted(ours) == sorted(acc.Tags()["scalars"])
    for tag in [*tags, "stray"]:
        events = acc.Scalars(tag)
        np.testing.assert_array_equal(ours[tag].steps, [e.step for e in events])
        np.testing.assert_array_equal(ours[tag].values, np.float32([e.value for e in events]))


def test_truncated_copy_resumes_when_the_file_grows(classic_file, tmp_path):
    full = classic_file.read_bytes()
    recs = records(classic_file)
    cut_record = 41  # cut in the middle of this record's data
    offset, length = recs[cut_record]
    cut = offset + 12 + length // 2
    partial = tmp_path / classic_file.name
    partial.write_bytes(full[:cut])

    reader = EventFileReader(partial)
    assert reader.update() == cut
    assert reader.records == cut_record  # every complete record, none of the cut one
    points = sum(reader.series(t).steps.size for t in reader.tags)
    assert points == cut_record - 1  # minus the file_version record
    assert any("incomplete record" in w for w in reader.warnings)

    with open(partial, "ab") as f:
        f.write(full[cut:])
    assert reader.update() == len(full) - cut  # only the appended bytes were read
    assert reader.warnings == []
    expected = read_scalars(classic_file.parent)
    for tag in ("loss", "acc"):
        np.testing.assert_array_equal(reader.series(tag).steps, expected[tag].steps)
        np.testing.assert_array_equal(reader.series(tag).values, expected[tag].values)


def test_incremental_update_reads_only_new_bytes(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(str(tmp_path))
    for step in range(100):
        w.add_scalar("loss", float(step), step)
    w.flush()
    path = event_file(tmp_path)
    reader = EventFileReader(path)
    size1 = path.stat().st_size
    assert reader.update() == size1 and reader.file_offset == size1
    assert reader.last_step == 99
    for step in range(100, 150):
        w.add_scalar("loss", float(step), step)
    w.close()
    size2 = path.stat().st_size
    assert reader.update() == size2 - size1
    assert reader.file_offset == size2
    assert reader.update() == 0  # nothing new: nothing read
    np.testing.assert_array_equal(reader.series("loss").steps, np.arange(150))
    assert reader.last_step == 149 and reader.n_points == 150

    cache = ReaderCache()
    read_scalars(tmp_path, cache=cache)
    read_scalars(tmp_path, cache=cache)
    assert cache.updated(str(path)).bytes_read == 0  # the cache reuses readers


def test_flipped_bit_in_data_drops_only_that_record(classic_file, tmp_path):
    damaged = tmp_path / classic_file.name
    shutil.copy(classic_file, damaged)
    offset, _ = records(damaged)[11]  # a 'loss' or 'acc' record: flip a bit in its tag bytes
    flip_bit(damaged, offset + 12 + 18)
    good = read_scalars(classic_file.parent)
    bad = read_scalars(tmp_path)
    assert set(bad) == {"loss", "acc"}  # no fake tag made of the damaged bytes
    assert sum(s.steps.size for s in bad.values()) == sum(s.steps.size for s in good.values()) - 1
    assert len(bad.warnings) == 1 and "bad data checksum" in bad.warnings[0]
    for tag in bad:  # every surviving point is genuine
        kept = np.isin(good[tag].steps, bad[tag].steps)
        np.testing.assert_array_equal(good[tag].values[kept], bad[tag].values)
    (run,) = list_runs(tmp_path)  # the run's listing carries the warning, with the file name
    assert run.name == "." and run.warnings == bad.warnings and bad.warnings[0].startswith(damaged.name)


def test_flipped_bit_in_value_is_not_a_wrong_point(classic_file, tmp_path):
    damaged = tmp_path / classic_file.name
    shutil.copy(classic_file, damaged)
    offset, length = records(damaged)[20]
    flip_bit(damaged, offset + 12 + length - 2)  # inside the float
    good, bad = read_scalars(classic_file.parent), read_scalars(tmp_path)
    for tag in good:
        kept = np.isin(good[tag].steps, bad[tag].steps)
        np.testing.assert_array_equal(good[tag].values[kept], bad[tag].values)
    assert sum(s.steps.size for s in bad.values()) == sum(s.steps.size for s in good.values()) - 1


def test_flipped_bit_in_length_resyncs_to_the_next_record(classic_file, tmp_path):
    damaged = tmp_path / classic_file.name
    shutil.copy(classic_file, damaged)
    offset, _ = records(damaged)[30]
    flip_bit(damaged, offset + 1)  # the length becomes nonsense
    good, bad = read_scalars(classic_file.parent), read_scalars(tmp_path)
    assert set(bad) == {"loss", "acc"}
    assert sum(s.steps.size for s in bad.values()) == sum(s.steps.size for s in good.values()) - 1
    assert len(bad.warnings) == 1 and "bad length checksum" in bad.warnings[0]
    assert f"byte {offset}" in bad.warnings[0]


def test_empty_and_random_files_are_warnings(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "events.out.tfevents.1.host").write_bytes(b"")
    (tmp_path / "noise").mkdir()
    noise = np.random.default_rng(1).integers(0, 256, 200_000, dtype=np.uint8).tobytes()
    (tmp_path / "noise" / "events.out.tfevents.2.host").write_bytes(noise)

    runs = {r.name: r for r in list_runs(tmp_path)}
    assert runs["empty"].tags == [] and runs["empty"].last_step is None
    assert runs["empty"].warnings == ["events.out.tfevents.1.host: empty file (0 bytes)"]
    assert runs["noise"].tags == [] and runs["noise"].last_step is None
    assert any("no valid event records in 200000 bytes" in w for w in runs["noise"].warnings)
    assert read_scalars(tmp_path / "noise") == {}


def test_resumed_run_purges_orphaned_points_and_is_sorted(tmp_path):
    run = tmp_path / "run"
    write_session(run, 1, [(t, s, float(s)) for s in range(1001) for t in ("loss", "acc")])
    # resumed from the step-500 checkpoint; 'acc' is logged again only from step 600
    write_session(run, 2, [("loss", s, -float(s)) for s in range(500, 1501)]
                  + [("acc", s, -float(s)) for s in range(600, 1501)])
    scalars = read_scalars(run)
    assert scalars.warnings == []
    loss, acc = scalars["loss"], scalars["acc"]
    assert loss.steps.tolist() == list(range(1501))
    assert loss.values.tolist() == [float(s) if s < 500 else -float(s) for s in range(1501)]
    # the restart at step 500 orphans the old file's 'acc' from 500 on too, as in TensorBoard
    assert acc.steps.tolist() == list(range(500)) + list(range(600, 1501))
    assert np.all(acc.values[acc.steps >= 500] < 0) and np.all(acc.values[acc.steps < 500] >= 0)
    small = downsample(loss, 100)
    assert np.all(np.diff(small.steps) > 0) and small.steps[-1] == 1500
    assert list_runs(tmp_path)[0].last_step == 1500


def test_file_removed_after_the_scan_is_skipped_with_a_warning(tmp_path, rotating_cache):
    kept = write_session(tmp_path / "a", 1, [("loss", s, 1.0) for s in range(10)])
    rotated = write_session(tmp_path / "a", 2, [("loss", s, 2.0) for s in range(10, 20)])
    only = write_session(tmp_path / "b", 3, [("loss", 0, 3.0)])
    (info,) = list_runs(tmp_path, cache=rotating_cache([rotated, only]))  # 'b' lost its only file
    assert info.name == "a" and info.last_step == 9 and info.size == kept.stat().st_size
    assert info.warnings == [f"{rotated.name}: cannot read (No such file or directory)"]

    rotated = write_session(tmp_path / "a", 2, [("loss", s, 2.0) for s in range(10, 20)])
    scalars = read_scalars(tmp_path / "a", cache=rotating_cache([rotated]))
    assert scalars["loss"].steps.tolist() == list(range(10))
    assert scalars.warnings == [f"{rotated.name}: cannot read (No such file or directory)"]


def test_replaced_file_is_read_again(classic_file, tmp_path):
    copy = tmp_path / classic_file.name
    shutil.copy(classic_file, copy)
    reader = EventFileReader(copy)
    reader.update()
    copy.write_bytes(classic_file.read_bytes()[: records(copy)[5][0]])  # shorter: 5 records
    reader.update()
    assert reader.records == 5
    assert any("truncated or replaced" in w for w in reader.warnings)


def test_live_flag_follows_the_window(classic_file, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    target = run / classic_file.name
    shutil.copy(classic_file, target)
    assert list_runs(tmp_path)[0].live is True
    old = time.time() - 3600
    os.utime(target, (old, old))
    (info,) = list_runs(tmp_path)
    assert info.live is False and info.updated == pytest.approx(old)
    assert list_runs(tmp_path, live_window=7200)[0].live is True


def test_bad_arguments_raise_clear_errors(tmp_path):
    with pytest.raises(NotADirectoryError, match="not a folder"):
        list_runs(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="no TensorBoard event files"):
        read_scalars(tmp_path)
    with pytest.raises(ValueError, match="at least 4"):
        downsample(ScalarSeries(np.arange(10), np.arange(10.0), np.arange(10.0)), 3)


def test_downsample_keeps_ends_and_extremes():
    n = 100_000
    rng = np.random.default_rng(2)
    values = np.sin(np.arange(n) / 500) + rng.normal(0, 0.05, n)
    values[31_337] = 9.0  # a spike LTTB alone might thin out
    values[77_000] = -9.0
    values[50_000] = np.nan
    series = ScalarSeries(np.arange(n) * 10, np.arange(n) * 0.1, values)
    small = downsample(series, 500)
    assert small.values.size <= 500
    assert small.steps[0] == 0 and small.steps[-1] == (n - 1) * 10
    assert 9.0 in small.values and -9.0 in small.values
    assert np.all(np.diff(small.steps) > 0)
    idx = small.steps // 10
    np.testing.assert_array_equal(small.wall_times, series.wall_times[idx])  # real points only
    assert downsample(series, n) is series


def test_downsample_keeps_the_finite_minimum_beside_nan_and_uses_its_budget():
    # A loss curve with one NaN keeps its best value (a NaN must not take the minimum's place).
    values = np.linspace(3.0, 1.0, 200)
    values[123] = 0.5
    values[50] = np.nan
    series = ScalarSeries(np.arange(200), np.arange(200.0), values)
    small = downsample(series, 6)
    assert 123 in small.steps and small.values.size <= 6
    # A monotonic series (extremes at its ends) gets the whole budget.
    rising = ScalarSeries(np.arange(1000), np.arange(1000.0), np.arange(1000.0))
    assert [downsample(rising, k).values.size for k in (5, 7, 50)] == [5, 7, 50]


def test_reader_cache_drops_least_recently_used(torch_logdir, classic_file):
    cache = ReaderCache(max_points=150)
    first = cache.updated(str(classic_file))  # 120 points
    second = cache.updated(str(event_file(torch_logdir / "run")))  # 800 points
    assert len(cache) == 1 and second.n_points == 800
    assert cache.updated(str(classic_file)) is not first  # re-created after eviction


def test_refresh_with_nothing_new_reads_no_file(torch_logdir):
    cache = ReaderCache()
    first = {r.name: r for r in list_runs(torch_logdir, cache=cache)}
    readers = list(cache._readers.values())
    assert readers and all(r.bytes_read > 0 for r in readers)
    again = {r.name: r for r in list_runs(torch_logdir, cache=cache)}
    assert all(again[name] is first[name] for name in first)  # the cached listing, nothing re-read
    assert all(r.bytes_read > 0 for r in readers)  # update() was not even called (it resets bytes_read)
    for path in {r.path for r in readers}:
        cache.updated(path, os.stat(path))  # an explicit update of an unchanged file reads nothing
    assert all(r.bytes_read == 0 for r in readers)


def test_listing_a_logdir_bigger_than_the_cache_stays_near_its_bound(classic_file, tmp_path, monkeypatch):
    import shutil

    from attn_widget.tensorboard import _runs

    monkeypatch.setattr(_runs, "_LIST_CHUNK", 4)  # runs read per listing step (512 by default)
    for i in range(12):
        (tmp_path / f"run{i:02d}").mkdir()
        shutil.copy(classic_file, tmp_path / f"run{i:02d}" / classic_file.name)
    per_file = read_scalars(tmp_path / "run00", cache=ReaderCache())
    points = sum(s.steps.size for s in per_file.values())
    cache = ReaderCache(max_points=3 * points)
    seen = []
    original = cache.read_new
    monkeypatch.setattr(cache, "read_new", lambda paths: (original(paths), seen.append(cache._points)))
    runs = list_runs(tmp_path, cache=cache)
    assert [r.name for r in runs] == [f"run{i:02d}" for i in range(12)]
    assert all(r.tags == sorted(per_file) and r.warnings == [] for r in runs)
    assert len(seen) == 3 and max(seen) <= 3 * points + 4 * points  # the bound plus one step's files
    assert cache._points <= 3 * points and len(cache) == 3
    again = read_scalars(tmp_path / "run00", cache=cache)  # evicted: read again, same points
    assert {t: s.values.tolist() for t, s in again.items()} == {t: s.values.tolist() for t, s in per_file.items()}


def test_deleted_runs_leave_the_listing_cache(classic_file, tmp_path):
    import shutil

    for name in ("keep", "gone/a", "gone/b"):
        (tmp_path / name).mkdir(parents=True)
        shutil.copy(classic_file, tmp_path / name / classic_file.name)
    cache = ReaderCache()
    assert [r.name for r in list_runs(tmp_path, cache=cache)] == ["gone/a", "gone/b", "keep"]
    assert len(cache.listings) == 3
    list_runs(tmp_path / "gone", cache=cache)  # a sub-folder's listing keeps the others
    assert len(cache.listings) == 3
    shutil.rmtree(tmp_path / "gone")
    assert [r.name for r in list_runs(tmp_path, cache=cache)] == ["keep"]
    assert list(cache.listings) == [str(tmp_path / "keep")]


def test_series_are_bounded_and_keep_their_extremes(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    rng = np.random.default_rng(0)
    values = rng.normal(size=30_000)
    values[12_345], values[23_456], values[777] = 50.0, -40.0, np.nan
    with SummaryWriter(str(tmp_path), max_queue=1000) as w:
        for step, value in enumerate(values):
            w.add_scalar("noisy", value, step)
    cache = ReaderCache(max_series_points=2000)
    series = read_scalars(tmp_path, cache=cache)["noisy"]
    assert series.steps.size <= 2000 and cache._points <= 2000
    assert series.steps[0] == 0 and series.steps[-1] == 29_999
    finite = np.isfinite(series.values)
    assert series.values[finite].max() == 50.0 and series.values[finite].min() == -40.0
    assert 777 in series.steps[~finite].tolist()  # the NaN is kept, not averaged away
    assert (np.diff(series.steps) > 0).all()
    np.testing.assert_array_equal(series.values[finite], np.float32(values)[series.steps[finite]])
