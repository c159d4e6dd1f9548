"""attn_widget.nbexport's preprocessor on notebooks built in-process: stored widget state, no state,
sanitized exports, other widgets kept (browser checks: tests/e2e/test_routes_e2e.py)."""

import base64

import ipywidgets
import nbformat
import numpy as np
import pytest
from ipywidgets.widgets.widget import _remove_buffers

from attn_widget import AttentionWidget
from attn_widget.export import RUNTIME_MARK
from attn_widget.nbexport import WIDGET_STATE, WIDGET_VIEW, AttentionWidgetsPreprocessor


def stored(widget) -> dict:
    """The widget's model as nbclient stores it (buffers base64-encoded at their paths)."""
    state, paths, buffers = _remove_buffers(widget.get_state())
    return {
        "model_name": state["_model_name"], "model_module": state["_model_module"],
        "model_module_version": state["_model_module_version"], "state": state,
        "buffers": [{"path": p, "data": base64.b64encode(b).decode(), "encoding": "base64"} for p, b in zip(paths, buffers)],
    }  # fmt: skip


@pytest.fixture
def notebook():
    """Two attention widgets (the second's state stored with layer 2) and a slider."""
    rng = np.random.default_rng(0)
    a, b = (
        AttentionWidget(rng.dirichlet(np.ones(6), size=(2, 2, 6)).astype(np.float32), list("abcdef")) for _ in range(2)
    )
    slider = ipywidgets.IntSlider()
    bundles = [w._repr_mimebundle_() for w in (a, b, slider)]  # ipywidgets' is the data alone
    b.layer = 1  # after display, as a selection made in the browser
    outputs = [
        nbformat.v4.new_output("execute_result", data=d[0] if isinstance(d, tuple) else d, execution_count=1)
        for d in bundles
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("w", outputs=[o]) for o in outputs])
    models = {w.model_id: stored(w) for w in (b, slider, slider.layout, slider.style)}
    nb.metadata["widgets"] = {WIDGET_STATE: {"state": models, "version_major": 2, "version_minor": 0}}
    yield nb, (a, b, slider)
    for w in (a, b, slider):
        w.close()


def run(nb, sanitized=False):
    return AttentionWidgetsPreprocessor().preprocess(nb, {"should_sanitize_html": sanitized})[0]


def test_stored_state_inlined_renderer_once_other_widgets_kept(notebook):
    nb, (a, b, slider) = notebook
    nb = run(nb)
    first, second, third = (c.outputs[0].data for c in nb.cells)
    assert WIDGET_VIEW not in second and '"layer":1' in second["text/html"]  # stored selection
    assert WIDGET_VIEW in first and RUNTIME_MARK not in first["text/html"]  # no state: its text/html copy
    assert RUNTIME_MARK in second["text/html"]  # one renderer, after the last block
    assert sum(c.outputs[0].data.get("text/html", "").count('class="aw-esm"') for c in nb.cells) == 1
    kept = nb.metadata["widgets"][WIDGET_STATE]["state"]
    assert set(kept) == {slider.model_id, slider.layout.model_id, slider.style.model_id}
    assert third[WIDGET_VIEW]["model_id"] == slider.model_id


def test_sanitized_export_gets_picture_and_summary(notebook):
    nb, (a, b, slider) = notebook
    nb = run(nb, sanitized=True)
    for cell in nb.cells[:2]:
        picture, summary = cell.outputs
        assert set(picture.data) == {"image/png"} and picture.data["image/png"].startswith("iVBORw0KGgo")
        assert summary.data == {
            "text/plain": "attn-widget head view: 2 layers × 2 heads × 6 tokens (open in JupyterLab to interact)"
        }
    assert WIDGET_VIEW in nb.cells[2].outputs[0].data


def test_notebook_without_widgets_is_unchanged():
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("1", outputs=[nbformat.v4.new_output("stream", text="1\n")])]
    )
    assert run(nbformat.from_dict(nb)) == nb
