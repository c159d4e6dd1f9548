"""Scale to LLM-size attention: tiled transport, lazy extraction, long-sequence views.

    .venv/bin/python benchmarks/bench_scale.py [--lengths 256 512 1024 2048 4096]

Prints, for 32 layers × 32 heads: the first message to the browser and Python time per length,
model-view paint time in headless Chromium, the kernel time to open one head at full resolution,
kernel peak memory, lazy extraction on a random Llama-family model (8 KV heads), and the 12 × 12 ×
4,096 head view's paint and hover times. BertViz (anchors.md): 421 MB at L=256, 1.71 GB at L=512,
nothing usable beyond.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil
from bench_widget import paint_times, wire_bytes

from attn_widget import AttentionWidget
from attn_widget.arrays import LazyAttention


class PeakRSS:
    """Peak resident memory above the level at entry, sampled every 5 ms."""

    def __enter__(self):
        self.process = psutil.Process()
        self.base = self.peak = self.process.memory_info().rss
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self):
        while self.running:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.005)

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()

    @property
    def mb(self) -> float:
        return (self.peak - self.base) / 2**20


def synthetic(layers: int, heads: int, length: int, head_dim: int = 16) -> LazyAttention:
    rng = np.random.default_rng(0)
    q = rng.normal(size=(layers, heads, length, head_dim)).astype(np.float32)
    k = rng.normal(size=(layers, heads, length, head_dim)).astype(np.float32)
    return LazyAttention(q, k, np.full(layers, 0.5, np.float32), causal=True)


def lazy_llama(length: int) -> None:
    import torch
    import transformers as tf

    from attn_widget import extract_attention

    cfg = tf.LlamaConfig(
        hidden_size=256,
        intermediate_size=512,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=8,
        max_position_embeddings=length,
        vocab_size=1000,
    )
    torch.manual_seed(0)
    model = tf.LlamaForCausalLM(cfg).eval()

    class Words:  # a tokenizer-shaped object over random ids: the model sees real input_ids
        def __call__(self, text, *_, return_tensors="pt"):
            ids = torch.tensor([[int(w) for w in text.split()]])
            return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}

        def convert_ids_to_tokens(self, ids):
            return [f"t{i}" for i in ids]

    text = " ".join(str(i) for i in np.random.default_rng(0).integers(5, 1000, length))
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        result = extract_attention(model, Words(), text)
        widget = AttentionWidget.from_result(result, view="model", num_kv_heads=8)
        seconds = time.perf_counter() - t0
    print(
        f"Llama-family 32 layers × 32 heads (8 KV heads) × {length} tokens: lazy={type(result.attention).__name__}, "
        f"extraction + widget {seconds:.2f} s, first message {wire_bytes(widget) / 1e6:.1f} MB, "
        f"kernel peak +{mem.mb:.0f} MB (eager would hold {32 * 32 * length * length * 4 / 2**30:.1f} GiB)",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lengths", type=int, nargs="+", default=[256, 512, 1024, 2048, 4096])
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    print(f"{'L':>5} {'first msg MB':>13} {'python s':>9} {'peak MB':>8} {'open head ms':>13} {'model paint ms':>15}")
    for n in args.lengths:
        lazy = synthetic(32, 32, n)
        with PeakRSS() as mem:
            t0 = time.perf_counter()
            widget = AttentionWidget(lazy, [f"t{i}" for i in range(n)], view="model")
            secs = time.perf_counter() - t0
        t0 = time.perf_counter()
        widget._tile_server.window(
            {
                "kind": "self",
                "layer": 17,
                "heads": [5],
                "q0": 0,
                "q1": n,
                "k0": 0,
                "k1": n,
                "step": max(1, -(-n // 640)),
            }
        )
        open_ms = (time.perf_counter() - t0) * 1000
        paint = paint_times({"model": widget}, folder)["model"]["paint ms"]
        print(
            f"{n:>5} {wire_bytes(widget) / 1e6:13.2f} {secs:9.2f} {mem.mb:8.0f} {open_ms:13.0f} {paint:15.0f}",
            flush=True,
        )
    lazy_llama(1024)
    long = synthetic(12, 12, 4096, head_dim=32)
    head = AttentionWidget(long, [f"t{i}" for i in range(4096)], heads=[0, 1, 2])
    timings = paint_times({"head": head}, folder)["head"]
    print(
        f"12 × 12 × 4096 head view (exported page, thumbnails): paint {timings['paint ms']:.0f} ms, hover {timings['hover ms']:.1f} ms, "
        f"first message {wire_bytes(head) / 1e6:.1f} MB",
        flush=True,
    )


if __name__ == "__main__":
    main()
