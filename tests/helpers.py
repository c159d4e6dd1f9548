"""Helpers shared by the test modules (fixtures are in conftest.py; real models in tiny_models.py)."""

from __future__ import annotations

import torch

TOKENS = ["[CLS]", "the", "cat", "[SEP]", "dog"]


def softmax_attention(layers=2, heads=3, n=5, batch=None, seed=0):
    """Random attention probabilities as transformers returns them: a tuple of per-layer
    ``(heads, n, n)`` tensors, or ``(batch, heads, n, n)`` with ``batch``."""
    g = torch.Generator().manual_seed(seed)
    shape = (batch, heads, n, n) if batch else (heads, n, n)
    return tuple(torch.softmax(torch.randn(*shape, generator=g), -1) for _ in range(layers))


def write_tensorboard_tensor_scalars(folder, tag: str, values) -> None:
    """An event file in ``folder`` written by TensorBoard's own ``EventFileWriter``: ``values[i]`` as a
    scalar tensor (its numpy dtype kept) at step ``i``, wall time ``1000 + i``, the ``scalars`` plugin
    metadata on the first point only (as TF2's ``tf.summary.scalar`` writes them)."""
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.plugins.scalar import metadata as scalar_metadata
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    from tensorboard.util import tensor_util

    meta = scalar_metadata.create_summary_metadata(display_name="", description="")
    writer = EventFileWriter(str(folder))
    for step, v in enumerate(values):
        value = summary_pb2.Summary.Value(tag=tag, tensor=tensor_util.make_tensor_proto(v))
        if step == 0:
            value.metadata.CopyFrom(meta)
        writer.add_event(
            event_pb2.Event(wall_time=1000.0 + step, step=step, summary=summary_pb2.Summary(value=[value]))
        )
    writer.close()
