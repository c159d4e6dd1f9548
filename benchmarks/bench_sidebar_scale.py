"""The runs sidebar at scale in a real JupyterLab + headless Chromium: 5,000 runs × 20 tags × 1,000 steps.

    .venv/bin/python benchmarks/bench_sidebar_scale.py [--dir DIR] [--tensorboard]

The logdir (written once under ``DIR/r5000``, default ``$TMPDIR/attn_widget_bench_runs``, in seconds;
5.2 GB of event files to read, 100 M points, 12 MB on disk) holds 5,000 run folders ``expNN/runNNNN`` (50 experiments × 100
runs). Each holds a real event file: one of ``TEMPLATES`` files written by torch's ``SummaryWriter``
(20 tags in four groups, 1,000 steps, each template its own seed and curves), hard-linked into the
run folder (the reader keys files by path, so every run is still read on its own).

JupyterLab's runs root is that logdir (``c.TensorBoardRuns.root_dir``); the sidebar auto-refreshes
every 10 s (the default). Figures printed, each timed in the page (``performance.now()``) unless said:

* **listed**: from running "Open TensorBoard Runs" until the sidebar's footer says ``5000 of 5000
  runs`` (the server's cold listing included: every record of every file is read), then until the
  sparklines of the rows in view are drawn; the listing's size and when it arrived (Resource Timing),
  the ``/runs`` requests sent meanwhile (the 10-s poll must not ask again while one is in flight),
  what the sidebar said meanwhile, the page's long tasks (Long Tasks API), Jupyter's ``/api/status``
  latency (polled from Python), and the RSS of the server's process tree then (psutil);
* a warm refresh: the refresh button → the list re-rendered with the new listing (timed from Python);
* **filter**: a regex typed one key at a time; per key, from the ``input`` event to the first frame
  painted after the list was re-rendered (median, p90, max), each result count checked;
* **scroll**: the list scrolled from top to end, one page per frame: frame time (median, max) and the
  most rows ever in the DOM (virtualisation keeps it bounded), the last run shown at the end;
* **chart**: a click on a run → every one of its 20 charts painted (coloured pixels in each canvas).

With ``--tensorboard``: ``tensorboard --load_fast=true`` on the same logdir, time until its scalars
plugin lists every run and tag, and its RSS (as ``bench_tensorboard.py`` does).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "e2e"))
sys.path.insert(0, str(HERE))

from bench_tensorboard import bench_tensorboard, percentile, tree_rss_mb  # noqa: E402
from lab import LabServer, chromium_page, open_lab  # noqa: E402

RUNS = 5000
EXPERIMENTS = 50
STEPS = 1000
TEMPLATES = 12
TAGS = (
    *(f"train/{n}" for n in ("loss", "acc", "perplexity", "grad_norm", "tokens_per_s", "step_time")),
    *(f"val/{n}" for n in ("loss", "acc", "f1", "precision", "recall", "perplexity")),
    *(f"optim/{n}" for n in ("lr", "momentum", "weight_decay", "loss_scale")),
    *(f"system/{n}" for n in ("gpu_mem", "cpu_util", "data_wait", "throughput")),
)
FILTER = "exp0[3-5]/run0?1\\d"  # typed one key at a time; every prefix is checked against Python's re


def run_name(i: int) -> str:
    return f"exp{i % EXPERIMENTS:02d}/run{i:04d}"


def template_curves(seed: int) -> np.ndarray:
    """(tags, steps) float32 curves of one template: decays, saturations, schedules and noise, so
    sparklines and last values differ between templates."""
    rng = np.random.default_rng(seed)
    t = np.arange(STEPS) / STEPS
    rate = rng.uniform(2, 8)
    decay = np.exp(-rate * t)
    noise = lambda scale: rng.normal(0, scale, STEPS)  # noqa: E731
    warmup_cosine = np.minimum(t / 0.05, 1) * 0.5 * (1 + np.cos(np.pi * t)) * rng.uniform(1e-4, 1e-3)
    loss = rng.uniform(1.5, 3) * decay + rng.uniform(0.05, 0.4) + noise(0.03)
    acc = 1 - 0.9 * decay + noise(0.01)
    curves = [
        loss,
        acc,
        np.exp(loss),
        np.abs(rng.uniform(0.5, 3) * decay + noise(0.2)),
        rng.uniform(8e3, 2e4) + noise(300),
        rng.uniform(0.1, 0.3) + np.abs(noise(0.02)),
        loss * rng.uniform(1.0, 1.2) + 0.05,
        acc * rng.uniform(0.9, 1.0),
        acc * 0.95,
        acc * 0.97,
        acc * 0.93,
        np.exp(loss * 1.1),
        warmup_cosine,
        np.full(STEPS, rng.choice([0.9, 0.95, 0.99])),
        np.full(STEPS, rng.choice([0.0, 0.01, 0.1])),
        2.0 ** np.floor(16 - 4 * t + rng.integers(0, 3)),
        rng.uniform(20, 70) + 0.5 * np.cumsum(noise(0.05)),
        50 + 30 * np.sin(t * rng.uniform(5, 40)) + noise(5),
        np.abs(noise(0.01)),
        rng.uniform(200, 400) * (1 + 0.1 * np.sin(t * 30)),
    ]
    return np.asarray(curves, np.float32)


def ensure_logdir(base: str) -> str:
    """Write ``base/r5000`` unless complete (a ``complete`` marker); returns its path."""
    path = os.path.join(base, "r5000")
    if os.path.exists(os.path.join(path, "complete")):
        return path
    from torch.utils.tensorboard import SummaryWriter

    shutil.rmtree(path, ignore_errors=True)
    templates_dir = os.path.join(base, "r5000_templates")
    shutil.rmtree(templates_dir, ignore_errors=True)
    t0 = time.perf_counter()
    templates = []
    for seed in range(TEMPLATES):
        folder = os.path.join(templates_dir, f"t{seed:02d}")
        curves = template_curves(seed)
        with SummaryWriter(folder, max_queue=100_000, flush_secs=3600) as writer:
            for step in range(STEPS):
                for tag, values in zip(TAGS, curves):
                    writer.add_scalar(tag, float(values[step]), step)
        (name,) = os.listdir(folder)
        templates.append(os.path.join(folder, name))
    for i in range(RUNS):
        run = os.path.join(path, run_name(i))
        os.makedirs(run)
        # a hard link: the run folder holds its own directory entry, the disk holds 12 files
        os.link(templates[i % TEMPLATES], os.path.join(run, f"events.out.tfevents.{1700000000 + i}.bench.{i}.0"))
    open(os.path.join(path, "complete"), "w").close()
    print(f"wrote r5000 in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return path


SIDEBAR = "#attn-widget-runs"
# Long tasks (> 50 ms on the main thread) and the page's longest freeze from now on.
WATCH_FREEZES = """() => {
  window.__freezes = [];
  new PerformanceObserver(list => window.__freezes.push(...list.getEntries().map(e => e.duration)))
    .observe({ type: 'longtask' });
}"""
# Run "Open TensorBoard Runs"; note when the footer first counts every run, then when every row in
# the DOM has its sparkline.
OPEN_AND_WATCH = r"""(count) => {
  const footer = document.querySelector('#attn-widget-runs .jp-AttnRuns-footer');
  const list = document.querySelector('#attn-widget-runs .jp-AttnRuns-list');
  const message = document.querySelector('#attn-widget-runs .jp-AttnRuns-message');
  window.__opened = { listed: null, sparks: null, meanwhile: null, request: null };
  const t0 = performance.now();
  requestAnimationFrame(() => setTimeout(() => (window.__opened.meanwhile = `${message.textContent} | ${footer.textContent}`), 500));
  const sparks = () => {
    const rows = list.querySelectorAll('.jp-AttnRuns-run');
    if (rows.length && [...rows].every(r => r.querySelector('.jp-AttnRuns-sparkline'))) {
      window.__opened.sparks = performance.now() - t0;
    } else {
      setTimeout(sparks, 20);
    }
  };
  const observer = new MutationObserver(() => {
    if (footer.textContent.endsWith(` ${count} of ${count} runs`)) {
      observer.disconnect();
      requestAnimationFrame(() => setTimeout(() => {
        window.__opened.listed = performance.now() - t0;
        const request = performance.getEntriesByType('resource').filter(e => /\/attn-widget\/runs(\?|$)/.test(e.name)).pop();
        window.__opened.request = request && { end: request.responseEnd - t0, took: request.duration, bytes: request.decodedBodySize };
        sparks();
      }));
    }
  });
  observer.observe(footer, { childList: true, characterData: true, subtree: true });
  window.jupyterapp.commands.execute('attn-widget:open-runs');
}"""
# Per input event of the filter box: from the event to the first frame after the sidebar's own
# (earlier registered, synchronous) handler re-rendered the list; the footer's count then.
WATCH_KEYS = """() => {
  window.__keys = [];
  const footer = document.querySelector('#attn-widget-runs .jp-AttnRuns-footer');
  document.querySelector('#attn-widget-runs .jp-AttnRuns-filter').addEventListener('input', e => {
    const start = e.timeStamp;
    const handled = performance.now() - start;
    requestAnimationFrame(() => setTimeout(() => window.__keys.push(
      { ms: performance.now() - start, handled, footer: footer.textContent })));
  });
}"""
# Scroll the list from top to end, one viewport per frame.
SCROLL = """async () => {
  const s = document.querySelector('#attn-widget-runs .jp-AttnRuns-scroller');
  const frame = () => new Promise(r => requestAnimationFrame(() => r(performance.now())));
  s.scrollTop = 0;
  let last = await frame();
  const frames = [];
  let maxRows = 0;
  const t0 = last;
  while (s.scrollTop + s.clientHeight < s.scrollHeight - 1) {
    s.scrollTop += s.clientHeight;
    const now = await frame();
    frames.push(now - last);
    last = now;
    maxRows = Math.max(maxRows, s.querySelectorAll('.jp-AttnRuns-run').length);
  }
  await new Promise(r => setTimeout(r, 300));
  const rows = [...s.querySelectorAll('.jp-AttnRuns-run')];
  return { frames, maxRows, total: last - t0, lastRun: rows[rows.length - 1]?.dataset.run ?? null,
           rowsAtEnd: rows.length };
}"""
# From a click on a run row to every chart of the scalars panel painted (`tags` charts, each a canvas
# created after the click, with coloured pixels: axes and grid are grey).
WATCH_CHARTS = """(tags) => {
  window.__chartMs = null;
  const coloured = c => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 0; i < d.length; i += 4 * 7) {
      if (Math.abs(d[i] - d[i + 1]) + Math.abs(d[i + 1] - d[i + 2]) > 60 && d[i + 3] > 100) return true;
    }
    return false;
  };
  document.querySelector('#attn-widget-runs .jp-AttnRuns-list').addEventListener('click', e => {
    const t0 = e.timeStamp;
    const charts = () => [...document.querySelectorAll('#attn-widget-scalars .jp-AttnScalars-chart canvas')];
    const before = new Set(charts());
    const check = () => {
      const canvases = charts();
      if (canvases.length === tags && canvases.every(c => !before.has(c) && coloured(c))) {
        window.__chartMs = performance.now() - t0;
      } else {
        setTimeout(check, 25);
      }
    };
    check();
  }, { capture: true, once: true });
}"""


def matching(query: str, names: list[str]) -> int:
    """How many ``names`` the sidebar's filter keeps for ``query`` (js/lab/runs.ts ``runMatcher``: a
    case-insensitive regex, literal text when not a valid one)."""
    query = query.strip()
    try:
        pattern = re.compile(query, re.IGNORECASE)
    except re.error:
        return sum(query.lower() in n.lower() for n in names)
    return sum(bool(pattern.search(n)) for n in names)


@contextlib.contextmanager
def jupyter_latency(server: LabServer):
    """Poll Jupyter's ``/api/status`` every 0.2 s while the block runs; yields the latencies (ms)."""
    latencies: list[float] = []
    done = threading.Event()

    def poll() -> None:
        while not done.wait(0.2):
            t = time.perf_counter()
            server.api("GET", "api/status")
            latencies.append(1000 * (time.perf_counter() - t))

    thread = threading.Thread(target=poll)
    thread.start()
    try:
        yield latencies
    finally:
        done.set()
        thread.join()


def lab_with_root(logdir: str) -> LabServer:
    base = Path(tempfile.mkdtemp(prefix="bench-sidebar-"))
    (base / "config").mkdir()
    config = {"TensorBoardRuns": {"root_dir": logdir}}
    (base / "config" / "jupyter_server_config.json").write_text(json.dumps(config))
    return LabServer(base)


def bench_sidebar(logdir: str) -> dict:
    names = [run_name(i) for i in range(RUNS)]
    out: dict = {}
    server = lab_with_root(logdir)
    try:
        server.wait_ready()
        with chromium_page(900_000) as page:
            listings: list[float] = []
            t_open = [0.0]
            page.on(
                "request",
                lambda r: (
                    listings.append(time.perf_counter() - t_open[0])
                    if "/attn-widget/runs" in r.url and "/lab/extensions/" not in r.url
                    else None
                ),
            )
            open_lab(page, server)
            page.evaluate(WATCH_FREEZES)
            t_open[0] = time.perf_counter()
            with jupyter_latency(server) as status_ms:
                page.evaluate(OPEN_AND_WATCH, RUNS)
                page.wait_for_function("() => window.__opened.listed !== null", polling=500, timeout=1_800_000)
            out["rss_listed_mb"] = tree_rss_mb(server.proc.pid)
            out["status_ms"] = sorted(status_ms)
            page.wait_for_function("() => window.__opened.sparks !== null", polling=200, timeout=600_000)
            opened = page.evaluate("() => window.__opened")
            out["listed_s"], out["sparks_s"] = opened["listed"] / 1000, opened["sparks"] / 1000
            out["meanwhile"], out["request"] = opened["meanwhile"], opened["request"]
            out["listing_requests"] = [round(t, 1) for t in listings]
            freezes = page.evaluate("() => window.__freezes")
            out["longest_task_ms"] = max(freezes, default=0.0)
            out["long_tasks"] = len(freezes)

            with page.expect_response(lambda r: "/attn-widget/runs" in r.url) as response:
                t = time.perf_counter()
                page.locator(f"{SIDEBAR} .jp-AttnRuns-refresh").click()
            response.value.finished()
            page.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r)))")
            out["warm_refresh_s"] = time.perf_counter() - t

            box = page.locator(f"{SIDEBAR} .jp-AttnRuns-filter")
            box.click()
            page.evaluate(WATCH_KEYS)
            for i, char in enumerate(FILTER):
                page.keyboard.type(char)
                page.wait_for_function("(n) => window.__keys.length >= n", arg=i + 1, polling=50)
            keys = page.evaluate("() => window.__keys")
            for i, key in enumerate(keys):
                expected = matching(FILTER[: i + 1], names)
                if not key["footer"].endswith(f" {expected} of {RUNS} runs"):
                    raise SystemExit(f"filter {FILTER[: i + 1]!r}: expected {expected} runs, footer {key['footer']!r}")
            out["keys_ms"] = sorted(k["ms"] for k in keys)
            out["keys_handled_ms"] = sorted(k["handled"] for k in keys)
            out["final_matches"] = matching(FILTER, names)
            box.fill("")
            page.wait_for_function("(n) => window.__keys.length > n", arg=len(keys), polling=50)
            out["clear_ms"] = page.evaluate("() => window.__keys[window.__keys.length - 1].ms")

            out["scroll"] = page.evaluate(SCROLL)
            if out["scroll"]["lastRun"] != names[-1]:
                raise SystemExit(f"scrolled to the end but the last row shown is {out['scroll']['lastRun']!r}")

            row = page.locator(f"{SIDEBAR} .jp-AttnRuns-run").last
            for label in ("chart_first_s", "chart_switch_s"):
                page.evaluate(WATCH_CHARTS, len(TAGS))
                row.click()
                page.wait_for_function("() => window.__chartMs !== null", polling=100, timeout=300_000)
                out[label] = page.evaluate("() => window.__chartMs") / 1000
                row = page.locator(f"{SIDEBAR} .jp-AttnRuns-run").nth(-3)
            out["rss_end_mb"] = tree_rss_mb(server.proc.pid)
    finally:
        server.stop()
        shutil.rmtree(server.root.parent, ignore_errors=True)  # its settings, log and empty notebook root
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "attn_widget_bench_runs"))
    ap.add_argument("--tensorboard", action="store_true", help="also time tensorboard --load_fast=true")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    logdir = ensure_logdir(args.dir)
    print(
        f"## runs sidebar: {RUNS:,} runs × {len(TAGS)} tags × {STEPS:,} steps ({RUNS * len(TAGS) * STEPS:,} points), "
        "JupyterLab + headless Chromium"
    )
    r = bench_sidebar(logdir)
    print(
        f"open → all {RUNS:,} runs listed: {r['listed_s']:.1f} s (server's cold listing included); "
        f"sparklines of the rows in view: {r['sparks_s']:.1f} s; server RSS then {r['rss_listed_mb']:.0f} MB"
    )
    request, status = r["request"], r["status_ms"]
    print(
        f"  the listing: {request['bytes'] / 2**20:.1f} MB of JSON, answered {request['end'] / 1000:.1f} s after open "
        f"(request {request['took'] / 1000:.1f} s), shown {r['listed_s'] - request['end'] / 1000:.2f} s later; "
        f"/runs requests sent at (s after open): {r['listing_requests']}"
    )
    print(
        f"  meanwhile the sidebar showed {r['meanwhile']!r}; page long tasks: {r['long_tasks']}, longest "
        f"{r['longest_task_ms']:.0f} ms; Jupyter's /api/status median {statistics.median(status):.0f} ms, "
        f"p99 {percentile(status, 0.99):.0f} ms, worst {status[-1]:.0f} ms"
    )
    print(f"warm refresh (button → list re-rendered, HTTP included): {r['warm_refresh_s'] * 1000:.0f} ms")
    keys, handled = r["keys_ms"], r["keys_handled_ms"]
    print(
        f"filter {FILTER!r} typed key by key ({len(keys)} keys, {r['final_matches']} runs left): input → repainted "
        f"median {statistics.median(keys):.1f} ms, p90 {percentile(keys, 0.9):.1f} ms, max {keys[-1]:.1f} ms "
        f"(handler alone: median {statistics.median(handled):.1f} ms); clearing it: {r['clear_ms']:.1f} ms"
    )
    s = r["scroll"]
    frames = sorted(s["frames"])
    print(
        f"scroll to the end, one page per frame ({len(frames)} frames, {s['total'] / 1000:.1f} s): frame median "
        f"{statistics.median(frames):.1f} ms, max {frames[-1]:.1f} ms; rows in the DOM at most {s['maxRows']} "
        f"({s['rowsAtEnd']} at the end, last {s['lastRun']})"
    )
    print(
        f"click a run → its {len(TAGS)} charts painted: {r['chart_first_s']:.2f} s (panel opened), "
        f"{r['chart_switch_s']:.2f} s (another run); server RSS at the end {r['rss_end_mb']:.0f} MB"
    )
    if args.tensorboard:
        tb = bench_tensorboard(logdir, RUNS, len(TAGS))
        print(
            f"tensorboard --load_fast=true: every run and tag listed after {tb['listed_s']:.1f} s, RSS {tb['rss_mb']:.0f} MB"
        )


if __name__ == "__main__":
    main()
