"""Compatibility matrix, routes around a notebook: reopen without the kernel, and every HTML export
route (JupyterLab's export endpoint, plain nbconvert, the package's exporter), each rendered in
Chromium with every non-loopback request aborted. The README's compatibility table lists these tests."""

from __future__ import annotations

import json

import nbformat
from notebook import TESTS_DIR, open_notebook, run_cell, write_notebook
from offline import PAINTED, canvas_url

HEAD = ".attn-widget .aw-head-canvas"
WIDGET_CELL = (
    f"import sys; sys.path.insert(0, {str(TESTS_DIR / 'e2e')!r})\n"
    "from offline import attention\nfrom attn_widget import AttentionWidget\n"
    "a = AttentionWidget(attention(8), [f't{i}' for i in range(8)])\na"
)
ROUND_TRIP = "print('STATE', a.layer, a.heads)"


def save_notebook(page) -> None:
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")


def shut_down_kernels(lab) -> None:
    for session in lab.api("GET", "api/sessions"):
        lab.api("DELETE", f"api/sessions/{session['id']}")


def test_reopen_shows_saved_copy_with_selection_then_live(lab, page):
    """Lab default settings (widget state not saved): run, select in the browser, save, shut the kernel
    down, reopen. The output shows its saved copy (marked), interactive, with the selection made before
    saving; running the cell gives the live widget and a Python round trip."""
    write_notebook(lab, "reopen.ipynb", [WIDGET_CELL, ROUND_TRIP])
    open_notebook(page, lab, "reopen.ipynb")
    run_cell(page, 0)
    page.locator(HEAD).wait_for(state="visible")
    page.locator(".attn-widget .aw-layer").select_option("2")
    page.locator('.attn-widget .aw-head[data-head="1"]').click()
    assert "STATE 2 [0, 2, 3]" in run_cell(page, 1)
    save_notebook(page)
    shut_down_kernels(lab)

    open_notebook(page, lab, "reopen.ipynb")  # a fresh page; JupyterLab starts a new kernel
    saved = page.locator(".jp-OutputArea .aw-saved-copy")
    saved.locator(HEAD).wait_for(state="visible")
    assert "saved copy" in page.locator(".aw-saved-copy-note").inner_text()
    assert "model not found" not in page.locator(".jp-Notebook").inner_text()
    assert page.evaluate(PAINTED, [".aw-saved-copy .aw-head-canvas", 0]) > 300
    assert saved.locator(".aw-layer").input_value() == "2"
    assert saved.locator('.aw-head[data-head="1"]').get_attribute("aria-pressed") == "false"
    before = canvas_url(page, HEAD)
    saved.locator('.aw-head[data-head="3"]').click()  # interactive without a kernel
    assert canvas_url(page, HEAD) != before

    run_cell(page, 0)  # live again
    page.locator(".jp-OutputArea .attn-widget .aw-head-canvas").wait_for(state="visible")
    assert page.locator(".aw-saved-copy").count() == 0
    page.locator('.attn-widget .aw-head[data-head="0"]').click()
    assert "STATE 0 [1, 2, 3]" in run_cell(page, 1)
    stored = nbformat.reads(json.dumps(lab.api("GET", "api/contents/reopen.ipynb")["content"]), 4)
    assert "widgets" not in stored.metadata  # JupyterLab's default: no widget state saved
