"""The browser format, written in one place: every buffer the kernel sends is encoded here.

The format is declared in ``wire_schema.json`` (read by Python and TypeScript; tests on both sides
check their code against it): the widget's synced traits and their direction, the layout of an
attention *block*, the neuron and head-statistics payloads, and the one request/response envelope
(``rpc``) used for tiles (browser → kernel) and images (kernel → browser).

Attention goes to the browser as raw bytes, one buffer per layer, never as JSON floats.
``uint8`` (default): every head's ``(query, key)`` matrix is scaled by its own maximum weight,
``byte = round(weight / scale * 255)``, and decoded as ``weight ≈ byte * scale / 255``; the
absolute error is at most ``scale / 510`` (≤ 0.002 for weights in [0, 1]). ``scale`` has shape
``(layers, heads)``. ``float16``: IEEE half floats, little endian, ``scale`` all ones.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from .analysis import is_causal
from .arrays import AttentionResult, thumbnails

#: The built renderer (``widget.js``/``widget.css``), shared by the live widget and exported pages.
STATIC = pathlib.Path(__file__).parent / "static"
#: ``wire_schema.json``, parsed.
SCHEMA: dict[str, Any] = json.loads(
    resources.files(__package__).joinpath("wire_schema.json").read_text(encoding="utf-8")
)
#: Synced trait names the browser may set (``"both"``) and those only the kernel sets (``"to_js"``).
TWO_WAY = tuple(name for name, spec in SCHEMA["traits"].items() if spec["direction"] == "both")
ONE_WAY = tuple(name for name, spec in SCHEMA["traits"].items() if spec["direction"] == "to_js")
ENCODINGS = tuple(SCHEMA["block"]["dtypes"])


def synced_traits(widget: str = "AttentionWidget") -> tuple[str, ...]:
    """Trait names ``widget`` syncs: AttentionWidget's, plus those the schema marks with ``"subclass": widget``."""
    return tuple(name for name, spec in SCHEMA["traits"].items() if spec.get("subclass", widget) == widget)


def enum_values(trait: str, widget: str = "AttentionWidget") -> tuple[str, ...]:
    """Values of an enum trait on ``widget``: the schema's ``values`` plus its ``subclass_values`` for ``widget``."""
    spec = SCHEMA["traits"][trait]
    return (*spec["values"], *spec.get("subclass_values", {}).get(widget, ()))


#: Side of the per-head thumbnails of tiled transport (max-pooled; 32 × 32 heads ≈ 4 MB).
THUMBNAIL_SIZE = 64


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
        """The block form (schema ``block``): byte buffers plus JSON-able shape, dtype and scale."""
        return {"shape": list(self.shape), "dtype": self.dtype, "scale": self.scale.tolist(), "layers": self.layers}

    @classmethod
    def from_state(cls, block: dict) -> QuantizedAttention:
        """A full-transport block as the browser receives it."""
        return cls(list(block["layers"]), np.asarray(block["scale"], np.float32), tuple(block["shape"]), block["dtype"])

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


def full_block(attention: np.ndarray, encoding: str = "uint8") -> dict:
    """Block of full transport: every weight, one buffer per layer."""
    return quantize_attention(attention, encoding).to_state()


def tiled_block(source: Any) -> dict:
    """Block of tiled transport: shape, no full layers, and max-pooled uint8 thumbnails per layer."""
    pooled, step = thumbnails(source, THUMBNAIL_SIZE)
    thumbs = quantize_attention(np.stack(pooled))
    return {
        "shape": list(source.shape), "dtype": "uint8", "scale": thumbs.scale.tolist(), "layers": [], "tiled": True,
        "thumbs": {"step": step, "shape": list(pooled[0].shape[1:]), "layers": thumbs.layers},
    }  # fmt: skip


