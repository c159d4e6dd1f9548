"""Self-contained HTML: the widget's ES module, CSS and state inline; no CDN, no require.js.

A widget becomes a block ``<div class="attn-widget-export">`` holding a host element (with a static
preview until the renderer runs) and its state as JSON. Binary buffers are zlib-compressed and
base64-encoded as ``{"$b64z": ...}`` and inflated in the browser (js/widget/standalone.ts). The
renderer (module + CSS, compressed) and the loader follow the blocks; the loader imports the module
once per page (``globalThis.attnWidget``) and mounts every block not mounted yet, each with its own
model, so several widgets on one page are independent.

Everything here takes a widget's *state* (synced trait values, schema ``traits``), never the
widget class: ``AttentionWidget.to_html``/``save_html`` and the ``text/html`` part of the widget's
mime bundle (:func:`fallback_bundle`) pass the live widget's state, the ``attn-html`` nbconvert
exporter (:mod:`.nbexport`) the state stored in a notebook. Pages fill ``head_stats`` up front
(:func:`with_head_stats`): there is no kernel to ask.
"""

from __future__ import annotations

import base64
import html
import json
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from . import config
from .analysis import head_statistics
from .arrays import pool_max
from .wire import STATIC, QuantizedAttention, block_pixels, stats_payload

#: Traits that are the renderer itself or ipywidgets bookkeeping, not widget state.
_NOT_STATE = {"layout", "tabbable", "tooltip", "comm", "keys", "log"}
#: Separates a block from the renderer that follows it (the nbconvert exporter keeps one renderer).
RUNTIME_MARK = "<!--attn-widget runtime-->"

_LOADER = """<script type="module">
const g = globalThis;
const inflate = async el => new Response(new Blob([Uint8Array.from(atob(el.textContent), c => c.charCodeAt(0))])
  .stream().pipeThrough(new DecompressionStream("deflate"))).text();
g.attnWidget ??= (async () => {
  const style = document.createElement("style");
  style.textContent = await inflate(document.querySelector("script.aw-css"));
  document.head.append(style);
  const js = await inflate(document.querySelector("script.aw-esm"));
  return import(URL.createObjectURL(new Blob([js], { type: "text/javascript" })));
})();
const mod = await g.attnWidget;
const blocks = [...document.querySelectorAll(".attn-widget-export")];
g.attnWidgetModels ??= [];
await Promise.all(blocks.filter(b => !b.dataset.mounted).map(async b => {
  b.dataset.mounted = "pending";
  const host = b.querySelector(".attn-widget-host");
  const state = JSON.parse(b.querySelector("script.aw-state").textContent);
  host.replaceChildren();
  g.attnWidgetModels[blocks.indexOf(b)] = await mod.mountStandalone(host, state);
  b.dataset.mounted = "true";
}));
if (blocks.every(b => b.dataset.mounted === "true")) document.body.dataset.attnWidgetReady = "true";
</script>"""


class TooLarge(Exception):
    """The encoded state passed the size limit."""


def _b64z(data: bytes) -> str:
    return base64.b64encode(zlib.compress(data, 6)).decode("ascii")


