"""Self-contained HTML: the widget's ES module, CSS and state inline; no CDN, no require.js.

Binary buffers are zlib-compressed and base64-encoded as ``{"$b64z": ...}`` and inflated in the
browser with ``DecompressionStream`` (js/widget/standalone.ts). Each widget gets its own element
and model, so several on one page are independent.
"""

from __future__ import annotations

import base64
import html
import json
import zlib
from collections.abc import Iterable
from typing import Any

from .widget import STATIC, AttentionWidget

#: Traits that are the renderer itself or ipywidgets bookkeeping, not widget state.
_NOT_STATE = {"_esm", "_css", "_anywidget_id", "_dom_classes", "layout", "tabbable", "tooltip", "comm", "keys", "log"}


def _encode(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$b64z": base64.b64encode(zlib.compress(bytes(value), 6)).decode("ascii")}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return value


def widget_state(widget: AttentionWidget) -> dict[str, Any]:
    """The widget's synced state with buffers encoded for a standalone page."""
    names = [n for n in widget.trait_names(sync=True) if n not in _NOT_STATE and not n.startswith("_")]
    return {n: _encode(getattr(widget, n)) for n in names}


def _script_json(value: Any) -> str:
    # "</" can end a <script> element; "<\/" is the same string to JSON.
    return json.dumps(value, separators=(",", ":")).replace("</", "<\\/")


def widget_html(widgets: Iterable[AttentionWidget], title: str = "attn-widget") -> str:
    """One HTML page showing ``widgets``, working offline (renderer and data inline)."""
    esm = base64.b64encode((STATIC / "widget.js").read_bytes()).decode("ascii")
    css = (STATIC / "widget.css").read_text(encoding="utf-8")
    blocks = []
    for i, w in enumerate(widgets):
        blocks.append(
            f'<div class="attn-widget-host" data-state="aw-state-{i}"></div>\n'
            f'<script type="application/json" id="aw-state-{i}">{_script_json(widget_state(w))}</script>'
        )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="generator" content="attn-widget">
<title>{html.escape(title)}</title>
<style>body{{margin:16px;font-family:system-ui,sans-serif}}{css}</style>
</head>
<body>
{chr(10).join(blocks)}
<script type="application/octet-stream" id="aw-esm">{esm}</script>
<script type="module">
const source = atob(document.getElementById("aw-esm").textContent);
const bytes = Uint8Array.from(source, c => c.charCodeAt(0));
const url = URL.createObjectURL(new Blob([bytes], {{ type: "text/javascript" }}));
const mod = await import(url);
window.attnWidgetModels = [];
for (const host of document.querySelectorAll(".attn-widget-host")) {{
  const state = JSON.parse(document.getElementById(host.dataset.state).textContent);
  window.attnWidgetModels.push(await mod.mountStandalone(host, state));
}}
document.body.dataset.attnWidgetReady = "true";
</script>
</body>
</html>
"""
