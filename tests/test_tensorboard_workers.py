"""Event files read in worker processes (``attn_widget.tensorboard._workers``) give exactly what
reading in the server's own threads gives, including warnings about broken files; a worker that dies
or a file it cannot open costs nothing but the time to read it in the thread instead."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import psutil
import pytest

from attn_widget.tensorboard import EventFileReader, ReaderCache, ReadWorkers, list_runs, read_scalars


@pytest.fixture(scope="module")
def logdir(tmp_path_factory) -> Path:
    """Small runs, one big run (> 1 MiB: read alone), a corrupt file and an empty one."""
    from torch.utils.tensorboard import SummaryWriter

    root = tmp_path_factory.mktemp("workers")
    for i in range(6):
        with SummaryWriter(str(root / "small" / f"run{i}")) as w:
            for step in range(50):
                w.add_scalar("loss", 1 / (step + 1 + i), step)
                w.add_scalar("lr", 0.1 * i, step)
    with SummaryWriter(str(root / "big"), max_queue=10_000) as w:
        for step in range(30_000):
            w.add_scalar("train/loss", np.sin(step / 100), step)
    (bad,) = (root / "small" / "run0").iterdir()
    corrupt = root / "corrupt"
    corrupt.mkdir()
    data = bytearray(bad.read_bytes())
    data[300] ^= 0x10  # one flipped bit in a record: that record skipped, with a warning
    (corrupt / "events.out.tfevents.1.host").write_bytes(bytes(data))
    (root / "empty").mkdir()
    (root / "empty" / "events.out.tfevents.2.host").write_bytes(b"")
    return root


@pytest.fixture
def workers():
    pool = ReadWorkers(2)
    yield pool
    pool.close()


def _listing(runs) -> list[tuple]:
    return [(r.name, r.tags, r.last_step, r.warnings, r.size) for r in runs]


def _scalars(run_dir: Path, cache: ReaderCache) -> dict:
    return {tag: tuple(col.tolist() for col in series) for tag, series in read_scalars(run_dir, cache=cache).items()}


def test_listing_and_scalars_equal_reading_in_threads(logdir, workers):
    assert sum(p.stat().st_size for p in (logdir / "big").iterdir()) > 1 << 20  # read alone, by a worker
    in_threads, in_workers = ReaderCache(), ReaderCache(workers=workers)
    expected = list_runs(logdir, cache=in_threads)
    assert _listing(list_runs(logdir, cache=in_workers)) == _listing(expected)
    assert any("skipped" in w for r in expected if r.name == "corrupt" for w in r.warnings)
    for run in ("big", "corrupt", "small/run3"):
        assert _scalars(logdir / run, in_workers) == _scalars(logdir / run, in_threads)
    # A big run never listed is read by a worker on its first scalars request too.
    assert _scalars(logdir / "big", ReaderCache(workers=workers)) == _scalars(logdir / "big", in_threads)


def test_readers_come_back_updated_in_place_and_keep_reading_appended_bytes(logdir, workers, tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    (source,) = (logdir / "big").iterdir()
    path = tmp_path / "events.out.tfevents.3.host"
    path.write_bytes(source.read_bytes())
    reader = EventFileReader(path)
    workers.read([reader])
    assert not reader.unread and reader.tags == ["train/loss"] and reader.last_step == 29_999
    with SummaryWriter(str(tmp_path / "more")) as w:  # append a later session's records to the same file
        w.add_scalar("train/loss", 5.0, 30_000)
    (extra,) = (tmp_path / "more").iterdir()
    with open(path, "ab") as f:
        f.write(extra.read_bytes())
    assert reader.update() == extra.stat().st_size  # only the appended bytes, read here
    assert reader.last_step == 30_000 and reader.series("train/loss").values[-1] == 5.0


def test_unreadable_file_is_left_to_the_caller_who_reports_it(tmp_path, workers):
    missing = EventFileReader(tmp_path / "events.out.tfevents.gone")
    workers.read([missing])
    assert missing.unread
    with pytest.raises(FileNotFoundError):
        missing.update()


def test_a_killed_worker_costs_only_a_read_in_the_thread(logdir, workers):
    workers.start()
    for child in psutil.Process().children():
        if any("_serve" in part for part in child.cmdline()):
            child.kill()
            child.wait(5)
    cache = ReaderCache(workers=workers)
    runs = list_runs(logdir, cache=cache)
    assert _listing(runs) == _listing(list_runs(logdir, cache=ReaderCache()))
    again = ReaderCache(workers=workers)  # dead workers were replaced: new ones read
    assert _listing(list_runs(logdir, cache=again)) == _listing(runs)


def test_idle_workers_stop_and_start_again_on_need(logdir):
    pool = ReadWorkers(1, idle_s=0.2)
    try:
        pool.start()
        (worker,) = [c for c in psutil.Process().children() if any("_serve" in p for p in c.cmdline())]
        worker.wait(10)  # stopped after 0.2 s idle
        runs = list_runs(logdir, cache=ReaderCache(workers=pool))
        assert {r.name for r in runs} >= {"big", "corrupt", "small/run0"}
    finally:
        pool.close()


def test_bad_process_count_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        ReadWorkers(0)


def test_server_reads_in_processes_by_default():
    from traitlets.config import Config

    from attn_widget.server.handlers import TensorBoardRuns, _RunsState

    state = _RunsState(TensorBoardRuns(config=Config()), os.getcwd())
    try:
        assert state.workers is not None and state.workers.processes == min(4, os.cpu_count() or 1)
        assert state.cache.workers is state.workers
    finally:
        state.shutdown()
    off = _RunsState(TensorBoardRuns(config=Config({"TensorBoardRuns": {"read_processes": 0}})), os.getcwd())
    assert off.workers is None and off.cache.workers is None
    off.shutdown()


def test_calls_run_in_a_worker_and_failures_fall_back_to_the_caller(workers):
    from attn_widget.tensorboard import ScalarSeries, downsampled_json

    steps = np.arange(50_000)
    series = ScalarSeries(steps, steps * 0.5, np.where(steps % 999 == 0, np.nan, np.sin(steps / 300)))
    assert workers.call(downsampled_json, [series], 1000) == downsampled_json([series], 1000)
    assert workers.call(os.getpid) not in (None, os.getpid())  # ran in another process
    assert workers.call(downsampled_json, [series], 2) is None  # raised there (max_points < 4): None here
    single = ReadWorkers(1)
    try:
        pid = single.call(os.getpid)
        assert single.call(os.stat, "/no/such/file") is None  # an OSError raised by the call itself...
        assert single.call(os.getpid) == pid  # ...leaves its process running
    finally:
        single.close()
