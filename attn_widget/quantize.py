"""Compact wire encoding of attention tensors.

Attention goes to the browser as raw bytes, one buffer per layer, never as JSON floats.

``uint8`` (default): every head's ``(query, key)`` matrix is scaled by its own maximum weight,
``byte = round(weight / scale * 255)``, and decoded as ``weight ≈ byte * scale / 255``; the
absolute error is at most ``scale / 510`` (≤ 0.002 for weights in [0, 1]). ``scale`` has shape
``(layers, heads)``. ``float16``: IEEE half floats, little endian, ``scale`` all ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ENCODINGS = ("uint8", "float16")


@dataclass(frozen=True)
class QuantizedAttention:
    """Attention of shape ``(layers, heads, query, key)`` encoded for the wire."""

    layers: list[bytes]  # one buffer per layer, C order (heads, query, key)
    scale: np.ndarray  # (layers, heads) float32
    shape: tuple[int, int, int, int]
    dtype: str

    @property
    def nbytes(self) -> int:
        return sum(len(b) for b in self.layers)

    def to_state(self) -> dict:
        """The synced-trait form: byte buffers plus JSON-able shape, dtype and scale."""
        return {
            "shape": list(self.shape),
            "dtype": self.dtype,
            "scale": self.scale.tolist(),
            "layers": self.layers,
        }

    def dequantize(self) -> np.ndarray:
        """Decode back to float32 ``(layers, heads, query, key)`` (what the browser sees)."""
        np_dtype = np.uint8 if self.dtype == "uint8" else np.dtype("<f2")
        out = np.stack([np.frombuffer(b, dtype=np_dtype) for b in self.layers]).astype(np.float32)
        out = out.reshape(self.shape)
        if self.dtype == "uint8":
            out *= (self.scale / 255.0)[:, :, None, None]
        return out


def quantize_attention(attention: np.ndarray, dtype: str = "uint8") -> QuantizedAttention:
    """Encode float attention ``(layers, heads, query, key)`` as ``uint8`` or ``float16`` bytes.

    Works layer by layer so the peak extra memory is one layer, not a copy of the whole tensor.
    """
    if dtype not in ENCODINGS:
        raise ValueError(f"dtype must be one of {ENCODINGS}, got {dtype!r}")
    if attention.ndim != 4:
        raise ValueError(f"expected attention of shape (layers, heads, query, key), got {attention.shape}")
    n_layers, n_heads = attention.shape[:2]
    scale = np.ones((n_layers, n_heads), dtype=np.float32)
    layers = []
    for i, layer in enumerate(attention):
        if dtype == "float16":
            layers.append(np.ascontiguousarray(layer, dtype="<f2").tobytes())
            continue
        head_max = layer.reshape(n_heads, -1).max(axis=1) if layer.size else np.zeros(n_heads)
        head_scale = np.where(head_max > 0, head_max, 1.0).astype(np.float32)
        scale[i] = head_scale
        buf = np.multiply(layer, (255.0 / head_scale)[:, None, None], dtype=np.float32)
        np.rint(buf, out=buf)
        layers.append(buf.astype(np.uint8).tobytes())
    return QuantizedAttention(layers=layers, scale=scale, shape=tuple(attention.shape), dtype=dtype)
