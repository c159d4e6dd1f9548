"""The runs sidebar's server against `tensorboard --load_fast=true` on the same logdirs.

Usage: ``python benchmarks/bench_tensorboard.py [--dir DIR] [--layouts r2000,r200] [--no-tensorboard]``

Logdirs (written once under ``DIR``, default ``$TMPDIR/attn_widget_bench_runs``): one run's event
file is written by torch's ``SummaryWriter``, then copied into every run folder (real event files;
writing 20 M points through torch would take most of an hour on 2 cores):

* ``r2000``: 2,000 runs × 4 tags × 100 steps (in 20 experiment folders);
* ``r200``: 200 runs × 10 tags × 10,000 steps (20 M points).

Figures printed per logdir:

* TensorBoard (Rust data server): seconds from start until ``/data/plugin/scalars/tags`` lists
  every run and tag (and from its first HTTP answer), and the RSS of TensorBoard and its data
  server then;
* attn-widget in a real ``jupyter server``: seconds from start until ``GET attn-widget/runs`` lists
  every run and tag (server start-up included, as for TensorBoard) and the request alone; RSS then
  (with and without the reading processes, which stop after ``read_processes_idle``);
  a warm refresh with nothing new (median and p95 of 20, HTTP included);
* with ``r200``: 100 concurrent cold ``POST attn-widget/scalars`` (one run each, every tag) while
  ``GET attn-widget/runs`` and Jupyter's ``/api/status`` are polled: their worst and p99 latency;
  once with the event files still held from the listing (answers cold: downsampling and JSON), once
  with a reader cache too small to hold them (files read from disk again, as in a logdir larger
  than ``max_cached_points``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

LAYOUTS = {  # name: (runs, tags, steps)
    "r2000": (2000, ("train/loss", "train/accuracy", "lr", "val/loss"), 100),
    "r200": (200, tuple(f"{group}/{name}" for group in ("train", "val") for name in ("loss", "acc", "f1", "grad", "lr")), 10_000),
}
TOKEN = "bench-token"


def ensure_logdir(base: str, name: str) -> str:
    """Write logdir ``name`` under ``base`` unless complete; returns its path."""
    runs, tags, steps = LAYOUTS[name]
    path = os.path.join(base, name)
    if os.path.exists(os.path.join(path, "complete")):
        return path
    from torch.utils.tensorboard import SummaryWriter

    shutil.rmtree(path, ignore_errors=True)
    template = os.path.join(base, f"{name}_template")
    shutil.rmtree(template, ignore_errors=True)
    t0 = time.perf_counter()
    with SummaryWriter(template, max_queue=100_000, flush_secs=3600) as writer:
        for step in range(steps):
            for k, tag in enumerate(tags):
                writer.add_scalar(tag, 1.0 / (step + 1) + k, step)
    (source,) = [os.path.join(template, f) for f in os.listdir(template)]
    for i in range(runs):
        run = os.path.join(path, f"exp{i % 20:02d}", f"run{i:04d}")
        os.makedirs(run)
        shutil.copyfile(source, os.path.join(run, f"events.out.tfevents.{1700000000 + i}.bench.{i}.0"))
    open(os.path.join(path, "complete"), "w").close()
    print(f"wrote {name} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree_rss_mb(pid: int, children: bool = True) -> float:
    """Resident memory of ``pid`` and (``children``) all its descendants (MB), from /proc."""
    import psutil

    proc = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [proc, *(proc.children(recursive=True) if children else [])]) / 2**20


def get(url: str, data: bytes | None = None, timeout: float = 600) -> bytes:
    request = urllib.request.Request(url, data=data, headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


def complete(listing: dict[str, set], runs: int, tags: int) -> bool:
    return len(listing) == runs and all(len(t) == tags for t in listing.values())


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def bench_tensorboard(logdir: str, runs: int, tags: int) -> dict:
    port = free_port()
    tensorboard = os.path.join(os.path.dirname(sys.executable), "tensorboard")
    t0 = time.perf_counter()
    proc = subprocess.Popen([tensorboard, "--logdir", logdir, "--load_fast=true", "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ready = None
    try:
        while True:
            try:
                body = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/data/plugin/scalars/tags", timeout=60).read())
                ready = ready or time.perf_counter()
                if complete({r: set(t) for r, t in body.items()}, runs, tags):
                    break
            except OSError:
                pass
            if time.perf_counter() - t0 > 900:
                raise TimeoutError("TensorBoard did not list every run within 15 minutes")
            time.sleep(0.1)
        done = time.perf_counter()
        return {"listed_s": done - t0, "after_ready_s": done - ready, "rss_mb": tree_rss_mb(proc.pid)}
    finally:
        stop(proc)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_ours(logdir: str, runs: int, tags: int, concurrent: bool, options: tuple[str, ...] = ()) -> dict:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tempfile.TemporaryFile()
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root", f"--port={port}",
                             f"--ServerApp.token={TOKEN}", f"--ServerApp.root_dir={logdir}",
                             "--ServerApp.jpserver_extensions={'attn_widget': True}", *options],
                            stdout=subprocess.DEVNULL, stderr=log)
    try:
        while True:
            try:
                get(f"{base}/api/status", timeout=5)
                break
            except OSError:
                if proc.poll() is not None:
                    log.seek(0)
                    raise SystemExit(f"jupyter server exited: {log.read().decode()[-2000:]}") from None
                time.sleep(0.05)
        t1 = time.perf_counter()
        listing = json.loads(get(f"{base}/attn-widget/runs"))
        t2 = time.perf_counter()
        if not complete({r["name"]: set(r["tags"]) for r in listing["runs"]}, runs, tags):
            raise SystemExit("attn-widget listed fewer runs or tags than written")
        out = {"listed_s": t2 - t0, "request_s": t2 - t1, "rss_mb": tree_rss_mb(proc.pid),
               "server_rss_mb": tree_rss_mb(proc.pid, children=False)}
        warm = []
        for _ in range(20):
            t = time.perf_counter()
            get(f"{base}/attn-widget/runs")
            warm.append(time.perf_counter() - t)
        out["warm_median_ms"] = 1000 * statistics.median(warm)
        out["warm_p95_ms"] = 1000 * percentile(warm, 0.95)
        if concurrent:
            out.update(concurrent_reads(base, [r["name"] for r in listing["runs"]][:100]))
            out["rss_after_reads_mb"] = tree_rss_mb(proc.pid)
        return out
    finally:
        stop(proc)


def concurrent_reads(base: str, names: list[str]) -> dict:
    """100 cold scalar reads at once; meanwhile poll the listing and Jupyter's status."""
    done = threading.Event()
    runs_lat: list[float] = []
    status_lat: list[float] = []

    def poll(url: str, into: list[float]) -> None:
        while not done.is_set():
            t = time.perf_counter()
            get(url)
            into.append(time.perf_counter() - t)
            time.sleep(0.01)

    pollers = [threading.Thread(target=poll, args=(f"{base}/attn-widget/runs", runs_lat)),
               threading.Thread(target=poll, args=(f"{base}/api/status", status_lat))]
    for thread in pollers:
        thread.start()
    t0 = time.perf_counter()
    body = lambda name: json.dumps({"run": name, "tags": None, "max_points": 1000}).encode()  # noqa: E731
    with ThreadPoolExecutor(len(names)) as pool:
        list(pool.map(lambda n: get(f"{base}/attn-widget/scalars", data=body(n)), names))
    seconds = time.perf_counter() - t0
    done.set()
    for thread in pollers:
        thread.join()
    return {"reads_s": seconds, "runs_max_ms": 1000 * max(runs_lat), "runs_p99_ms": 1000 * percentile(runs_lat, 0.99),
            "status_p99_ms": 1000 * percentile(status_lat, 0.99), "status_max_ms": 1000 * max(status_lat)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "attn_widget_bench_runs"))
    parser.add_argument("--layouts", default="r2000,r200")
    parser.add_argument("--no-tensorboard", action="store_true", help="skip TensorBoard (e.g. not installed)")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    for name in args.layouts.split(","):
        runs, tags, steps = LAYOUTS[name]
        logdir = ensure_logdir(args.dir, name)
        print(f"== {name}: {runs} runs × {len(tags)} tags × {steps} steps ({runs * len(tags) * steps:,} points)")
        if not args.no_tensorboard:
            tb = bench_tensorboard(logdir, runs, len(tags))
            print(f"tensorboard --load_fast=true  every run and tag listed after {tb['listed_s']:6.2f} s   "
                  f"RSS {tb['rss_mb']:6.0f} MB   (after its first HTTP answer {tb['after_ready_s']:.2f} s)")
        ours = bench_ours(logdir, runs, len(tags), concurrent=name == "r200")
        print(f"attn-widget (jupyter server)  every run and tag listed after {ours['listed_s']:6.2f} s   "
              f"RSS {ours['rss_mb']:6.0f} MB   (listing request {ours['request_s']:.2f} s; RSS without the "
              f"reading processes {ours['server_rss_mb']:.0f} MB)")
        print(f"attn-widget warm refresh, nothing new: median {ours['warm_median_ms']:.1f} ms, "
              f"p95 {ours['warm_p95_ms']:.1f} ms (HTTP included)")
        if "reads_s" in ours:
            print_reads("100 concurrent scalar reads (files read by the listing, answers cold)", ours)
            # Files cold too: a reader cache of 400k points keeps ~10 of the 200 files after the listing,
            # so the 100 requests read their event files from disk (a logdir larger than the cache).
            cold = bench_ours(logdir, runs, len(tags), concurrent=True,
                              options=("--TensorBoardRuns.max_cached_points=400000",))
            print_reads("100 concurrent scalar reads (event files not in memory: read from disk)", cold)


def print_reads(label: str, out: dict) -> None:
    print(f"{label}: {out['reads_s']:.2f} s; meanwhile GET runs worst {out['runs_max_ms']:.0f} ms "
          f"(p99 {out['runs_p99_ms']:.0f} ms), /api/status p99 {out['status_p99_ms']:.0f} ms "
          f"(worst {out['status_max_ms']:.0f} ms); RSS after {out['rss_after_reads_mb']:.0f} MB")


if __name__ == "__main__":
    main()
