"""Offline demo: train tiny causal transformers whose heads learn visible patterns, then show them.

``python -m attn_widget.demo`` trains (once; ``--retrain`` to redo) 2-layer Llama-style decoders
(decoder-only like GPT-2, with rotary positions, which let a previous-token head form within a few hundred
steps; GPT-2's learned positions did not in 3,000) with the Hugging Face ``Trainer`` on word
sequences ending in a span repeated twice, so previous-token and induction heads form. Each run logs to TensorBoard under ``<out>/runs``,
with attention snapshots of ``EXAMPLE`` (:class:`~attn_widget.tensorboard.AttentionCallback`); the best
model and its tokenizer are saved to ``<out>/model``. Then JupyterLab opens ``examples/`` on
``attention_demo.ipynb``; headless (``CI`` set, ``--no-browser`` or no display) it writes standalone
HTML views instead and checks that the pattern formed (exit status 1 if not).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import random
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

#: The task's words: a sequence is random words, then a span of them repeated.
WORDS = (
    "red blue green gold pink grey cat dog fox owl bee cow hen elk ant bat sun moon star rain snow "
    "wind hill lake tree leaf rock sand fire ice sea sky one two six ten box cup pen hat map key "
    "bell drum ship car bus"
).split()
SEQ_LEN = 32  # words per training sequence, after [BOS]
EXAMPLE = "fox rain cup bell two lake moon red ship owl fox rain cup bell two lake moon red ship owl"
INDUCTION_SPAN = 12  # a perfect induction head scores 12/25 = 0.48 on [BOS] + r + r (analysis.induction_score)
ENV_MODEL = "ATTN_WIDGET_DEMO_MODEL"  # the notebook loads the model from here when set
REPO_EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"
NOTEBOOK = "attention_demo.ipynb"


@dataclass(frozen=True)
class Run:
    """One training run: its name (the TensorBoard run folder) and what differs between runs."""

    name: str
    heads: int
    learning_rate: float


#: Measured: both heads form in the second run by step 400, in the first by 500 (at lr 4e-3 not in 500);
#: at lr 3e-4 nothing forms in 1,500 steps.
RUNS = (
    Run("4heads-lr2e-3", heads=4, learning_rate=2e-3),
    Run("2heads-lr2e-3", heads=2, learning_rate=2e-3),
    Run("4heads-lr3e-4", heads=4, learning_rate=3e-4),
)
LAYERS, HIDDEN, BATCH = 2, 64, 32
DEFAULT_STEPS = 600
#: Attention snapshots per run (every ``steps // SNAPSHOTS`` steps, plus step 0): measured to add ~1 % to training.
SNAPSHOTS = 24


def default_out() -> pathlib.Path:
    """``examples/demo_output`` in a source checkout, else ``./attn-widget-demo``."""
    if (REPO_EXAMPLES / NOTEBOOK).exists():
        return REPO_EXAMPLES / "demo_output"
    return pathlib.Path.cwd() / "attn-widget-demo"


# --- data and tokenizer -------------------------------------------------------------------------


def sample_text(rng: random.Random, length: int = SEQ_LEN) -> str:
    """Random words, then a random-length span of them repeated until ``length`` words."""
    span = rng.randint(4, length // 2)
    prefix = [rng.choice(WORDS) for _ in range(length - 2 * span)]
    repeated = [rng.choice(WORDS) for _ in range(span)]
    return " ".join(prefix + repeated + repeated)


def train_tokenizer(texts: list[str]) -> Any:
    """A word-level tokenizer trained with ``tokenizers`` on ``texts``, adding ``[BOS]`` in front."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.train_from_iterator(texts, trainers.WordLevelTrainer(special_tokens=["[PAD]", "[UNK]", "[BOS]"]))
    tok.post_processor = processors.TemplateProcessing(
        single="[BOS] $A", special_tokens=[("[BOS]", tok.token_to_id("[BOS]"))]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="[BOS]", eos_token="[BOS]", pad_token="[PAD]", unk_token="[UNK]"
    )


class _Sequences:
    """Token ids of ``texts`` as a map-style dataset for the ``Trainer``."""

    def __init__(self, tokenizer: Any, texts: list[str]) -> None:
        self.ids = tokenizer(texts)["input_ids"]

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, list[int]]:
        return {"input_ids": self.ids[i]}


