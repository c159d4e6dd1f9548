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
