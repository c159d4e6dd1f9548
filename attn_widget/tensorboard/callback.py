"""``AttentionCallback``: attention snapshots and head statistics logged while ``Trainer.train()`` runs."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from transformers import TrainerCallback

from ..errors import AttentionInputError
from .snapshots import DEFAULT_STATS, log_attention


class AttentionCallback(TrainerCallback):
    """Log :func:`~attn_widget.tensorboard.log_attention` every ``every_n_steps`` optimizer steps, before
    the first step (step 0) and after the last.

    ``writer``: a ``SummaryWriter`` to write through. By default the callback opens its own in the
    folder transformers' ``TensorBoardCallback`` writes to when it is told (``TENSORBOARD_LOGGING_DIR``,
    or ``args.logging_dir`` in transformers 4), else ``<output_dir>/runs/attention``: a second event
    file in the same folder, which TensorBoard and :func:`~attn_widget.tensorboard.read_attention`
    read as the same run. (Trainer gives callbacks no handle on the other callbacks' writers.)
    The model's mode and attention implementation are restored after each snapshot.
    """

    def __init__(
        self,
        tokenizer: Any,
        texts: str | Sequence[str],
        every_n_steps: int = 500,
        *,
        layers: Sequence[int] | None = None,
        heads: Sequence[int] | None = None,
        stats: Sequence[str] | None = DEFAULT_STATS,
        writer: Any = None,
    ) -> None:
        if not isinstance(every_n_steps, int) or every_n_steps < 1:
            raise AttentionInputError(f"every_n_steps must be a positive integer, got {every_n_steps!r}")
        self.tokenizer = tokenizer
        self.texts = [texts] if isinstance(texts, str) else list(texts)
        self.every_n_steps = every_n_steps
        self.options = {"layers": layers, "heads": heads, "stats": stats}
        self.writer = writer
        self._own_writer = False
        self.logged_steps: list[int] = []  #: steps snapshotted so far

    @staticmethod
    def log_dir(args: Any) -> str:
        """Where the callback's own writer writes (see the class docstring)."""
        return (
            os.environ.get("TENSORBOARD_LOGGING_DIR")
            or getattr(args, "logging_dir", None)
            or os.path.join(args.output_dir, "runs", "attention")
        )

    def _log(self, state: Any, model: Any) -> None:
        if not state.is_world_process_zero or state.global_step in self.logged_steps:
            return
        log_attention(self.writer, state.global_step, model, self.tokenizer, self.texts, **self.options)
        self.logged_steps.append(state.global_step)

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if self.writer is None and state.is_world_process_zero:
            from torch.utils.tensorboard import SummaryWriter

            self.writer, self._own_writer = SummaryWriter(log_dir=self.log_dir(args)), True
        self._log(state, model)

    def on_step_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if state.global_step % self.every_n_steps == 0:
            self._log(state, model)

    def on_train_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        self._log(state, model)
        if self._own_writer:
            self.writer.close()
            self.writer, self._own_writer = None, False