def page_state(state: dict[str, Any], limit: int | None = None) -> dict[str, Any]:
    """``state`` (synced trait values) without renderer/bookkeeping, buffers as ``{"$b64z": ...}``;
    raises :class:`TooLarge` as soon as the encoded buffers pass ``limit`` characters."""
    used = 0

    def encode(value: Any) -> Any:
        nonlocal used
        if isinstance(value, (bytes, bytearray, memoryview)):
            out = _b64z(bytes(value))
            used += len(out)
            if limit is not None and used > limit:
                raise TooLarge(used)
            return {"$b64z": out}
        if isinstance(value, dict):
            return {k: encode(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [encode(v) for v in value]
        return value

    return {k: encode(v) for k, v in state.items() if not k.startswith("_") and k not in _NOT_STATE}


def with_head_stats(state: Mapping[str, Any]) -> dict[str, Any]:
    """``state`` with ``head_stats`` filled where the kernel has not computed them yet: from the
    self-attention block as sent (full transport, not a difference), so exact to the wire's precision."""
    block = state.get("attention_data", {}).get("self")
    if state.get("head_stats") or block is None or block.get("tiled") or state.get("signed"):
        return dict(state)
    attention = QuantizedAttention.from_state(block).dequantize()
    return {**state, "head_stats": stats_payload(head_statistics(attention, state["tokens"]))}


def _script_json(value: Any) -> str:
    # "</script" ends the element and "<!--<script" changes how the parser reads it: "\u003c" is the
    # same string to JSON and leaves no "<" in the element.
    return json.dumps(value, separators=(",", ":")).replace("<", "\\u003c")


def block_html(state: dict[str, Any], placeholder: str = "attn-widget: loading…") -> str:
    """One widget: host element (showing ``placeholder`` HTML until mounted) and its encoded state."""
    return (
        f'<div class="attn-widget-export"><div class="attn-widget-host">{placeholder}</div>'
        f'<script type="application/json" class="aw-state">{_script_json(state)}</script></div>'
    )


def runtime_html() -> str:
    """The renderer (ES module and CSS, compressed) and the loader that mounts every block."""
    esm = _b64z((STATIC / "widget.js").read_bytes())
    css = _b64z((STATIC / "widget.css").read_bytes())
    return (
        f'{RUNTIME_MARK}<script type="application/octet-stream" class="aw-esm">{esm}</script>'
        f'<script type="application/octet-stream" class="aw-css">{css}</script>{_LOADER}'
    )


def widget_html(states: Iterable[Mapping[str, Any]], title: str = "attn-widget") -> str:
    """One HTML page showing widgets (``AttentionWidget.wire_state()`` each), working offline
    (renderer and data inline, once)."""
    blocks = "\n".join(block_html(page_state(with_head_stats(s))) for s in states)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="generator" content="attn-widget">
<title>{html.escape(title)}</title>
<style>body{{margin:16px;font-family:system-ui,sans-serif}}</style>
</head>
<body>
{blocks}
{runtime_html()}
</body>
</html>
"""


# ---------- mime bundle for front ends without the widget manager ----------


def describe(state: Mapping[str, Any]) -> str:
    """One line saying what a widget shows, e.g. ``attn-widget head view: 12 layers × 12 heads × 9 tokens``."""
    tokens, decoder = state["tokens"], state["decoder_tokens"]
    size = f"{len(tokens)} encoder × {len(decoder)} decoder tokens" if decoder else f"{len(tokens)} tokens"
    heads = next(iter(state["attention_data"].values()))["shape"][1]
    return f"attn-widget {state['view']} view: {len(state['layer_numbers'])} layers × {heads} heads × {size}"


def fallback_bundle(state: Mapping[str, Any]) -> dict[str, str]:
    """``text/plain`` summary, ``image/png`` thumbnails and ``text/html``: the interactive page block
    within ``config.html_fallback_max_bytes``, else the static preview with a note."""
    summary = describe(state)
    png = base64.b64encode(preview_png(state)).decode("ascii")
    static = (
        f'<img src="data:image/png;base64,{png}" alt="{html.escape(summary)}" style="max-width:100%">'
        f"<div>{html.escape(summary)}. Run the notebook to interact, or export it with "
        f"<code>jupyter nbconvert --to attn-html</code>.</div>"
    )
    cap = config.html_fallback_max_bytes
    try:
        encoded = page_state(state, cap)  # the attention first: no statistics for a page that is left out
        encoded |= page_state({"head_stats": with_head_stats(state).get("head_stats", {})})
        page = block_html(encoded, static) + runtime_html()
        size = len(page)
    except TooLarge as e:
        size = e.args[0]
    if size > cap:
        page = (
            f'<div class="attn-widget-static">{static}<div><small>Interactive copy left out: {size:,} bytes or more '
            f"&gt; attn_widget.config.html_fallback_max_bytes = {cap:,}.</small></div></div>"
        )
    return {"text/plain": summary + " (open in JupyterLab to interact)", "image/png": png, "text/html": page}


#: White → dark blue, 256 steps (PNG palette).
_PALETTE = np.stack([np.linspace(255, c, 256) for c in (8, 48, 107)], axis=1).round().astype(np.uint8)


def preview_png(state: Mapping[str, Any], thumb: int = 32, gap: int = 2) -> bytes:
    """Model-view thumbnails (layers × heads, each max-pooled to at most ``thumb`` px and scaled to its
    head's maximum) of the block a widget ``state`` shows, as an indexed PNG: numpy and zlib, no plotting library."""
    data, shown = state["attention_data"], state["attention_filter"]
    layers, (nq, nk) = block_pixels(data[shown] if shown in data else next(iter(data.values())))
    heads = layers[0].shape[0]
    rows, cols = min(nq, thumb), min(nk, thumb)
    image = np.zeros((len(layers) * (rows + gap) + gap, heads * (cols + gap) + gap), np.uint8)
    for li, layer in enumerate(layers):
        pooled = pool_max(np.abs(layer), out=(rows, cols))  # diffs: |a − b|
        peak = pooled.reshape(heads, -1).max(axis=1)[:, None, None]
        scaled = np.divide(pooled * 255, peak, out=np.zeros_like(pooled), where=peak > 0).round().astype(np.uint8)
        y = gap + li * (rows + gap)
        for h in range(heads):
            x = gap + h * (cols + gap)
            image[y : y + rows, x : x + cols] = scaled[h]
    return _png(image, _PALETTE)


def _png(index: np.ndarray, palette: np.ndarray) -> bytes:
    """8-bit indexed-colour PNG of ``index`` (h × w) with ``palette`` (256 × 3)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + tag + data + zlib.crc32(tag + data).to_bytes(4, "big")

    h, w = index.shape
    rows = np.hstack([np.zeros((h, 1), np.uint8), index]).tobytes()  # filter byte 0 per row
    header = w.to_bytes(4, "big") + h.to_bytes(4, "big") + bytes([8, 3, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"PLTE", palette.tobytes())
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )
