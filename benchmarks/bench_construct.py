"""Python time to build an ``AttentionWidget`` (no browser): 12 layers × 12 heads × L tokens.

    .venv/bin/python benchmarks/bench_construct.py [--lengths 128 512] [--repeats 5]

Prints the best of ``repeats`` constructions, and the time the first head-statistics request adds
(the summary view or "Colour by" asks for them; exported pages compute them up front).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from attn_widget import AttentionWidget


def softmax_attention(layers: int, heads: int, n: int, seed: int = 0) -> np.ndarray:
    """Random attention probabilities ``(layers, heads, n, n)``, rows summing to 1."""
    scores = np.random.default_rng(seed).standard_normal((layers, heads, n, n), dtype=np.float32) * 3
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    return weights / weights.sum(-1, keepdims=True)


def best_of(repeats: int, build) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = build()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[128, 512])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"{'L':>5} {'construct s':>12} {'+ head stats s':>15}")
    for n in args.lengths:
        attention, tokens = softmax_attention(12, 12, n), [f"tok{i}" for i in range(n)]
        construct, widget = best_of(args.repeats, lambda: AttentionWidget(attention, tokens))  # noqa: B023
        t0 = time.perf_counter()
        if hasattr(widget, "stats_requested"):
            widget.stats_requested = True
        stats = time.perf_counter() - t0
        print(f"{n:>5} {construct:12.3f} {stats:15.3f}", flush=True)


if __name__ == "__main__":
    main()
