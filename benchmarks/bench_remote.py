"""Runs on object storage: requests and time of the reader against a real S3 API (moto's server on
127.0.0.1), and `tensorboard --logdir s3://...` (its boto3 S3 support, `--load_fast=false`: the Rust
data server does not read S3) on the same bucket.

Usage: ``python benchmarks/bench_remote.py [--runs 1000] [--tags 10] [--steps 10] [--no-tensorboard]``

The logdir: one run's event file written by torch's ``SummaryWriter`` (``--tags`` × ``--steps``),
uploaded as every run's file (``exp{i // 50}/run{i}``). Requests are counted where moto receives
them (every HTTP request to the S3 API, both clients alike).

Figures printed:

* cold listing of every run and tag (new reader cache): seconds, requests, object reads, bytes;
* warm refresh with nothing new: seconds, requests, object reads;
* one run's file grown (a longer upload): requests and the Range of its read vs the bytes added;
* TensorBoard: seconds from start until ``/data/plugin/scalars/tags`` lists every run and tag,
  requests meanwhile (or why it could not run).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

BUCKET = "bench-runs"


class Counter:
    """Requests moto's server receives: (method, path + query, Range header)."""

    def __init__(self):
        self.seen: list[tuple[str, str, str | None]] = []
        self.lock = threading.Lock()

    def install(self) -> None:
        from moto.server import DomainDispatcherApplication

        original = DomainDispatcherApplication.__call__
        counter = self

        def counting(app, environ, start_response):
            with counter.lock:
                counter.seen.append(
                    (
                        environ["REQUEST_METHOD"],
                        environ.get("PATH_INFO", "") + "?" + environ.get("QUERY_STRING", ""),
                        environ.get("HTTP_RANGE"),
                    )
                )
            return original(app, environ, start_response)

        DomainDispatcherApplication.__call__ = counting

    def take(self) -> list[tuple[str, str, str | None]]:
        with self.lock:
            out, self.seen = self.seen, []
        return out


def object_reads(seen) -> list[tuple[str, str | None]]:
    return [(path, rng) for method, path, rng in seen if method == "GET" and path.endswith("?")]


def event_bytes(directory: Path, tags: int, steps: int, more_steps: int) -> tuple[bytes, bytes]:
    """A real event file after ``steps`` steps and the same file after ``more_steps`` more."""
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(directory))
    for step in range(steps):
        for t in range(tags):
            writer.add_scalar(f"group{t % 3}/tag{t}", 1.0 / (step + t + 1), step)
    writer.flush()
    (path,) = directory.iterdir()
    first = path.read_bytes()
    for step in range(steps, steps + more_steps):
        for t in range(tags):
            writer.add_scalar(f"group{t % 3}/tag{t}", 1.0 / (step + t + 1), step)
    writer.close()
    return first, path.read_bytes()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_tensorboard(endpoint: str, counter: Counter, runs: int, tags: int, timeout: float) -> None:
    if shutil.which("tensorboard", path=os.path.dirname(sys.executable)) is None:
        print("tensorboard: not installed in this environment")
        return
    port = free_port()
    env = {**os.environ, "S3_ENDPOINT": endpoint, "AWS_REGION": "us-east-1"}
    counter.take()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [
            os.path.join(os.path.dirname(sys.executable), "tensorboard"),
            "--logdir",
            f"s3://{BUCKET}/logs",
            "--load_fast=false",
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--reload_interval",
            "5",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    listed = 0
    try:
        while time.perf_counter() - t0 < timeout and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/data/plugin/scalars/tags", timeout=5) as r:
                    body = json.load(r)
                listed = sum(len(v) for v in body.values())
                if len(body) >= runs and listed >= runs * tags:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        took = time.perf_counter() - t0
        seen = counter.take()
        if proc.poll() is not None:
            print(f"tensorboard: exited ({proc.returncode}): {proc.stdout.read()[-2000:]}")
        elif listed >= runs * tags:
            print(
                f"tensorboard --logdir s3://… --load_fast=false: every run and tag listed after {took:.1f} s "
                f"(start-up included), {len(seen)} requests, {len(object_reads(seen))} object reads"
            )
        else:
            print(
                f"tensorboard: {listed} of {runs * tags} run tags listed after {took:.0f} s (gave up), "
                f"{len(seen)} requests meanwhile"
            )
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--tags", type=int, default=10)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--no-tensorboard", action="store_true")
    parser.add_argument("--tensorboard-timeout", type=float, default=180.0)
    args = parser.parse_args()

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    import s3fs
    from moto.server import ThreadedMotoServer

    from attn_widget.tensorboard import ReaderCache, list_runs, read_scalars

    counter = Counter()
    counter.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        fs = s3fs.S3FileSystem(endpoint_url=endpoint)
        fs.mkdir(BUCKET)
        with tempfile.TemporaryDirectory() as tmp:
            first, grown = event_bytes(Path(tmp), args.tags, args.steps, args.steps)
        keys = [f"{BUCKET}/logs/exp{i // 50}/run{i}/events.out.tfevents.1700000000.bench.{i}" for i in range(args.runs)]
        t0 = time.perf_counter()
        fs.pipe({k: first for k in keys})
        print(
            f"logdir: {args.runs} runs × {args.tags} tags × {args.steps} steps, {len(first)} bytes each "
            f"(uploaded in {time.perf_counter() - t0:.1f} s)"
        )
        options = {"endpoint_url": endpoint}
        url = f"s3://{BUCKET}/logs"
        cache = ReaderCache()

        counter.take()
        t0 = time.perf_counter()
        runs = list_runs(url, cache=cache, storage_options=options)
        cold = time.perf_counter() - t0
        seen = counter.take()
        assert len(runs) == args.runs and all(len(r.tags) == args.tags for r in runs), "every run and tag listed"
        print(
            f"cold listing: {cold:.2f} s, {len(seen)} requests ({len(seen) - len(object_reads(seen))} listing, "
            f"{len(object_reads(seen))} object reads), {args.runs * len(first) / 1e6:.1f} MB read"
        )

        t0 = time.perf_counter()
        list_runs(url, cache=cache, storage_options=options)
        warm = time.perf_counter() - t0
        seen = counter.take()
        print(
            f"warm refresh, nothing new: {warm * 1000:.0f} ms, {len(seen)} requests, "
            f"{len(object_reads(seen))} object reads"
        )

        fs.pipe_file(keys[7], grown)
        counter.take()
        t0 = time.perf_counter()
        runs = list_runs(url, cache=cache, storage_options=options)
        took = time.perf_counter() - t0
        seen = counter.take()
        run7 = next(r for r in runs if r.name == "exp0/run7")
        print(
            f"one file grown {len(first)} → {len(grown)} bytes: {took * 1000:.0f} ms, {len(seen)} requests, "
            f"object reads {object_reads(seen)} (expected Range bytes={len(first)}-{len(grown) - 1}); "
            f"last step {run7.last_step}"
        )
        assert run7.last_step == 2 * args.steps - 1
        scalars = read_scalars(f"{url}/exp0/run7", cache=cache, storage_options=options)
        seen = counter.take()
        print(
            f"scalars of that run afterwards: {len(scalars)} tags, {len(seen)} requests "
            f"({len(object_reads(seen))} object reads)"
        )

        if not args.no_tensorboard:
            bench_tensorboard(endpoint, counter, args.runs, args.tags, args.tensorboard_timeout)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
