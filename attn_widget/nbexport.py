"""attn-widget views in notebooks exported to HTML, offline: a preprocessor for nbconvert's HTML
exporters and the package's own exporter.

:class:`AttentionWidgetsPreprocessor` is installed with the package for nbconvert's ``HTMLExporter``
(``etc/jupyter/jupyter_nbconvert_config.json`` for ``jupyter nbconvert --to html``, and the server
configuration for JupyterLab's File › Save and Export Notebook As › HTML). Per attn-widget output:

- widget state stored in the notebook (``jupyter nbconvert --execute``, nbclient, JupyterLab with the
  widget manager's ``saveState`` on): the widget view is replaced by an inline block built from that
  state, selections included, and the model leaves the stored state, so nbconvert's widget manager
  (require.js and html-manager from CDNs) is not needed for it;
- no stored state: the output keeps its ``text/html`` copy (:func:`attn_widget.export.fallback_bundle`);
- sanitized export (``sanitize_html``, JupyterLab's default for its HTML export; script, image and div
  markup would be escaped into text): the output becomes the picture (``image/png``) and the text summary.

One copy of the renderer is kept per page (in the last interactive output). ``--execute`` runs before
the preprocessor (nbconvert runs its default preprocessors first).

:class:`AttnHTMLExporter` (``--to attn-html`` on the command line, ``attn_html`` in JupyterLab's Export
menu, whose server route takes ``\\w+`` names only) runs the same preprocessor with a template that
loads neither require.js (unless other widgets keep stored state) nor MathJax.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import sys
from typing import Any

from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from nbformat.v4 import new_output
from traitlets import default

from .export import RUNTIME_MARK, block_html, page_state, runtime_html, with_head_stats
from .wire import STATIC

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
#: The two kinds of text/html an AttentionWidget output carries (interactive block, static picture).
OUR_HTML = re.compile(r'class="attn-widget-(export|static)"')


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


def _is_ours(model: dict[str, Any]) -> bool:
    return str(model.get("state", {}).get("_anywidget_id", "")).startswith("attn_widget.")


def _picture_and_summary(output: NotebookNode) -> list[NotebookNode]:
    """The output as two that survive sanitizing: the PNG thumbnails and the text summary."""
    data = output.get("data", {})
    summary = data.get("text/plain", "attn-widget view")
    picture = new_output("display_data", data={"image/png": data["image/png"]}) if "image/png" in data else None
    return [o for o in (picture, new_output("display_data", data={"text/plain": summary})) if o is not None]


class AttentionWidgetsPreprocessor(Preprocessor):
    """attn-widget outputs as inline, offline views (or picture and summary when sanitized); see the
    module docstring."""

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        sanitized = bool(resources.get("should_sanitize_html"))
        widgets = nb.metadata.get("widgets", {})
        store = widgets.get(WIDGET_STATE, {}).get("state", {})
        ours = {mid for mid, m in store.items() if _is_ours(m)}
        interactive: list[dict[str, Any]] = []  # data of outputs showing an inline block
        for cell in nb.cells:
            outputs = []
            for output in cell.get("outputs", []):
                data = output.get("data", {})
                model_id = data.get(WIDGET_VIEW, {}).get("model_id")
                if model_id in ours or OUR_HTML.search(data.get("text/html", "")):
                    if sanitized:
                        outputs += _picture_and_summary(output)
                        continue
                    if model_id in ours:
                        del data[WIDGET_VIEW]
                        data["text/html"] = block_html(page_state(with_head_stats(_stored_state(store[model_id]))))
                    else:
                        data["text/html"] = data["text/html"].split(RUNTIME_MARK)[0]
                    if "attn-widget-export" in data["text/html"]:
                        interactive.append(data)
                outputs.append(output)
            if "outputs" in cell:
                cell.outputs = outputs
        if interactive:
            interactive[-1]["text/html"] += runtime_html()  # the loader mounts every block of the page
        self._drop_models(nb, ours)
        return nb, resources

    @staticmethod
    def _drop_models(nb: NotebookNode, ours: set[str]) -> None:
        """Remove attn-widget models from the stored widget state, keeping the models other widget views
        reach (through ``"IPY_MODEL_<id>"`` references, e.g. layouts); no state left: no widget metadata."""
        widgets = nb.metadata.get("widgets", {})
        store = widgets.get(WIDGET_STATE, {}).get("state", {})
        if not ours:
            return
        remaining = [
            o["data"][WIDGET_VIEW]["model_id"]
            for cell in nb.cells
            for o in cell.get("outputs", [])
            if WIDGET_VIEW in o.get("data", {}) and o["data"][WIDGET_VIEW].get("model_id") not in ours
        ]
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


class AttnHTMLExporter(HTMLExporter):
    """HTML exporter (lab template) with attn-widget views inline and working offline."""

    export_from_notebook = "HTML (attn-widget, offline)"

    @default("preprocessors")
    def _default_preprocessors(self) -> list:
        return [AttentionWidgetsPreprocessor]

    @default("extra_template_paths")
    def _default_extra_template_paths(self) -> list[str]:
        return [str(STATIC.parent / "templates")]

    @default("template_file")
    def _default_template_file(self) -> str:
        return "attn_html.html.j2"


class AttnHTMLCommandLineExporter(AttnHTMLExporter):
    """``--to attn-html``: the command-line name of :class:`AttnHTMLExporter`, hidden in a Jupyter
    server (whose export route matches ``\\w+`` names only), so JupyterLab's Export menu lists only
    ``attn_html``."""

    @default("enabled")
    def _default_enabled(self) -> bool:
        return not _in_jupyter_server()


def _in_jupyter_server() -> bool:
    serverapp = sys.modules.get("jupyter_server.serverapp")
    return serverapp is not None and serverapp.ServerApp.initialized()


# ---------- Jupyter Server extension: the server's HTML export (JupyterLab, Notebook 7) ----------


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "attn_widget.nbexport"}]


def _load_jupyter_server_extension(serverapp) -> None:
    """Add :class:`AttentionWidgetsPreprocessor` to the ``HTMLExporter`` of the server's nbconvert route
    (``/nbconvert/html/<path>``: File › Save and Export Notebook As › HTML). Jupyter Server reads only
    ``jpserver_extensions`` from ``jupyter_server_config.d``, so this cannot be a configuration file."""
    exporter = serverapp.config.HTMLExporter
    preprocessors = exporter.get("preprocessors", [])
    name = f"{__name__}.{AttentionWidgetsPreprocessor.__name__}"
    if isinstance(preprocessors, list) and name not in preprocessors and AttentionWidgetsPreprocessor not in preprocessors:
        exporter.preprocessors = [*preprocessors, name]
