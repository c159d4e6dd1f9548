"""Attention snapshots: logged during real ``Trainer.train()`` runs (report_to="tensorboard"), read back with the
package's own reader, loaded by TensorBoard's own loader, and shown by ``AttentionWidget.from_run``."""

from __future__ import annotations

import numpy as np
import pytest
import transformers as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tiny_models import make_model, make_tokenizer
from torch.utils.tensorboard import SummaryWriter

from attn_widget import AttentionInputError, AttentionWidget, extract_attention
from attn_widget.errors import SelectionError
from attn_widget.tensorboard import AttentionCallback, EventFileReader, log_attention, read_attention, read_scalars
from attn_widget.tensorboard._reader import BATCH_FILE_BYTES, read_fresh_files
from attn_widget.tensorboard.snapshots import (
    PLUGIN_NAME,
    Snapshot,
    _snapshot_summary,
    decode_snapshot,
    encode_snapshot,
    quantize_absolute,
)
from attn_widget.wire import QuantizedAttention

PROBES = ["the cat sat on the mat . the cat sat on the mat .", "a bird sang in the tree"]
STEPS, EVERY = 4, 2


class _Sequences:
    def __init__(self, tokenizer, texts):
        self.ids = tokenizer(texts)["input_ids"]

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i]}


class _ModelState(tf.TrainerCallback):
    """Records, after each step's snapshot (callbacks run in order), the mode and attention implementation."""

    def __init__(self):
        self.seen = []

    def on_step_end(self, args, state, control, model=None, **kwargs):
        self.seen.append((model.training, model.config._attn_implementation))


def _trainable(family, tokenizer):
    model = make_model(family, tokenizer)
    if family == "bert":  # a head that gives a loss
        model = tf.BertForMaskedLM(model.config)
    return model.train()


@pytest.fixture(scope="module", params=["bert", "gpt2", "llama"])
def trained(request, tmp_path_factory):
    """One short Trainer run per family with AttentionCallback: (family, run folder, model, tokenizer, states)."""
    family = request.param
    folder = tmp_path_factory.mktemp(family)
    tokenizer = make_tokenizer(folder)
    model = _trainable(family, tokenizer)
    implementation = model.config._attn_implementation
    run_dir = folder / "run"
    texts = ["the cat sat on the mat and the dog ran to the park"] * 16
    args = tf.TrainingArguments(
        output_dir=str(folder / "out"), report_to="tensorboard", max_steps=STEPS, per_device_train_batch_size=4,
        logging_steps=1, save_strategy="no", use_cpu=True, seed=0, dataloader_num_workers=0, learning_rate=1e-2,
    )  # fmt: skip
    states = _ModelState()
    env = pytest.MonkeyPatch()
    env.setenv("TENSORBOARD_LOGGING_DIR", str(run_dir))  # where TensorBoardCallback (and AttentionCallback) write
    trainer = tf.Trainer(
        model=model, args=args, train_dataset=_Sequences(tokenizer, texts),
        data_collator=tf.DataCollatorForLanguageModeling(tokenizer, mlm=family == "bert"),
        callbacks=[AttentionCallback(tokenizer, PROBES, every_n_steps=EVERY), states],
    )  # fmt: skip
    trainer.train()
    env.undo()
    return family, run_dir, model, tokenizer, states, implementation


def test_trainer_run_round_trips_snapshots(trained):
    family, run_dir, model, tokenizer, states, implementation = trained
    # the model trained in its own mode and attention implementation between snapshots
    assert states.seen == [(True, implementation)] * STEPS
    snapshots = read_attention(run_dir)
    assert snapshots.steps == [0, 2, 4] and snapshots.texts == PROBES
    final = extract_attention(model, tokenizer, PROBES[0])
    last = snapshots.get(4, PROBES[0])
    assert last.tokens == final.tokens
    assert np.abs(last.attention - final.attention).max() <= 1 / 510 + 1e-6  # uint8 with scale 1
    assert last.causal is (family != "bert")
    assert last.num_kv_heads == (2 if family == "llama" else 0)  # Llama here: 4 query heads share 2 KV heads
    assert last.attention.shape[1] == 4
    # snapshots change as the model trains
    assert not np.array_equal(snapshots.get(0, 0).attention, last.attention)
    # the loss (TensorBoardCallback) and the statistics land in the same run
    scalars = read_scalars(run_dir)
    assert "train/loss" in scalars
    stat = scalars["attention/previous_token_score/L0H0"]
    assert stat.steps.tolist() == [0, 2, 4]
    mean = np.mean([snapshots.get(4, t).statistics()["previous_token_score"][0, 0] for t in PROBES])
    assert stat.values[-1] == pytest.approx(mean, abs=0.01)  # quantization moves it a little