def make_model(tokenizer: Any, heads: int, seed: int = 0) -> Any:
    """A fresh, randomly initialised ``LAYERS``-layer Llama-style decoder with ``heads`` heads."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=HIDDEN,
        intermediate_size=4 * HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=2 * SEQ_LEN,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    return LlamaForCausalLM(config)


# --- training -----------------------------------------------------------------------------------


def train(out: pathlib.Path, steps: int, snapshot_every: int | None = None) -> dict[str, Any]:
    """Train every run in ``RUNS``, save the best (lowest last eval loss) to ``out/model``; return the summary.

    ``snapshot_every``: steps between attention snapshots (default ``steps // SNAPSHOTS``; 0: none)."""
    import torch
    from transformers import DataCollatorForLanguageModeling, Trainer, TrainingArguments

    from .tensorboard.callback import AttentionCallback

    # One thread (~18 ms a step): two are faster only while both cores are free (13 ms); when another
    # process holds one, OpenMP's spinning barriers made steps 3-30x slower (an 800-step run took 449 s).
    torch.set_num_threads(1)
    rng = random.Random(0)
    train_texts = [sample_text(rng) for _ in range(steps * BATCH)]
    eval_texts = [sample_text(rng) for _ in range(256)]
    tokenizer = train_tokenizer(train_texts)
    train_set, eval_set = _Sequences(tokenizer, train_texts), _Sequences(tokenizer, eval_texts)
    collator = DataCollatorForLanguageModeling(tokenizer, mlm=False)
    summary: dict[str, Any] = {"steps": steps, "runs": {}}
    best = None
    for run in RUNS:
        run_dir = out / "runs" / run.name
        shutil.rmtree(run_dir, ignore_errors=True)  # a retrain replaces the run's curves
        os.environ["TENSORBOARD_LOGGING_DIR"] = str(run_dir)  # read by Trainer's TensorBoardCallback
        args = TrainingArguments(
            output_dir=str(run_dir),
            report_to="tensorboard",
            max_steps=steps,
            per_device_train_batch_size=BATCH,
            per_device_eval_batch_size=256,
            learning_rate=run.learning_rate,
            lr_scheduler_type="constant_with_warmup",
            warmup_steps=steps // 20,
            logging_steps=max(1, steps // 20),
            eval_strategy="steps",
            eval_steps=max(1, steps // 5),
            save_strategy="no",
            use_cpu=True,
            seed=0,
            dataloader_num_workers=0,
        )
        model = make_model(tokenizer, run.heads)
        print(f"training {run.name} ({steps} steps) -> {run_dir}")
        started = time.perf_counter()
        every = max(1, steps // SNAPSHOTS) if snapshot_every is None else snapshot_every
        trainer = Trainer(
            model=model, args=args, train_dataset=train_set, eval_dataset=eval_set, data_collator=collator,
            callbacks=[AttentionCallback(tokenizer, [EXAMPLE], every_n_steps=every)] if every else [],
        )  # fmt: skip
        trainer.train()
        eval_loss = [log["eval_loss"] for log in trainer.state.log_history if "eval_loss" in log][-1]
        summary["runs"][run.name] = {**asdict(run), "eval_loss": eval_loss, "seconds": time.perf_counter() - started}
        if best is None or eval_loss < summary["runs"][best[0]]["eval_loss"]:
            best = (run.name, model)
    summary["best_run"] = best[0]
    model_dir = out / "model"
    best[1].save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    (out / "demo.json").write_text(json.dumps(summary, indent=2))
    return summary


def load(model_dir: pathlib.Path) -> tuple[Any, Any]:
    """The saved model (eager attention, eval mode) and tokenizer, read back from disk."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(model_dir, attn_implementation="eager").eval()
    return model, AutoTokenizer.from_pretrained(model_dir)


# --- pattern check -----------------------------------------------------------------------------


def pattern_scores(model: Any, tokenizer: Any) -> dict[str, np.ndarray]:
    """Per-head ``(layers, heads)`` previous-token score on ``EXAMPLE`` and induction score on repeats."""
    from .analysis import previous_token_score
    from .models import extract_attention, induction_scores

    return {
        "previous-token": previous_token_score(extract_attention(model, tokenizer, EXAMPLE).attention),
        "induction": induction_scores(model, tokenizer, seq_len=INDUCTION_SPAN, batch=16),
    }


def pattern_check(model: Any, untrained: Any, tokenizer: Any) -> tuple[bool, str]:
    """Compare the strongest previous-token and induction heads with the untrained model's best."""
    trained, base = pattern_scores(model, tokenizer), pattern_scores(untrained, tokenizer)
    parts, ok = [], True
    for kind, floor in (("previous-token", 0.3), ("induction", 0.15)):
        layer, head = np.unravel_index(np.argmax(trained[kind]), trained[kind].shape)
        score, before = float(trained[kind][layer, head]), float(base[kind].max())
        ok &= score >= max(floor, 2 * before)
        parts.append(f"{kind} head L{layer}H{head} score {score:.2f} (untrained {before:.2f})")
    return ok, "pattern check: " + ", ".join(parts) + (" OK" if ok else " FAILED")


def formation(run_dir: pathlib.Path) -> str:
    """When the run's strongest previous-token and induction heads (at the end) formed: the first snapshot step at
    which each head's score on ``EXAMPLE`` exceeded half its final value."""
    from .errors import AttentionInputError
    from .tensorboard.snapshots import read_attention

    try:
        steps, stats = read_attention(run_dir).statistics(EXAMPLE)
    except AttentionInputError as err:
        return f"formation: {err}"
    parts = []
    for kind, name in (("previous-token", "previous_token_score"), ("induction", "induction_score")):
        curves = stats[name]  # (steps, layers, heads)
        layer, head = np.unravel_index(np.argmax(curves[-1]), curves.shape[1:])
        curve = curves[:, layer, head]
        formed = int(steps[np.argmax(curve > curve[-1] / 2)])
        parts.append(
            f"{kind} head L{layer}H{head} first exceeded half its final score ({curve[-1]:.2f}) at step {formed}"
        )
    return f"formation in {run_dir.name}: " + "; ".join(parts)


# --- showing ------------------------------------------------------------------------------------


def write_html(model: Any, tokenizer: Any, out: pathlib.Path) -> list[pathlib.Path]:
    """Standalone head view and model view of ``EXAMPLE`` in ``out``."""
    from tqdm.auto import tqdm

    from .models import extract_attention
    from .widget import AttentionWidget

    result = extract_attention(model, tokenizer, EXAMPLE)
    paths = []
    for view in tqdm(("head", "model"), desc="writing views"):
        widget = AttentionWidget(**result.widget_kwargs(), view=view)
        paths.append(widget.save_html(out / f"{view}_view.html", title=f"attn-widget demo: {view} view"))
    return paths


def headless() -> bool:
    """True under CI, or on Linux/BSD without an X or Wayland display."""
    if os.environ.get("CI"):
        return True
    return (
        os.name == "posix"
        and sys.platform != "darwin"
        and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def open_lab(model_dir: pathlib.Path, out: pathlib.Path, port: int | None) -> int:
    """Run JupyterLab on 127.0.0.1 with a token on ``examples/`` (or ``out``), opening the notebook."""
    root = REPO_EXAMPLES if (REPO_EXAMPLES / NOTEBOOK).exists() else out
    packaged = pathlib.Path(__file__).parent / "examples" / NOTEBOOK  # in the wheel
    if root == out and packaged.exists() and not (out / NOTEBOOK).exists():
        shutil.copyfile(packaged, out / NOTEBOOK)
    port = port or free_port()
    token = secrets.token_hex(16)
    page = f"lab/tree/{NOTEBOOK}" if (root / NOTEBOOK).exists() else "lab"
    print(f"JupyterLab: http://127.0.0.1:{port}/{page}?token={token}  (Ctrl+C to stop)", flush=True)
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
    ]
    if not out.is_relative_to(root):  # the runs sidebar serves runs below its root only
        command.append(f"--TensorBoardRuns.root_dir={out / 'runs'}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers
        command.append("--ServerApp.allow_root=True")
    if page != "lab":
        command.append(str(root / NOTEBOOK))
    try:
        return subprocess.call(command, env={**os.environ, ENV_MODEL: str(model_dir)})
    except KeyboardInterrupt:
        return 0


#: What the demo imports beyond the core package (the ``demo`` extra), as (module, version needed).
DEMO_DEPENDENCIES = (("torch", None), ("transformers", None), ("accelerate", "1.1"), ("tokenizers", None),
                     ("tensorboard", None), ("jupyterlab", None))  # fmt: skip


def missing_demo_dependencies() -> None:
    """Stop with one message naming every missing demo dependency (a raw ImportError from deep inside
    Trainer says nothing about the extra that provides it)."""
    from importlib import metadata

    missing = []
    for name, minimum in DEMO_DEPENDENCIES:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
            continue
        if minimum and tuple(int(p) for p in version.split(".")[:2] if p.isdigit()) < tuple(
            map(int, minimum.split("."))
        ):
            missing.append(f"{name}>={minimum} (found {version})")
    if missing:
        raise SystemExit(
            f'the demo needs {", ".join(missing)}: pip install "attn-widget[demo]" (torch==2.13.0 for the CPU wheel)'
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m attn_widget.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help="training steps per run (default %(default)s)")
    parser.add_argument("--retrain", action="store_true", help="train again even if a saved model exists")
    parser.add_argument(
        "--no-browser", action="store_true", help="write HTML views and check the pattern instead of opening JupyterLab"
    )
    parser.add_argument(
        "--out", type=pathlib.Path, default=None, help="output folder (default: examples/demo_output in a checkout)"
    )
    parser.add_argument("--port", type=int, default=None, help="JupyterLab port (default: a free one)")
    args = parser.parse_args(argv)
    missing_demo_dependencies()
    out = (args.out or default_out()).resolve()
    model_dir = out / "model"
    if args.retrain or not (model_dir / "config.json").exists():
        started = time.perf_counter()
        summary = train(out, args.steps)
        print(f"trained {len(RUNS)} runs in {time.perf_counter() - started:.0f} s; best: {summary['best_run']}")
    else:
        print(f"reusing the trained model in {model_dir} (--retrain to train again)")
    model, tokenizer = load(model_dir)
    print(f"loaded {type(model).__name__} from {model_dir}; TensorBoard runs in {out / 'runs'}")
    if not (args.no_browser or headless()):
        return open_lab(model_dir, out, args.port)
    for path in write_html(model, tokenizer, out):
        print(f"wrote {path}")
    best_run = json.loads((out / "demo.json").read_text())["best_run"]
    print(formation(out / "runs" / best_run))
    ok, line = pattern_check(model, make_model(tokenizer, model.config.num_attention_heads), tokenizer)
    print(line)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
