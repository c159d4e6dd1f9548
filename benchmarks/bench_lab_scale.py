"""Issue-6 targets timed in a real JupyterLab + headless Chromium: 32 layers × 32 heads × 1,024 tokens.

    .venv/bin/python benchmarks/bench_lab_scale.py [--length 1024]

Prints the time from running the widget's cell to the model view painted (kernel thumbnails included), and
from clicking a thumbnail to that head drawn at screen resolution (a tile fetched from the kernel).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))

from lab import LabServer, chromium_page  # noqa: E402
from notebook import open_notebook, run_cell, write_notebook  # noqa: E402

DATA = """
import numpy as np
from attn_widget import AttentionWidget
from attn_widget.arrays import LazyAttention
rng = np.random.default_rng(0)
q, k = rng.normal(size=(2, 32, 32, {n}, 16)).astype(np.float32)
lazy = LazyAttention(q, k, np.full(32, 0.5, np.float32), causal=True)
"""
WIDGET = 'AttentionWidget(lazy, [f"t{{i}}" for i in range({n})], view="model")'


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--length", type=int, default=1024)
    args = ap.parse_args()
    server = LabServer(Path(tempfile.mkdtemp(prefix="bench-lab-")))
    try:
        server.wait_ready()
        write_notebook(server, "scale.ipynb", [DATA.format(n=args.length), WIDGET.format(n=args.length)])
        with chromium_page(120_000) as page:
            open_notebook(page, server, "scale.ipynb")
            run_cell(page, 0)  # the attention's queries and keys (not timed)
            t0 = time.perf_counter()
            page.evaluate(
                "() => { window.jupyterapp.shell.currentWidget.content.activeCellIndex = 1; window.jupyterapp.commands.execute('notebook:run-cell'); }"
            )
            page.locator(".attn-widget .aw-model-canvas").wait_for(state="visible")
            painted = time.perf_counter() - t0
            canvas = page.locator(".attn-widget .aw-model-canvas")
            box = canvas.bounding_box()
            t = (box["width"] - 64) / 32 - 4  # thumbnail side (64 px labels, 4 px gaps)
            opened = []
            for layer, head in ((5, 7), (20, 30), (31, 0)):
                tiles = int(page.evaluate("() => Number(document.querySelector('.attn-widget').dataset.tiles ?? 0)"))
                t1 = time.perf_counter()
                canvas.click(position={"x": 64 + head * (t + 4) + t / 2, "y": 20 + layer * (t + 4) + t / 2})
                page.wait_for_function(
                    "(n) => Number(document.querySelector('.attn-widget').dataset.tiles ?? 0) > n", arg=tiles
                )
                opened.append((time.perf_counter() - t1) * 1000)
    finally:
        server.stop()
    print(
        f"32 × 32 × {args.length} in JupyterLab: cell run → model view painted {painted:.2f} s (target ≤ 3 s); "
        f"click a thumbnail → head drawn from a kernel tile: {', '.join(f'{ms:.0f}' for ms in opened)} ms (target ≤ 300 ms)"
    )


if __name__ == "__main__":
    main()