def test_tensorboard_own_loader_reads_the_run_and_plots_the_statistics(trained):
    _, run_dir, *_ = trained
    accumulator = EventAccumulator(str(run_dir), size_guidance={"tensors": 0, "scalars": 0})
    accumulator.Reload()
    tags = accumulator.Tags()
    statistic = "attention/induction_score/L1H2"
    assert statistic in tags["scalars"] and "train/loss" in tags["scalars"]
    assert [e.step for e in accumulator.Scalars(statistic)] == [0, 2, 4]
    # the snapshots are tensors of a plugin TensorBoard does not have: loaded, listed under that plugin, not shown
    assert sorted(accumulator.PluginTagToContent(PLUGIN_NAME)) == ["attention_snapshot/0", "attention_snapshot/1"]


def shown(widget):
    """The attention the browser decodes from the widget's block (the widget's per-head uint8 encoding)."""
    return QuantizedAttention.from_state(widget.attention_data["self"]).dequantize()


def test_from_run_scrubs_steps_and_supports_views_statistics_and_diff(trained):
    _, run_dir, *_ = trained
    snapshots = read_attention(run_dir)
    widget = AttentionWidget.from_run(run_dir, PROBES[0], view="model")
    assert widget.steps == [0, 2, 4] and widget.step == 4
    assert widget.tokens == snapshots.get(4, 0).tokens
    assert np.allclose(shown(widget), snapshots.get(4, 0).attention, atol=1 / 255)
    widget.stats_requested = True
    stats_at_4 = widget.head_stats["values"]
    widget.step = 0  # what the browser's slider does
    assert np.allclose(shown(widget), snapshots.get(0, 0).attention, atol=1 / 255)
    assert widget.head_stats["values"] != stats_at_4  # statistics follow the step
    widget.view = "summary"
    widget.view = "head"
    assert widget._export_state()["steps"] == []  # exported pages show the current step, without a slider
    with pytest.raises(SelectionError, match=r"step 3 has no snapshot; the steps are \[0, 2, 4\]"):
        widget.step = 3
    assert widget.step == 0
    diff = AttentionWidget.diff(snapshots.get(4, 1).result(), snapshots.get(0, 1).result())
    expected = snapshots.get(4, 1).attention - snapshots.get(0, 1).attention
    got = np.stack([np.frombuffer(b, "<f2") for b in diff.attention_data["self"]["layers"]]).reshape(expected.shape)
    assert np.allclose(got, expected, atol=2e-3)


