"""Reading 1,000,000 TensorBoard scalar points: attn_widget's reader vs TensorBoard's EventAccumulator.

Usage: ``python benchmarks/bench_tensorboard.py [--dir DIR] [--repeat N]``

Writes two logdirs once with torch's ``SummaryWriter`` (cached in ``DIR``, default
``$TMPDIR/attn_widget_bench_tb``; ~1 minute the first time):

* ``one_run``: 1 run × 5 tags × 200,000 steps;
* ``many_runs``: 20 runs × 5 tags × 10,000 steps.

Each measurement runs in a fresh Python process: wall time of the read (best of ``--repeat`` for
the fast readers, one run of EventAccumulator) and peak RSS growth over the process after imports.
EventAccumulator keeps all points (``size_guidance={"scalars": 0}``) and its scalars are pulled out
as lists; ours returns numpy arrays per tag (``read_scalars``, and ``list_runs`` + ``read_scalars``
for every run of the logdir).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

TAGS = ("loss", "accuracy", "lr", "grad_norm", "train/throughput")
LAYOUTS = {"one_run": (1, 200_000), "many_runs": (20, 10_000)}  # (runs, steps per tag)


def _write_run(run_dir: str, steps: int) -> None:
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(run_dir, max_queue=10_000, flush_secs=600)
    for step in range(steps):
        for k, tag in enumerate(TAGS):
            writer.add_scalar(tag, 1.0 / (step + 1) + k, step)
    writer.close()


def ensure_logdirs(base: str) -> dict[str, str]:
    """Write the benchmark logdirs under ``base`` unless already complete; name → path."""
    out = {}
    for name, (runs, steps) in LAYOUTS.items():
        path = os.path.join(base, name)
        done = os.path.join(path, "complete.json")
        if not os.path.exists(done):
            t0 = time.perf_counter()
            run_dirs = [os.path.join(path, f"run{i:02d}") for i in range(runs)]
            with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
                list(pool.map(_write_run, run_dirs, [steps] * runs))
            with open(done, "w") as f:
                json.dump({"runs": runs, "points": runs * steps * len(TAGS)}, f)
            print(f"wrote {name} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        out[name] = path
    return out


def _measure(method: str, logdir: str) -> dict:
    """Run in a child process: time one full read of ``logdir`` with ``method``."""
    import resource

    if method == "ours":
        from attn_widget.tensorboard import ReaderCache, list_runs, read_scalars

        def read() -> int:
            cache = ReaderCache()
            return sum(
                s.values.size for run in list_runs(logdir, cache=cache)
                for s in read_scalars(run.path, cache=cache).values()
            )
    else:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

        def read() -> int:
            total = 0
            for run in sorted(os.listdir(logdir)):
                path = os.path.join(logdir, run)
                if not os.path.isdir(path):
                    continue
                acc = EventAccumulator(path, size_guidance={"scalars": 0})
                acc.Reload()
                for tag in acc.Tags()["scalars"]:
                    events = acc.Scalars(tag)
                    total += len([e.value for e in events])
            return total

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    points = read()
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "points": points, "peak_mb": (peak - base) / 1024}


def run_child(method: str, logdir: str) -> dict:
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[3]); import bench_tensorboard as b; "
        "print(json.dumps(b._measure(sys.argv[1], sys.argv[2])))"
    )
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.dirname(here), os.environ.get("PYTHONPATH", "")]))
    res = subprocess.run([sys.executable, "-c", code, method, logdir, here], capture_output=True, text=True, env=env, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "attn_widget_bench_tb"))
    parser.add_argument("--repeat", type=int, default=3, help="runs of the fast reader (best kept)")
    args = parser.parse_args()
    logdirs = ensure_logdirs(args.dir)
    print(f"{'logdir':<10} {'reader':<22} {'points':>9} {'seconds':>8} {'peak MB':>8} {'speed-up':>9}")
    for name, path in logdirs.items():
        ea = run_child("ea", path)
        ours = min((run_child("ours", path) for _ in range(args.repeat)), key=lambda r: r["seconds"])
        if ours["points"] != ea["points"]:
            raise SystemExit(f"{name}: point counts differ: ours {ours['points']}, EventAccumulator {ea['points']}")
        print(f"{name:<10} {'EventAccumulator':<22} {ea['points']:>9} {ea['seconds']:>8.2f} {ea['peak_mb']:>8.0f} {'1.0x':>9}")
        print(f"{name:<10} {'attn_widget':<22} {ours['points']:>9} {ours['seconds']:>8.2f} {ours['peak_mb']:>8.0f} "
              f"{ea['seconds'] / ours['seconds']:>8.1f}x")


if __name__ == "__main__":
    main()