def block_pixels(block: dict) -> tuple[list[np.ndarray], tuple[int, int]]:
    """A block's per-layer arrays as the browser holds them before zooming in: float32 ``(heads, q, k)``
    (the thumbnails of a tiled block, in their own units), and their ``(q, k)``."""
    _, heads, nq, nk = block["shape"]
    buffers = block["layers"]
    if block.get("tiled"):
        (nq, nk), buffers = block["thumbs"]["shape"], block["thumbs"]["layers"]
    dtype = np.uint8 if block["dtype"] == "uint8" else np.dtype("<f2")
    return [np.frombuffer(b, dtype).reshape(heads, nq, nk).astype(np.float32) for b in buffers], (nq, nk)


def tile_message(window: np.ndarray) -> tuple[dict, bytes]:
    """A tile ``(heads, rows, cols)`` float32 as an RPC ``result`` (rows, cols, per-head scale) and one uint8 buffer."""
    q = quantize_attention(window[None])
    rows, cols = window.shape[1:]
    return {"rows": rows, "cols": cols, "scale": q.scale[0].tolist()}, q.layers[0]


def neuron_payload(result: AttentionResult, layer: int | Sequence[int] | None = None) -> dict[str, Any]:
    """q/k of ``result`` for the browser (schema ``neuron``): one float16 little-endian buffer per layer.

    ``layer``: a layer index or a list of them (negative counts from the end), or ``None`` for all. Returns
    ``{"shape": [layers sent, heads, seq, head_dim], "head_dim", "dtype": "float16", "layers": [layer
    indices], "scaling": [float per layer], "queries": [bytes], "keys": [bytes]}``; each buffer is
    C-order ``(heads, seq, head_dim)``; ``scaling`` comes from ``result.extras["qk_scaling"]`` (default
    ``1/√head_dim``). Raises ``ValueError`` without q/k or where a value overflows float16.
    """
    if result.queries is None or result.keys is None:
        raise ValueError("result has no queries/keys; call extract_attention(..., with_qk=True)")
    n_layers, heads, seq, head_dim = result.queries.shape
    layers = list(range(n_layers)) if layer is None else [range(n_layers)[i] for i in np.atleast_1d(layer)]
    scaling = result.extras.get("qk_scaling", np.full(n_layers, head_dim**-0.5, dtype=np.float32))

    def encode(array: np.ndarray) -> list[bytes]:
        selected = array[layers]
        if not (np.abs(selected) <= np.finfo(np.float16).max).all():
            raise ValueError("queries/keys exceed the float16 range (±65504) or are not finite")
        return [h.tobytes() for h in selected.astype("<f2")]

    return {
        "shape": [len(layers), heads, seq, head_dim],
        "head_dim": head_dim,
        "dtype": "float16",
        "layers": [(result.layer_numbers or range(n_layers))[i] for i in layers],  # model layer numbers
        "scaling": [float(scaling[i]) for i in layers],
        "queries": encode(result.queries),
        "keys": encode(result.keys),
    }


def neuron_block(result: AttentionResult, layer: int | Sequence[int] | None = None) -> dict[str, Any]:
    """The ``neuron_data`` trait (schema ``neuron``): :func:`neuron_payload` and ``causal``, the model's
    own flag when it was run (``result.causal``), else read from the weights."""
    causal = result.causal
    if causal is None:
        causal = is_causal(result.attention)
    return {**neuron_payload(result, layer), "causal": bool(causal)}


def stats_payload(stats: dict[str, np.ndarray]) -> dict[str, Any]:
    """Head statistics ``{name: (layers, heads)}`` for the browser (schema ``stats``): one float32 buffer."""
    values = np.stack(list(stats.values()))
    return {"names": list(stats), "shape": list(values.shape[1:]), "values": values.astype("<f4").tobytes()}


# --------------------------------------------------------------------------- the rpc envelope


def rpc_request(request_id: str, method: str, params: dict) -> dict:
    """``{"rpc": "request", "id", "method", "params"}``."""
    return {"rpc": "request", "id": request_id, "method": method, "params": params}


def rpc_response(request_id: Any, result: dict | None = None, error: str | None = None) -> dict:
    """``{"rpc": "response", "id", "result"}`` or, with ``error`` (a message for people), ``{..., "error"}``."""
    return {"rpc": "response", "id": request_id, **({"error": error} if error is not None else {"result": result})}