def test_bad_input_gets_clear_errors(trained, tmp_path):
    _, run_dir, model, tokenizer, *_ = trained
    with pytest.raises(AttentionInputError, match=r"no attention snapshot at step 3; .* 3 snapshot steps in 0\.\.4 "
                       r"\(nearest: 2 and 4\)"):  # fmt: skip
        AttentionWidget.from_run(run_dir, step=3)
    with pytest.raises(AttentionInputError, match="is not a probe text of this run"):
        read_attention(run_dir).get(4, "an unknown text")
    long_text = " ".join(["cat"] * 200)
    writer = SummaryWriter(str(tmp_path / "scalars_only"))
    with pytest.raises(AttentionInputError, match=r"probe text 1 has 202 tokens but the model reads at most 128"):
        log_attention(writer, 0, model, tokenizer, ["a cat", long_text])
    writer.add_scalar("loss", 1.0, 0)
    writer.close()
    with pytest.raises(AttentionInputError, match="has 1 event files but no attention snapshots"):
        read_attention(tmp_path / "scalars_only")
    with pytest.raises(AttentionInputError, match="no event files .*runs below it: scalars_only"):
        read_attention(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such run folder"):
        read_attention(tmp_path / "missing")
    with pytest.raises(TypeError, match="writer must be a torch.utils.tensorboard.SummaryWriter"):
        log_attention(object(), 0, model, tokenizer, ["a cat"])
    with pytest.raises(AttentionInputError, match="every_n_steps must be a positive integer"):
        AttentionCallback(tokenizer, ["a cat"], every_n_steps=0)
    with pytest.raises(SelectionError, match="no training run"):
        AttentionWidget(np.full((1, 1, 2, 2), 0.5), ["a", "b"]).step = 1


def test_a_live_run_grows(tmp_path):
    tokenizer = make_tokenizer(tmp_path)
    model = make_model("gpt2", tokenizer)
    writer = SummaryWriter(str(tmp_path / "run"))
    log_attention(writer, 10, model, tokenizer, "a cat", layers=[1], heads=[0, 2])
    first = read_attention(tmp_path / "run")
    log_attention(writer, 20, model, tokenizer, "a cat", layers=[1], heads=[0, 2])
    assert first.steps == [10] and read_attention(tmp_path / "run").steps == [10, 20]
    snapshot = first.get(10)
    assert snapshot.layer_numbers == [1] and snapshot.head_numbers == [0, 2] and snapshot.attention.shape[:2] == (1, 2)
    assert "attention/entropy_ratio/L1H2" in read_scalars(tmp_path / "run")
    writer.close()


def test_small_runs_read_together_keep_snapshots_as_one_by_one(tmp_path):
    """The server decodes small never-read files in one batch (read_fresh_files, plugin names learned from the
    whole batch); readers that keep our plugin's tensors get the same snapshots, plugins and scalars that way."""
    tokenizer = make_tokenizer(tmp_path)
    model = make_model("gpt2", tokenizer)
    for name in ("a", "b"):
        with SummaryWriter(str(tmp_path / name)) as writer:
            for step in range(40):
                writer.add_scalar("loss", 1 / (step + 1), step)
                if step % 20 == 0:
                    log_attention(writer, step, model, tokenizer, ["a cat", "a dog sat"], layers=[1])
    with SummaryWriter(str(tmp_path / "scalars_only")) as writer:
        for step in range(40):
            writer.add_scalar("loss", step, step, new_style=True)
    paths = sorted(tmp_path.glob("*/*tfevents*"))
    assert len(paths) == 3 and all(p.stat().st_size <= BATCH_FILE_BYTES for p in paths)  # batched, not skipped

    def read(together: bool) -> list[EventFileReader]:
        readers = [EventFileReader(p, keep_plugins=(PLUGIN_NAME,)) for p in paths]
        for reader in read_fresh_files(readers) if together else readers:
            reader.update()
        return readers

    for batched, alone in zip(read(True), read(False)):
        assert batched.tensors() == alone.tensors() and batched.tags == alone.tags
        assert all(batched.plugin(tag) == alone.plugin(tag) == PLUGIN_NAME for tag in alone.tensors())
        for tag in alone.tags:
            assert np.array_equal(batched.series(tag).values, alone.series(tag).values)
    snapshot_tags = [sorted(r.tensors()) for r in read(True)]
    assert snapshot_tags == [["attention_snapshot/0", "attention_snapshot/1"]] * 2 + [[]]
    assert [step for step, *_ in read(True)[0].tensors()["attention_snapshot/1"]] == [0, 20]


def test_snapshot_bytes_round_trip_and_foreign_bytes_are_refused(tmp_path):
    rng = np.random.default_rng(0)
    attention = rng.dirichlet(np.ones(6), size=(2, 3, 6)).astype(np.float32)  # (layers, heads, query, key)
    snapshot = Snapshot(step=7, wall_time=0.0, text="t", tokens=list("abcdef"), shape=attention.shape,
                        layer_numbers=[0, 1], _quantized=quantize_absolute(attention))  # fmt: skip
    data = encode_snapshot(snapshot)
    back = decode_snapshot(data, step=7)
    assert back.tokens == list("abcdef") and back.shape == (2, 3, 6, 6)
    assert np.abs(back.attention - attention).max() <= 1 / 510 + 1e-7
    with pytest.raises(ValueError, match="not an attn-widget attention snapshot"):
        decode_snapshot(b"PNG....")
    with pytest.raises(ValueError, match="format 9 is newer"):
        decode_snapshot(data[:3] + bytes([9]) + data[4:])
    # a tensor under our plugin name that is not a snapshot, or whose attention is cut: clear errors
    writer = SummaryWriter(str(tmp_path))
    writer._get_file_writer().add_summary(_snapshot_summary("attention_snapshot/0", data[:-20]), 3)
    writer.flush()
    with pytest.raises(AttentionInputError, match=r"the snapshot of 't' at step 3 is damaged: Error -5"):
        read_attention(tmp_path).get(3).statistics()
    writer._get_file_writer().add_summary(_snapshot_summary("attention_snapshot/0", data[:12]), 4)
    writer.close()
    with pytest.raises(AttentionInputError, match=r"attention_snapshot/0 at step 4 is unreadable"):
        read_attention(tmp_path)
