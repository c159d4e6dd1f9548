"""Time attn_widget.analysis on synthetic softmax attention and print the figures.

    .venv/bin/python benchmarks/bench_analysis.py

Targets (issue 7): every head statistic for 12 layers × 12 heads × 512 tokens ≤ 1 s; rollout for
32 × 32 × 1,024 ≤ 5 s (a 4.3 GB float32 input). Also times exact flow at its default length limit.
"""

from __future__ import annotations

import time

import numpy as np

from attn_widget.analysis import FLOW_MAX_TOKENS, attention_flow, attention_rollout, head_statistics


def random_attention(layers: int, heads: int, n: int, seed: int = 0) -> np.ndarray:
    """Row-stochastic float32 ``(layers, heads, n, n)``, built one layer at a time to bound memory."""
    rng = np.random.default_rng(seed)
    a = np.empty((layers, heads, n, n), np.float32)
    for layer in a:
        rng.random(out=layer, dtype=np.float32)
        np.power(layer, 8, out=layer)  # peakier rows than uniform noise
        layer /= layer.sum(-1, keepdims=True)
    return a


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    a = random_attention(12, 12, 512)
    tokens = ["[CLS]"] + [f"w{i % 300}" if i % 17 else "." for i in range(1, 511)] + ["[SEP]"]
    stats = head_statistics(a, tokens)
    t = best_of(lambda: head_statistics(a, tokens), 5)
    print(f"head_statistics 12x12x512 ({len(stats)} statistics): {t:.3f} s (target <= 1 s)")

    t = best_of(lambda: attention_rollout(a), 5)
    print(f"attention_rollout 12x12x512: {t:.3f} s")
    del a

    a = random_attention(32, 32, 1024)
    t = best_of(lambda: attention_rollout(a), 2)
    print(f"attention_rollout 32x32x1024 ({a.nbytes / 2**30:.1f} GiB input): {t:.3f} s (target <= 5 s)")
    t = best_of(lambda: attention_rollout(a, per_layer=True), 1)
    print(f"attention_rollout 32x32x1024 per_layer: {t:.3f} s")
    del a

    for layers in (6, 12):
        a = random_attention(layers, 12, FLOW_MAX_TOKENS)
        t = best_of(lambda a=a: attention_flow(a), 1)
        print(f"attention_flow {layers}x12x{FLOW_MAX_TOKENS} (exact, bidirectional): {t:.3f} s")
        causal = np.tril(a)
        causal /= causal.sum(-1, keepdims=True)
        t = best_of(lambda causal=causal: attention_flow(causal), 1)
        print(f"attention_flow {layers}x12x{FLOW_MAX_TOKENS} (exact, causal): {t:.3f} s")


if __name__ == "__main__":
    main()
