"""Export sizes and Python times on a random 12-layer × 12-head BERT (the model of bench_widget.py):
standalone file (``save_html``), the widget's mime-bundle fallbacks (``text/html`` within the cap,
``image/png`` preview) and what a displayed widget adds to the notebook.

    .venv/bin/python benchmarks/bench_export.py [--lengths 64 128 256 512]
"""

from __future__ import annotations

import argparse
import time

from bench_widget import model_attention

from attn_widget import AttentionWidget, config


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lengths", type=int, nargs="+", default=[64, 128, 256, 512])
    args = parser.parse_args()
    print(f"html_fallback_max_bytes = {config.html_fallback_max_bytes:,}")
    print("| L | standalone MB | to_html s | text/html MB (interactive?) | bundle s | image/png kB |")
    print("|---|---|---|---|---|---|")
    for length in args.lengths:
        widget = AttentionWidget(*model_attention(length))
        page, t_page = timed(widget.to_html)
        (data, _), t_bundle = timed(widget._repr_mimebundle_)
        interactive = "aw-state" in data["text/html"]
        print(
            f"| {length} | {len(page) / 1e6:.2f} | {t_page:.2f} | {len(data['text/html']) / 1e6:.2f} ({'yes' if interactive else 'static'}) "
            f"| {t_bundle:.2f} | {len(data['image/png']) / 1e3:.1f} |"
        )


if __name__ == "__main__":
    main()
