"""Attention snapshots (attn_widget.tensorboard.log_attention / read_attention): size, training overhead, reading.

1. Bytes per snapshot on disk: 12 × 12 models (hidden 192, random weights; causal Llama-style and bidirectional
   BERT-style, plain and with peaked attention), one 128-token probe. Target ≤ 200 kB.
2. Overhead of logging every 500 steps on the demo's training (``attn_widget.demo.train``, 3 runs × 600 steps),
   and of the demo's own setting (every 600 // 24 = 25 steps): time spent inside the snapshots over the
   training time without them (robust on a shared machine), plus the wall-clock difference. Target ≤ 2 %.
3. Reading 100 snapshots of the 12 × 12 causal model (``read_attention``, then every ``.attention``
   decoded), and the kernel's work per step change of ``AttentionWidget.from_run``. Target ≤ 1 s.

Run: ``.venv/bin/python benchmarks/bench_snapshots.py`` (about 4 minutes on 2 cores).
"""

from __future__ import annotations

import os
import pathlib
import random
import tempfile
import time

import numpy as np
import torch
import transformers as tf
from torch.utils.tensorboard import SummaryWriter

from attn_widget import AttentionWidget, demo
from attn_widget.tensorboard import callback, log_attention, read_attention

LAYERS, HEADS, HIDDEN, TOKENS = 12, 12, 192, 128


def _tokenizer_and_probe():
    rng = random.Random(0)
    texts = [demo.sample_text(rng, TOKENS - 1) for _ in range(200)]
    tokenizer = demo.train_tokenizer(texts)
    probe = texts[0]
    assert len(tokenizer(probe)["input_ids"]) == TOKENS
    return tokenizer, probe


def _model(kind: str, tokenizer, peaked: bool):
    torch.manual_seed(0)
    common = dict(hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS, intermediate_size=4 * HIDDEN,
                  vocab_size=len(tokenizer), max_position_embeddings=2 * TOKENS)  # fmt: skip
    if peaked:
        common["initializer_range"] = 0.3  # sharper, more varied attention: harder to compress
    if kind == "causal":
        return tf.LlamaForCausalLM(tf.LlamaConfig(**common)).eval()
    return tf.BertModel(tf.BertConfig(**common)).eval()


def snapshot_sizes(tokenizer, probe: str, folder: pathlib.Path) -> None:
    print(f"1. bytes per snapshot, {LAYERS} × {HEADS} model, {TOKENS}-token probe (raw uint8: "
          f"{LAYERS * HEADS * TOKENS * TOKENS / 1e3:.0f} kB; target ≤ 200 kB)")  # fmt: skip
    for kind in ("causal", "bidirectional"):
        for peaked in (False, True):
            model = _model(kind, tokenizer, peaked)
            run = folder / f"size-{kind}-{peaked}"
            writer = SummaryWriter(str(run))
            writer.flush()
            path = next(run.glob("*tfevents*"))
            before = path.stat().st_size
            log_attention(writer, 0, model, tokenizer, [probe], stats=())  # the snapshot alone
            snapshot_bytes = path.stat().st_size - before
            started = time.perf_counter()
            log_attention(writer, 1, model, tokenizer, [probe])  # with the default statistics as scalars
            seconds = time.perf_counter() - started
            total = path.stat().st_size - before - snapshot_bytes
            writer.close()
            label = f"{kind}{', peaked' if peaked else ''}"
            print(f"   {label:24s} snapshot {snapshot_bytes / 1e3:6.1f} kB on disk; with {LAYERS * HEADS * 5} "
                  f"statistics scalars {total / 1e3:6.1f} kB; log_attention {seconds * 1e3:.0f} ms")  # fmt: skip


def _timed_training(out: pathlib.Path, every: int) -> tuple[float, float]:
    """Seconds of demo.train with a snapshot every ``every`` steps (0: none) and seconds inside the snapshots."""
    inside = [0.0]
    original = callback.log_attention

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            inside[0] += time.perf_counter() - started

    callback.log_attention = timed
    try:
        started = time.perf_counter()
        demo.train(out, demo.DEFAULT_STEPS, snapshot_every=every)
        return time.perf_counter() - started, inside[0]
    finally:
        callback.log_attention = original


def training_overhead(folder: pathlib.Path) -> None:
    print(f"2. overhead on the demo's training ({len(demo.RUNS)} runs × {demo.DEFAULT_STEPS} steps; target ≤ 2 %)")
    os.environ.pop("TENSORBOARD_LOGGING_DIR", None)
    base, _ = _timed_training(folder / "none", 0)
    print(f"   no snapshots:            {base:6.1f} s")
    for every in (500, demo.DEFAULT_STEPS // demo.SNAPSHOTS):
        total, inside = _timed_training(folder / f"every{every}", every)
        print(f"   every {every:3d} steps:         {total:6.1f} s; inside the snapshots {inside:5.2f} s = "
              f"{100 * inside / base:4.1f} % of the training (wall-clock difference {100 * (total / base - 1):+5.1f} %)")  # fmt: skip


def reading(tokenizer, probe: str, folder: pathlib.Path, count: int = 100) -> None:
    print(f"3. reading {count} snapshots ({LAYERS} × {HEADS}, {TOKENS} tokens; target ≤ 1 s)")
    model = _model("causal", tokenizer, peaked=True)
    run = folder / "read"
    writer = SummaryWriter(str(run))
    for step in range(count):
        log_attention(writer, step * 500, model, tokenizer, [probe])
    writer.close()
    size = sum(p.stat().st_size for p in run.iterdir())
    started = time.perf_counter()
    snapshots = read_attention(run)
    read = time.perf_counter() - started
    attention = [s.attention for s in snapshots.series()]
    decoded = time.perf_counter() - started
    assert len(attention) == count
    print(f"   run of {size / 1e6:.1f} MB: read_attention {read:.2f} s; with every attention decoded to float32 "
          f"{decoded:.2f} s")  # fmt: skip
    widget = AttentionWidget.from_run(run, view="model")
    times = []
    for step in snapshots.steps[:20]:
        started = time.perf_counter()
        widget.step = step
        times.append(time.perf_counter() - started)
    print(f"   AttentionWidget.from_run step change (kernel side, no display): median {np.median(times) * 1e3:.0f} ms")


def main() -> None:
    torch.set_num_threads(1)
    tokenizer, probe = _tokenizer_and_probe()
    with tempfile.TemporaryDirectory() as tmp:
        folder = pathlib.Path(tmp)
        snapshot_sizes(tokenizer, probe, folder)
        reading(tokenizer, probe, folder)
        training_overhead(folder)


if __name__ == "__main__":
    main()
