"""Bytes sent and Python time, attn-widget vs BertViz 1.4.1, on a random 12-layer × 12-head BERT;
paint and hover times of our views in headless Chromium.

    .venv/bin/python benchmarks/bench_widget.py [--lengths 64 128 256 512] [--bertviz-max 256]

BertViz builds its page in Python (JSON floats, embedded twice), so "bytes" is its HTML size; ours is
what the kernel sends the browser for the widget (binary buffers + JSON state, renderer included).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch
import transformers as tf
from ipywidgets.widgets.widget import _remove_buffers

from attn_widget import AttentionWidget

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def model_attention(length: int):
    torch.manual_seed(0)
    cfg = tf.BertConfig(
        hidden_size=96,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=192,
        max_position_embeddings=1024,
        vocab_size=1000,
        initializer_range=0.2,
        attn_implementation="eager",
    )
    model = tf.BertModel(cfg).eval()
    ids = torch.randint(5, 1000, (1, length))
    with torch.no_grad():
        out = model(input_ids=ids, output_attentions=True)
    return out.attentions, [f"tok{i}" for i in range(length)]


def ours(attention, tokens, repeats: int = 3) -> tuple[int, float]:
    """Bytes the kernel sends for the widget, and the best of ``repeats`` Python times."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        sent = wire_bytes(AttentionWidget(attention, tokens))
        best = min(best, time.perf_counter() - t0)
    return sent, best


def wire_bytes(widget: AttentionWidget) -> int:
    """What the kernel sends the browser for ``widget``: JSON state (renderer included) plus buffers."""
    state, _, buffers = _remove_buffers(widget.get_state())
    return len(json.dumps(state)) + sum(len(b) for b in buffers)


def bertviz(attention, tokens) -> tuple[int, float]:
    from bertviz import head_view

    t0 = time.perf_counter()
    html = head_view(attention, tokens, html_action="return")
    return len(html.data.encode()), time.perf_counter() - t0


def paint_times(widgets: dict[str, AttentionWidget], folder: Path) -> dict[str, dict[str, float]]:
    """Each widget as an exported page in headless Chromium: load + paint seconds, the widget's own paint
    ms, and for head views the median hover repaint ms (after the heatmap's first tile is drawn)."""
    from playwright.sync_api import sync_playwright

    out = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for name, widget in widgets.items():
            path = widget.save_html(folder / f"{name}.html")
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            t0 = time.perf_counter()
            page.goto(path.as_uri())
            page.wait_for_selector("body[data-attn-widget-ready=true]", timeout=300_000)
            result = {
                "load+paint s": time.perf_counter() - t0,
                "paint ms": float(page.get_attribute(".attn-widget", "data-paint-ms")),
            }
            if widget.view == "head":
                page.wait_for_function(
                    "() => !document.querySelector('.aw-heatmap') || Number(document.querySelector('.attn-widget').dataset.tiles) >= 1"
                )
                result["hover ms"] = page.evaluate(HOVER)
            out[name] = result
            page.close()
        browser.close()
    return out


# Median time of a hover repaint over 20 tokens/cells (the event handler plus a pixel read-back,
# which forces the canvas to finish drawing).
HOVER = """() => {
  const overlay = document.querySelector('.aw-head-overlay');
  const canvas = document.querySelector('.aw-head-canvas, .aw-heatmap-canvas');
  const lines = canvas.classList.contains('aw-head-canvas');
  const rect = overlay.getBoundingClientRect();
  const times = [];
  for (let i = 0; i < 20; i++) {
    const y = lines ? rect.top + 8 + (i * 7 % 40) * 18 + 9 : rect.top + 100 + i * 20;
    const x = lines ? rect.left + 20 : rect.left + 120 + i * 20;
    const t0 = performance.now();
    overlay.dispatchEvent(new MouseEvent('mousemove', { clientX: x, clientY: Math.min(y, rect.bottom - 2), bubbles: true }));
    canvas.getContext('2d').getImageData(0, 0, 1, 1);
    overlay.getContext('2d').getImageData(0, 0, 1, 1);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[10];
}"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lengths", type=int, nargs="+", default=[64, 128, 256, 512])
    ap.add_argument(
        "--bertviz-max", type=int, default=512, help="skip BertViz above this length (it takes 37 s and 1.7 GB at 512)"
    )
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-widget-"))
    print(
        f"{'L':>5} {'ours MB':>9} {'ours s':>8} {'BertViz MB':>11} {'BertViz s':>10} {'bytes ×':>8} {'time ×':>7}  export MB"
    )
    for n in args.lengths:
        attention, tokens = model_attention(n)
        sent, secs = ours(attention, tokens)
        export_mb = len(AttentionWidget(attention, tokens).to_html()) / 1e6
        if n <= args.bertviz_max:
            bv_bytes, bv_secs = bertviz(attention, tokens)
            ratio = f"{bv_bytes / sent:8.1f} {bv_secs / secs:7.1f}"
            bv = f"{bv_bytes / 1e6:11.1f} {bv_secs:10.2f}"
        else:
            bv, ratio = f"{'-':>11} {'-':>10}", f"{'-':>8} {'-':>7}"
        print(f"{n:>5} {sent / 1e6:9.2f} {secs:8.3f} {bv} {ratio}  {export_mb:9.2f}", flush=True)
    if not args.no_browser:
        for n in (128, 512):
            attention, tokens = model_attention(n)
            pages = {
                "model": AttentionWidget(attention, tokens, view="model"),
                "lines": AttentionWidget(attention, tokens, mode="lines"),
                "heatmap": AttentionWidget(attention, tokens, mode="heatmap"),
            }
            timings = paint_times(pages, folder)
            print(
                f"headless Chromium, L={n}: "
                + ", ".join(
                    f"{name} paint ms {t['paint ms']:.1f}"
                    + (f", {name} hover ms {t['hover ms']:.1f}" if "hover ms" in t else "")
                    for name, t in timings.items()
                ),
                flush=True,
            )
        print(
            "BertViz in headless Chromium (anchors.md): model view L=128 paints in 27 s; head-view hover at L=128 takes 1.56 s"
        )


if __name__ == "__main__":
    main()
