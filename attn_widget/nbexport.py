"""``jupyter nbconvert --to attn-html``: notebooks as HTML in which attn-widget views work offline.

Registered under the ``nbconvert.exporters`` entry point (also offered in JupyterLab's
File → Save and Export Notebook As menu). For each output showing an ``AttentionWidget`` whose
state is stored in the notebook (``jupyter nbconvert --execute``, nbclient, or JupyterLab with the
widget manager's ``saveState`` on), the widget view is replaced by an inline block built from that
state (including selections made before saving); outputs without stored state keep their
``text/html`` copy (:func:`attn_widget.export.fallback_bundle`). The renderer is inlined once per
page. The stored models are removed from the widget state, so the page loads neither require.js nor
the widget manager from a CDN unless other widgets remain; MathJax is not loaded.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from typing import Any

from nbconvert.exporters import HTMLExporter
from traitlets import default

from .export import RUNTIME_MARK, block_html, page_state, runtime_html, with_head_stats
from .wire import STATIC

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def _stored_state(model: dict[str, Any]) -> dict[str, Any]:
    """A stored model's state with its base64 buffers put back at their paths, as bytes."""
    state = copy.deepcopy(model["state"])
    for buf in model.get("buffers", []):
        *parents, last = buf["path"]
        target = state
        for key in parents:
            target = target[key]
        target[last] = base64.b64decode(buf["data"])
    return state


def inline_attention_widgets(nb) -> int:
    """Replace attn-widget outputs of ``nb`` (in place) by inline blocks without the renderer;
    returns how many outputs show a widget."""
    widgets = nb.metadata.get("widgets", {})
    store = widgets.get(WIDGET_STATE, {}).get("state", {})
    ours = {mid: m for mid, m in store.items() if str(m.get("state", {}).get("_anywidget_id", "")).startswith("attn_widget.")}
    shown = 0
    remaining: list[str] = []  # model ids of widget views left to the widget manager
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            model_id = data.get(WIDGET_VIEW, {}).get("model_id")
            if model_id in ours:
                del data[WIDGET_VIEW]
                data["text/html"] = block_html(page_state(with_head_stats(_stored_state(ours[model_id]))))
            elif RUNTIME_MARK in data.get("text/html", ""):
                data["text/html"] = data["text/html"].split(RUNTIME_MARK)[0]
            else:
                remaining += [model_id] if model_id else []
                continue
            shown += 1
    # Keep only models the remaining views reach (through "IPY_MODEL_<id>" references, e.g. layouts).
    keep: set[str] = set()
    while remaining:
        model_id = remaining.pop()
        if model_id in store and model_id not in keep:
            keep.add(model_id)
            remaining += re.findall(r"IPY_MODEL_(\w+)", json.dumps(store[model_id]["state"]))
    if keep:
        widgets[WIDGET_STATE]["state"] = {k: store[k] for k in keep}
    else:
        nb.metadata.pop("widgets", None)
    return shown


class AttnHTMLExporter(HTMLExporter):
    """HTML exporter (lab template) with attn-widget views inline and working offline."""

    export_from_notebook = "HTML (attn-widget, offline)"

    @default("extra_template_paths")
    def _default_extra_template_paths(self) -> list[str]:
        return [str(STATIC.parent / "templates")]

    @default("template_file")
    def _default_template_file(self) -> str:
        return "attn_html.html.j2"

    def from_notebook_node(self, nb, resources=None, **kw):
        nb = copy.deepcopy(nb)
        resources = dict(resources or {})
        resources["attn_widget_runtime"] = runtime_html() if inline_attention_widgets(nb) else ""
        return super().from_notebook_node(nb, resources, **kw)
