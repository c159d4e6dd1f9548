"""extract_generation: overhead over plain generate(), and memory of a long generation (lazy path).

    .venv/bin/python benchmarks/bench_generation.py [--new 256] [--long-prompt 768 --long-new 256]

1. GPT-2-size (12 layers × 12 heads, small hidden size, random weights): ``generate()`` as users run
   it (sdpa) vs ``extract_generation`` (eager, every step's rows stitched), greedy, same tokens.
2. The issue's long-generation target (32 layers × 32 heads, 8 KV heads, 3,072-token prompt + 1,024
   new tokens), scaled down so it runs on 2 cores: peak RSS above the model during extraction, the
   widget's first message, and a step change repainted in headless Chromium (exported page).
"""

from __future__ import annotations

import argparse
import random
import re
import tempfile
import time
from pathlib import Path

import torch
import transformers as tf
from bench_widget import CHROMIUM_ARGS, wire_bytes

from attn_widget import extract_generation
from attn_widget.demo import train_tokenizer
from attn_widget.generation_widget import GenerationWidget


def tokenizer_and_prompt(words: int, prompt_tokens: int):
    """A word-level tokenizer over ``words`` generated words, and a prompt of ``prompt_tokens`` of them."""
    vocab = [f"w{i}" for i in range(words)]
    rng = random.Random(0)
    tokenizer = train_tokenizer([" ".join(rng.sample(vocab, 50)) for _ in range(4 * words // 50)] + [" ".join(vocab)])
    return tokenizer, " ".join(rng.choice(vocab) for _ in range(prompt_tokens - 1))  # + [BOS]


def rss_kb(field: str) -> int:
    """``VmRSS``/``VmHWM`` of this process in kB."""
    return int(re.search(rf"{field}:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))


def reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux ≥ 4.0)


def overhead(new: int) -> None:
    tokenizer, prompt = tokenizer_and_prompt(2000, 32)
    torch.manual_seed(0)
    cfg = tf.GPT2Config(
        n_embd=192,
        n_layer=12,
        n_head=12,
        n_positions=1024,
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    model = tf.GPT2LMHeadModel(cfg).eval()
    ids = tokenizer(prompt, return_tensors="pt")
    options = dict(max_new_tokens=new, do_sample=False, eos_token_id=None, pad_token_id=tokenizer.pad_token_id)

    def plain():
        with torch.no_grad():
            return model.generate(**ids, **options)

    def ours():
        return extract_generation(model, tokenizer, prompt, **options)

    plain(), ours()  # warm-up
    times = {}
    for name, run in (("generate()", plain), ("extract_generation", ours)):
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            out = run()
            best = min(best, time.perf_counter() - t0)
        times[name] = best
    assert out.token_ids == plain()[0].tolist()
    print(f"\n## GPT-2-size 12 × 12 (hidden 192), 32-token prompt + {new} new tokens, greedy, best of 3")
    for name, t in times.items():
        print(f"{name:>20}: {t:.2f} s")
    print(f"{'overhead':>20}: {times['extract_generation'] / times['generate()']:.2f}× (target ≤ 1.5×)")


def long_generation(prompt_tokens: int, new: int) -> None:
    tokenizer, prompt = tokenizer_and_prompt(2000, prompt_tokens)
    torch.manual_seed(0)
    cfg = tf.LlamaConfig(
        hidden_size=512,
        intermediate_size=1024,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=8,
        max_position_embeddings=8192,
        vocab_size=len(tokenizer),
    )
    model = tf.LlamaForCausalLM(cfg).eval()
    model_mb = sum(p.numel() * p.element_size() for p in model.parameters()) / 2**20
    total = prompt_tokens + new
    eager_gb = 32 * 32 * total**2 * 4 / 2**30
    base = rss_kb("VmRSS")
    reset_peak()
    t0 = time.perf_counter()
    result = extract_generation(model, tokenizer, prompt, max_new_tokens=new, eos_token_id=None)
    seconds = time.perf_counter() - t0
    extract_peak = (rss_kb("VmHWM") - base) / 2**10
    t0 = time.perf_counter()
    widget = GenerationWidget.from_generation(result)
    widget_seconds = time.perf_counter() - t0
    widget_peak = (rss_kb("VmHWM") - base) / 2**10
    sent = wire_bytes(widget)
    print(f"\n## Llama 32 layers × 32 heads (8 KV heads, head_dim 16): {prompt_tokens}-token prompt + {new} new tokens")
    print(
        f"model weights: {model_mb:.0f} MiB; eager attention would be {eager_gb:.1f} GiB; "
        f"lazy: {type(result.attention).__name__} {result.attention.shape}"
    )
    print(f"extract_generation: {seconds:.1f} s, peak RSS above the model {extract_peak:.0f} MiB")
    print(
        f"+ widget (thumbnails): {widget_seconds:.1f} s, peak RSS above the model {widget_peak:.0f} MiB "
        f"(target at 3,072 + 1,024: ≤ 2 GB)"
    )
    print(f"first message: {sent / 2**20:.2f} MiB (target ≤ 20 MB)")
    with tempfile.TemporaryDirectory() as folder:
        print(
            f"step change repaint (headless Chromium, median of 10): {step_repaint_ms(widget, Path(folder)):.1f} ms (target ≤ 50 ms)"
        )


# Median time of a step change: the slider's input event (commit → change:step → synchronous repaint).
STEP = """() => {
  const slider = document.querySelector('.aw-gen-step');
  const times = [];
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    slider.value = String(Number(slider.max) - 1 - i * 7);
    slider.dispatchEvent(new Event('input', { bubbles: true }));
    document.querySelector('.aw-gen-text').getBoundingClientRect();  // force layout
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[5];
}"""


def step_repaint_ms(widget: GenerationWidget, folder: Path) -> float:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.goto(widget.save_html(folder / "generation.html").as_uri())
        page.wait_for_selector("body[data-attn-widget-ready=true]", timeout=300_000)
        ms = page.evaluate(STEP)
        browser.close()
    return ms


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--new", type=int, default=256)
    ap.add_argument("--long-prompt", type=int, default=768)
    ap.add_argument("--long-new", type=int, default=256)
    args = ap.parse_args()
    torch.set_num_threads(2)
    overhead(args.new)
    long_generation(args.long_prompt, args.long_new)


if __name__ == "__main__":
    main()
