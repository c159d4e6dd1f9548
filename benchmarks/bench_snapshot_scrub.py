"""Issue-15 target timed in a real JupyterLab + headless Chromium: scrubbing 100 attention snapshots.

    .venv/bin/python benchmarks/bench_snapshot_scrub.py [--snapshots 100] [--moves 25] [--view both]

A 12 × 12 GPT-2 (random weights, small hidden size) logs ``--snapshots`` snapshots of a 128-token probe
with ``log_attention`` (the weights change between them, as in training) into the Lab server's root. Two
views scrub them:

* ``widget``: ``AttentionWidget.from_run`` shows them as a heatmap; a move of its step slider goes through
  the kernel.
* ``timeline``: the runs sidebar's Timeline panel (144 head thumbnails); a move of its scrubber fetches the
  snapshot from the server extension. Each position is visited once from the end back (nothing cached),
  then the same positions again forward ("revisited": what the panel keeps makes these cheaper).

Each move is timed in the page from the slider's input event to the first repaint with that step's
pixels. Target: ≤ 100 ms per step.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
TESTS = BENCHMARKS.parent / "tests"
sys.path[:0] = [str(TESTS), str(TESTS / "e2e")]

from lab import LabServer, chromium_page  # noqa: E402
from notebook import open_notebook, run_cell, write_notebook  # noqa: E402

WIDGET = """
from attn_widget import AttentionWidget
w = AttentionWidget.from_run({run!r}, mode="heatmap")
w
"""
CANVAS = ".attn-widget .aw-heatmap-canvas"
WATCH_WIDGET = """(sel) => {
  window.__scrubMs = null;
  const root = document.querySelector('.attn-widget');
  const before = document.querySelector(sel).toDataURL();
  let t0 = null;
  let paints = Number(root.dataset.paints);
  root.querySelector('input.aw-step').addEventListener('input', () => (t0 = performance.now()), { once: true });
  const tick = () => {
    const now = Number(root.dataset.paints);
    if (t0 !== null && now !== paints) {
      paints = now;
      if (document.querySelector(sel).toDataURL() !== before) return (window.__scrubMs = performance.now() - t0);
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""
TIMELINE = "#attn-widget-timeline"
WATCH_TIMELINE = """(step) => {
  window.__scrubMs = null;
  const panel = document.querySelector('#attn-widget-timeline');
  const heads = panel.querySelector('.jp-AttnTimeline-heads');
  let t0 = null;
  panel.querySelector('.jp-AttnTimeline-scrubber').addEventListener('input', () => (t0 = performance.now()), { once: true });
  const tick = () => {  // heads.dataset.step is set once every head of that step is drawn; this frame shows them
    if (t0 !== null && heads.dataset.step === step) return (window.__scrubMs = performance.now() - t0);
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""


def log_run(run: Path, snapshots: int) -> None:
    """``snapshots`` snapshots (steps 0, 10, …) of a 128-token probe by a 12 × 12 GPT-2 into folder ``run``."""
    import torch
    import transformers as tf
    from tiny_models import WORDS, make_tokenizer
    from torch.utils.tensorboard import SummaryWriter

    from attn_widget.tensorboard import log_attention

    tok = make_tokenizer(Path(tempfile.mkdtemp()))
    torch.manual_seed(0)
    config = tf.GPT2Config(
        n_layer=12, n_head=12, n_embd=96, n_positions=256, vocab_size=len(tok), initializer_range=0.2
    )
    model = tf.GPT2LMHeadModel(config)
    probe = " ".join(WORDS[i % len(WORDS)] for i in range(126))  # + [CLS] [SEP]: 128 tokens
    with SummaryWriter(str(run)) as writer:
        for step in range(snapshots):
            writer.add_scalar("train/loss", 3.0 - step / snapshots, step * 10)
            log_attention(writer, step * 10, model, tok, [probe])
            with torch.no_grad():
                for p in model.parameters():
                    p.add_(torch.randn_like(p) * 0.02)


def time_moves(page, slider, watch: str, positions: list[int], arg_of) -> list[float]:
    """Milliseconds from each move's input event to its repaint, in the page (checked once per frame, so
    the measuring does not load the page)."""
    times = []
    for index in positions:
        page.evaluate(watch, arg_of(index))
        slider.fill(str(index))
        page.wait_for_function("() => window.__scrubMs !== null")
        times.append(page.evaluate("() => window.__scrubMs"))
    return times


def figures(label: str, times: list[float]) -> str:
    times = sorted(times)
    return (
        f"{label}: median {statistics.median(times):.0f} ms, p90 {times[int(0.9 * (len(times) - 1))]:.0f} ms, "
        f"max {times[-1]:.0f} ms over {len(times)} moves (target ≤ 100 ms)"
    )


def bench_widget(page, server, run: Path, positions: list[int]) -> list[str]:
    write_notebook(server, "scrub.ipynb", [WIDGET.format(run=str(run))])
    open_notebook(page, server, "scrub.ipynb")
    t0 = time.perf_counter()
    run_cell(page, 0)
    page.locator(CANVAS).wait_for(state="visible")
    opened = time.perf_counter() - t0
    times = time_moves(page, page.locator(".attn-widget input.aw-step"), WATCH_WIDGET, positions, lambda _: CANVAS)
    return [
        f"widget heatmap: read and first painted {opened:.1f} s",
        figures("widget heatmap, step change repainted", times),
    ]


def bench_timeline(page, server, run: Path, steps: list[int], positions: list[int]) -> list[str]:
    from test_sidebar import configure, open_sidebar, runs

    configure(server, logdir=run.parent.name)
    open_sidebar(page, server)
    t0 = time.perf_counter()
    runs(page).filter(has_text=run.name).locator(".jp-AttnRuns-snapshots").click()
    page.wait_for_function(
        "s => document.querySelector('#attn-widget-timeline .jp-AttnTimeline-heads')?.dataset.step === s",
        arg=str(steps[-1]),
    )
    opened = time.perf_counter() - t0
    slider = page.locator(f"{TIMELINE} .jp-AttnTimeline-scrubber")
    fresh = time_moves(page, slider, WATCH_TIMELINE, positions, lambda i: str(steps[i]))
    again = time_moves(page, slider, WATCH_TIMELINE, positions[::-1], lambda i: str(steps[i]))
    return [
        f"timeline panel: opened with the latest step's 144 heads {opened:.1f} s",
        figures("timeline panel, step change repainted (each step new)", fresh),
        figures("timeline panel, step change repainted (steps revisited)", again),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--snapshots", type=int, default=100)
    ap.add_argument("--moves", type=int, default=25)
    ap.add_argument("--view", choices=("widget", "timeline", "both"), default="both")
    args = ap.parse_args()
    server = LabServer(Path(tempfile.mkdtemp(prefix="bench-scrub-")))
    lines = []
    try:
        server.wait_ready()
        run = server.root / "scrub" / "run"
        t0 = time.perf_counter()
        log_run(run, args.snapshots)
        lines.append(f"logged {args.snapshots} snapshots: {time.perf_counter() - t0:.1f} s")
        last = args.snapshots - 1
        positions = [round(i * last / args.moves) for i in range(args.moves, -1, -1)][1:]  # from the end back
        for view in ("widget", "timeline") if args.view == "both" else (args.view,):
            with chromium_page(300_000) as page:
                if view == "widget":
                    lines += bench_widget(page, server, run, positions)
                else:
                    lines += bench_timeline(page, server, run, [10 * s for s in range(args.snapshots)], positions)
    finally:
        server.stop()
    print(f"## {args.snapshots} snapshots of a 12 × 12 GPT-2, 128-token probe, in JupyterLab + headless Chromium")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
