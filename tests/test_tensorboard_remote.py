"""Logdirs on object storage (fsspec URLs): a real S3 API on 127.0.0.1 (moto's server), runs written
by torch's SummaryWriter and uploaded with s3fs, the reader and the server extension on top.

Requests are counted where botocore sends them (its ``before-send`` event on the s3fs client the
reader uses), so "one listing, one ranged read of the new bytes" is checked on the wire.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from pathlib import Path

import pytest
from moto import server as moto_server
from test_server_runs import get_json, on_server_loop, post_json, write_run
from tornado.httpclient import HTTPClientError

from attn_widget.tensorboard import ReaderCache, list_runs, read_scalars

pytest_plugins = ("pytest_jupyter.jupyter_server",)

ACCESS_KEY = "AKIAREMOTETESTKEY0042"
SECRET_KEY = "remote-test-secret-do-not-leak-0123456789"
BUCKET = "runs-bucket"


@pytest.fixture(scope="module")
def s3():
    """(endpoint URL, s3fs filesystem, sent requests list) of a moto S3 server on a free port,
    with AWS credentials in the environment (the backend's standard source)."""
    import s3fs

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        mp.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            endpoint = f"http://{host}:{port}"
            fs = s3fs.S3FileSystem(endpoint_url=endpoint)  # the instance fsspec hands the reader too
            fs.mkdir(BUCKET)
            sent: list[tuple[str, str, str | None]] = []

            def record(request, **_):
                rng = request.headers.get("Range")
                sent.append((request.method, request.url, rng.decode() if isinstance(rng, bytes) else rng))

            fs.s3.meta.events.register("before-send.s3", record)
            yield endpoint, fs, sent
        finally:
            server.stop()


def upload(fs, local: Path, prefix: str) -> None:
    """Every file below ``local`` to ``s3://BUCKET/prefix/<relative path>`` (one object each)."""
    for path in sorted(p for p in local.rglob("*") if p.is_file()):
        fs.put_file(str(path), f"{BUCKET}/{prefix}/{path.relative_to(local).as_posix()}")


def object_gets(sent) -> list[tuple[str, str | None]]:
    """(url, Range) of the object reads among ``sent`` (listings are GETs with a query string)."""
    return [(url, rng) for method, url, rng in sent if method == "GET" and "?" not in url]


def test_s3_logdir_lists_and_reads_like_the_same_local_logdir(s3, tmp_path):
    endpoint, fs, _ = s3
    write_run(tmp_path / "a", 30)
    write_run(tmp_path / "b" / "c", 5, tags=("loss",))
    write_run(tmp_path, 3, tags=("root_tag",))  # a stray file in the root: the run "."
    (tmp_path / "b" / "notes.txt").write_text("not an event file")
    upload(fs, tmp_path, "same")
    options = {"endpoint_url": endpoint}

    local = list_runs(tmp_path)
    remote = list_runs(f"s3://{BUCKET}/same", storage_options=options)
    assert [r.name for r in remote] == [r.name for r in local] == [".", "a", "b/c"]
    for lr, rr in zip(local, remote):
        assert (rr.tags, rr.last_step, rr.size, rr.warnings) == (lr.tags, lr.last_step, lr.size, lr.warnings)
        assert rr.path == f"s3://{BUCKET}/same" + ("" if rr.name == "." else f"/{rr.name}")
        assert rr.live and abs(rr.updated - time.time()) < 300

    got = read_scalars(f"s3://{BUCKET}/same/a", storage_options=options, tags=["loss", "nope"])
    want = read_scalars(tmp_path / "a", tags=["loss", "nope"])
    assert got.warnings == want.warnings == ["tag not found: nope"]
    assert got["loss"].steps.tolist() == want["loss"].steps.tolist() == list(range(30))
    assert got["loss"].values.tolist() == want["loss"].values.tolist()
    # file:// URLs are local paths
    assert [r.name for r in list_runs(f"file://{tmp_path}")] == [".", "a", "b/c"]


def test_growing_run_costs_one_listing_and_a_ranged_read_of_the_new_bytes(s3, tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    endpoint, fs, sent = s3
    options = {"endpoint_url": endpoint}
    for k in range(3):
        write_run(tmp_path / f"other{k}", 10)
    upload(fs, tmp_path, "grow")
    writer = SummaryWriter(str(tmp_path / "live"))
    for step in range(50):
        writer.add_scalar("loss", 1.0 / (step + 1), step)
    writer.flush()
    (event_file,) = (tmp_path / "live").iterdir()
    key = f"{BUCKET}/grow/live/{event_file.name}"
    fs.put_file(str(event_file), key)
    first_size = event_file.stat().st_size
    cache = ReaderCache()
    url = f"s3://{BUCKET}/grow"

    sent.clear()
    runs = {r.name: r for r in list_runs(url, cache=cache, storage_options=options)}
    assert runs["live"].last_step == 49 and set(runs) == {"live", "other0", "other1", "other2"}
    lists = [u for m, u, _ in sent if "list-type=2" in u]
    assert len(lists) == 1, "one listing for the whole root, not one per folder"
    assert len(object_gets(sent)) == 4 and len(sent) == 5

    sent.clear()
    list_runs(url, cache=cache, storage_options=options)
    assert len(sent) == 1 and not object_gets(sent), "a refresh with nothing new costs the listing only"

    for step in range(50, 80):  # the run grows: the trainer flushes, the sync job uploads the longer file
        writer.add_scalar("loss", 1.0 / (step + 1), step)
    writer.close()
    fs.put_file(str(event_file), key)
    new_size = event_file.stat().st_size
    sent.clear()
    runs = {r.name: r for r in list_runs(url, cache=cache, storage_options=options)}
    assert runs["live"].last_step == 79 and runs["live"].size == new_size
    assert object_gets(sent) == [(f"{endpoint}/{key}", f"bytes={first_size}-{new_size - 1}")]
    assert len(sent) == 2

    sent.clear()  # the scalars come from the reader already up to date: one folder listing, no read
    scalars = read_scalars(f"{url}/live", cache=cache, storage_options=options)
    assert scalars["loss"].steps.tolist() == list(range(80)) and scalars.warnings == []
    assert len(sent) == 1 and not object_gets(sent)


def test_bad_objects_and_bad_roots(s3, tmp_path):
    endpoint, fs, _ = s3
    options = {"endpoint_url": endpoint}
    write_run(tmp_path / "good", 5)
    (tmp_path / "crashed").mkdir()
    (tmp_path / "crashed" / "events.out.tfevents.1.host").write_bytes(bytes(64))  # what a crash leaves
    upload(fs, tmp_path, "bad")
    runs = {r.name: r for r in list_runs(f"s3://{BUCKET}/bad", storage_options=options)}
    assert runs["good"].warnings == [] and runs["good"].last_step == 4
    assert runs["crashed"].tags == [] and runs["crashed"].warnings, "a warning on that run, the others intact"

    with pytest.raises(NotADirectoryError, match="not a folder"):
        list_runs(f"s3://{BUCKET}/no/such/prefix", storage_options=options)
    with pytest.raises(NotADirectoryError, match="not a folder"):
        list_runs("s3://no-such-bucket-here/x", storage_options=options)
    with pytest.raises(FileNotFoundError):
        read_scalars(f"s3://{BUCKET}/bad/missing", storage_options=options)


def _silent_port() -> socket.socket:
    """A listening socket that never answers: connections open, requests hang (a storage that
    does not respond)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


@pytest.fixture
def silent_port():
    sock = _silent_port()
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture
def jp_server_config(s3, jp_root_dir, silent_port):
    endpoint, fs, _ = s3
    write_run(jp_root_dir / "logs" / "here", 4, tags=("loss",))
    return {
        "ServerApp": {"jpserver_extensions": {"attn_widget": True}},
        "TensorBoardRuns": {
            "listing_max_age": 0,
            "remote_timeout": 2.0,
            "roots": {
                "local": str(jp_root_dir / "logs"),
                "cluster": f"s3://{BUCKET}/served",
                "gone": "s3://vanished-bucket/runs",
                "stuck": "s3://any-bucket/runs",
                "absent": str(jp_root_dir / "absent"),  # a local folder that is not there
            },
            "storage_options": {
                "s3": {"endpoint_url": endpoint},
                "stuck": {
                    "endpoint_url": f"http://127.0.0.1:{silent_port}",
                    "config_kwargs": {"read_timeout": 3, "connect_timeout": 1, "retries": {"max_attempts": 1}},
                },
            },
        },
    }


@pytest.fixture
def server_log(jp_serverapp):
    """(log text, debug text) logged while the test runs: the server's log at DEBUG plus every
    logger at INFO (what a server shows), and every logger at DEBUG (botocore's wire logs included)."""
    import io

    shown, debug = io.StringIO(), io.StringIO()
    handlers = [logging.StreamHandler(shown), logging.StreamHandler(shown), logging.StreamHandler(debug)]
    for handler, level in zip(handlers, (logging.DEBUG, logging.INFO, logging.DEBUG)):
        handler.setLevel(level)
    root, server = logging.getLogger(), jp_serverapp.log
    levels = root.level, server.level
    server.addHandler(handlers[0])
    root.addHandler(handlers[1])
    root.addHandler(handlers[2])
    root.setLevel(logging.DEBUG)
    server.setLevel(logging.DEBUG)
    yield shown, debug
    server.removeHandler(handlers[0])
    root.removeHandler(handlers[1])
    root.removeHandler(handlers[2])
    root.setLevel(levels[0])
    server.setLevel(levels[1])


@on_server_loop
async def test_server_named_roots_with_s3_failures_stay_on_their_root(
    s3, tmp_path_factory, jp_fetch, jp_root_dir, server_log
):
    endpoint, fs, _ = s3
    tmp_path = tmp_path_factory.mktemp("served")  # (pytest-jupyter's root is inside tmp_path)
    write_run(tmp_path / "exp1", 20)
    write_run(tmp_path / "exp2" / "nested", 7, tags=("loss",))
    upload(fs, tmp_path, "served")
    answers: list[str] = []

    async def fetch(*parts, **kwargs):
        response = await jp_fetch("attn-widget", *parts, **kwargs)
        answers.append(response.body.decode() + json.dumps(dict(response.headers)))
        return json.loads(response.body)

    # Jupyter stays responsive while the stuck root is waited on
    t0 = time.perf_counter()
    listing = asyncio.ensure_future(fetch("runs"))
    status_latencies = []
    while not listing.done():
        t = time.perf_counter()
        await jp_fetch("api", "status")
        status_latencies.append(time.perf_counter() - t)
        await asyncio.sleep(0.05)
    body = await listing
    took = time.perf_counter() - t0
    assert took < 2.0 + 2.5, "the stuck root is waited on for remote_timeout (2 s), not its storage's timeouts"
    assert max(status_latencies) < 0.5 and len(status_latencies) >= 5

    runs = {r["name"]: r for r in body["runs"]}
    assert set(runs) == {"local/here", "cluster/exp1", "cluster/exp2/nested"}
    assert runs["cluster/exp1"]["group"] == "cluster" and runs["local/here"]["group"] == "local"
    assert runs["cluster/exp1"]["tags"] == ["acc", "loss"] and runs["cluster/exp1"]["last_step"] == 19
    roots = {r["name"]: r for r in body["roots"]}
    assert set(roots) == {"local", "cluster", "gone", "stuck", "absent"}
    assert roots["absent"]["warnings"] == [f"cannot list this root: not a folder: {jp_root_dir / 'absent'}"]
    assert roots["local"]["warnings"] == roots["cluster"]["warnings"] == []
    assert roots["cluster"]["remote"] and not roots["local"]["remote"]
    assert (
        len(roots["gone"]["warnings"]) == 1
        and "not a folder: s3://vanished-bucket/runs" in roots["gone"]["warnings"][0]
    )
    assert roots["stuck"]["warnings"] == ["storage did not answer within 2 s; showing the last listing"]

    scalars = await fetch("runs", "cluster/exp2/nested", "scalars")
    assert scalars["run"] == "cluster/exp2/nested" and scalars["tags"]["loss"]["steps"] == list(range(7))
    posted = await fetch("scalars", method="POST", body=json.dumps({"run": "cluster/exp1", "tags": ["acc"]}))
    assert list(posted["tags"]) == ["acc"] and len(posted["tags"]["acc"]["steps"]) == 20
    local = await post_json(jp_fetch, run="local/here")
    assert local["tags"]["loss"]["steps"] == [0, 1, 2, 3]
    one_root = await fetch("runs", params={"logdir": "cluster/exp2"})
    assert [r["name"] for r in one_root["runs"]] == ["cluster/exp2/nested"]

    for parts, code in [
        (("runs", "nowhere/exp1", "scalars"), 404),  # no such root
        (("runs", "cluster/missing", "scalars"), 404),
        (("runs", "gone/x", "scalars"), 404),  # the bucket vanished: as a missing run
    ]:
        with pytest.raises(HTTPClientError) as info:
            await jp_fetch("attn-widget", *parts)
        assert info.value.code == code, parts
        answers.append(info.value.response.body.decode())
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("attn-widget", "scalars", method="POST", body=json.dumps({"run": "cluster/../cluster/exp1"}))
    assert info.value.code == 400
    answers.append(info.value.response.body.decode())

    every_answer = "\n".join(answers)
    logged, debug_logged = (text.getvalue() for text in server_log)
    assert "cluster/exp1" in every_answer and "/attn-widget/runs" in logged, "precondition: all was captured"
    for secret in (ACCESS_KEY, SECRET_KEY):
        assert secret not in every_answer
        assert secret not in logged
    # botocore's own DEBUG wire log (off unless a user turns it on) shows the signed Authorization
    # header, i.e. the access key id, never the secret key
    assert "Authorization" in debug_logged and SECRET_KEY not in debug_logged


@on_server_loop
async def test_server_listing_of_a_growing_s3_run(s3, tmp_path_factory, jp_fetch):
    endpoint, fs, sent = s3
    tmp_path = tmp_path_factory.mktemp("served")
    write_run(tmp_path / "run", 10, tags=("loss",))
    upload(fs, tmp_path, "served")
    first = {r["name"]: r for r in (await get_json(jp_fetch, "runs", logdir="cluster"))["runs"]}
    assert first["cluster/run"]["last_step"] == 9
    write_run(tmp_path / "run", 10, tags=("loss",), start=10)  # a resumed run: a second event file
    upload(fs, tmp_path, "served")
    sent.clear()
    second = {r["name"]: r for r in (await get_json(jp_fetch, "runs", logdir="cluster"))["runs"]}
    assert second["cluster/run"]["last_step"] == 19
    reads = object_gets(sent)
    assert len(reads) == 1 and reads[0][0].endswith(sorted((tmp_path / "run").iterdir())[-1].name)


def test_big_objects_are_decoded_in_the_reading_processes(s3, tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    from attn_widget.tensorboard import ReadWorkers
    from attn_widget.tensorboard._reader import _PackedSeries

    endpoint, fs, _ = s3
    with SummaryWriter(str(tmp_path / "big"), max_queue=10_000) as w:
        for step in range(30_000):
            w.add_scalar("train/loss", 1 / (step + 1), step)
    write_run(tmp_path / "small", 10)
    upload(fs, tmp_path, "workers")
    (big,) = (tmp_path / "big").iterdir()
    assert big.stat().st_size > 1 << 20  # decoded by a worker; the small run here
    url, options = f"s3://{BUCKET}/workers", {"endpoint_url": endpoint}
    workers = ReadWorkers(1)
    try:
        cache = ReaderCache(workers=workers)
        remote = list_runs(url, storage_options=options, cache=cache)
        assert [(r.name, r.tags, r.last_step, r.warnings) for r in remote] == [
            (r.name, r.tags, r.last_step, r.warnings) for r in list_runs(tmp_path)
        ]
        reader = cache.reader(f"{url}/big/{big.name}", fs)  # the cached reader, its connection kept
        assert reader.fs is fs and reader.file_offset == big.stat().st_size
        assert isinstance(reader._chunks, _PackedSeries)  # points arrive packed only from another process
        got = read_scalars(f"{url}/big", storage_options=options, cache=cache)
        assert got["train/loss"].values.tolist() == read_scalars(tmp_path / "big")["train/loss"].values.tolist()
    finally:
        workers.close()
