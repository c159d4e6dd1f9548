"""Compatibility matrix, routes around a notebook: reopen without the kernel, and every HTML export
route (JupyterLab's export endpoint, plain nbconvert, the package's exporter), each rendered in
Chromium with every non-loopback request aborted. The README's compatibility table lists these tests."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import nbclient
import nbformat
import pytest
from lab import open_lab
from notebook import TESTS_DIR, open_notebook, run_cell, save_notebook, write_notebook
from offline import PAINTED, canvas_url, offline_page, open_export
from playwright.sync_api import TimeoutError as PlaywrightTimeout

HEAD = ".attn-widget .aw-head-canvas"
WIDGET_CELL = (
    f"import sys; sys.path.insert(0, {str(TESTS_DIR / 'e2e')!r})\n"
    "from offline import attention\nfrom attn_widget import AttentionWidget\n"
    "a = AttentionWidget(attention(8), [f't{i}' for i in range(8)])\na"
)
ROUND_TRIP = "print('STATE', a.layer, a.heads)"


def shut_down_kernels(lab) -> None:
    for session in lab.api("GET", "api/sessions"):
        lab.api("DELETE", f"api/sessions/{session['id']}")


def check_saved_copy(page, heads_off: list[int], click_off: int) -> None:
    """The output shows its saved copy: marked, painted, layer 2 and ``heads_off`` off; interactive
    (``click_off`` is clicked off and the canvas repaints)."""
    saved = page.locator(".jp-OutputArea .aw-saved-copy")
    saved.locator(HEAD).wait_for(state="visible")
    assert "saved copy" in page.locator(".aw-saved-copy-note").inner_text()
    assert "model not found" not in page.locator(".jp-Notebook").inner_text()
    assert page.evaluate(PAINTED, [".aw-saved-copy .aw-head-canvas", 0]) > 300
    assert saved.locator(".aw-layer").input_value() == "2"
    pressed = saved.locator(".aw-head").evaluate_all("hs => hs.map(h => h.getAttribute('aria-pressed'))")
    assert pressed == ["false" if h in heads_off else "true" for h in range(4)]
    before = canvas_url(page, HEAD)
    saved.locator(f'.aw-head[data-head="{click_off}"]').click()  # interactive without the widget's kernel
    assert canvas_url(page, HEAD) != before


def run_and_select(page, lab, name: str) -> None:
    """Write and open notebook ``name`` (the widget cell, then the round trip), run the widget and
    select layer 2 with head 1 turned off in the browser."""
    write_notebook(lab, name, [WIDGET_CELL, ROUND_TRIP])
    open_notebook(page, lab, name)
    run_cell(page, 0)
    page.locator(HEAD).wait_for(state="visible")
    page.locator(".attn-widget .aw-layer").select_option("2")
    page.locator('.attn-widget .aw-head[data-head="1"]').click()


def test_reopen_shows_saved_copy_with_selection_then_live(lab, page):
    """Default settings (widget state not saved): run in JupyterLab, select in the browser, save, shut
    the kernel down, reopen in JupyterLab (select in the saved copy, save) and in Notebook 7. Each shows
    the saved copy with the selection made before saving; running the cell gives the live widget and a
    Python round trip."""
    run_and_select(page, lab, "reopen.ipynb")
    assert "STATE 2 [0, 2, 3]" in run_cell(page, 1)
    save_notebook(page)
    shut_down_kernels(lab)

    open_notebook(page, lab, "reopen.ipynb")  # a fresh page; JupyterLab starts a new kernel
    check_saved_copy(page, heads_off=[1], click_off=3)
    save_notebook(page)  # the saved copy's own selection is saved too
    page.goto(f"{lab.url}notebooks/reopen.ipynb?token={lab.token}")  # Notebook 7
    page.wait_for_function(
        "() => window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel?.status === 'idle'",
        timeout=90_000,
    )
    check_saved_copy(page, heads_off=[1, 3], click_off=2)

    run_cell(page, 0)  # live again
    page.locator(".jp-OutputArea .attn-widget .aw-head-canvas").wait_for(state="visible")
    assert page.locator(".aw-saved-copy").count() == 0
    page.locator('.attn-widget .aw-head[data-head="0"]').click()
    assert "STATE 0 [1, 2, 3]" in run_cell(page, 1)
    stored = nbformat.reads(json.dumps(lab.api("GET", "api/contents/reopen.ipynb")["content"]), 4)
    assert "widgets" not in stored.metadata  # the default: no widget state saved


def kernel_menu(page, item: str) -> None:
    """Kernel › ``item`` from JupyterLab's menu bar, accepting its confirmation dialog if it asks."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Kernel").click()
    page.locator("#jp-mainmenu-kernel .lm-Menu-itemLabel").get_by_text(item, exact=True).click()
    accept = page.locator(".jp-Dialog .jp-mod-accept")
    try:
        accept.wait_for(state="visible", timeout=3_000)
    except PlaywrightTimeout:
        return  # no dialog for this item
    accept.click()


def wait_kernel(page, status: str) -> None:
    page.wait_for_function(
        "(s) => (window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel?.status ?? 'none') === s",
        arg=status,
        timeout=90_000,
    )


def run_live(page) -> None:
    """Run the widget cell: the live view (no saved copy) whose selection reaches Python."""
    run_cell(page, 0)
    page.locator(".jp-OutputArea .attn-widget .aw-head-canvas").wait_for(state="visible")
    assert page.locator(".aw-saved-copy").count() == 0
    page.locator('.attn-widget .aw-head[data-head="0"]').click()
    assert "STATE 0 [1, 2, 3]" in run_cell(page, 1)


def test_kernel_restart_and_shutdown_show_saved_copy(lab, page):
    """The notebook stays open while its kernel restarts (Kernel › Restart Kernel…) or shuts down
    (Kernel › Shut Down Kernel): the output shows its saved copy with the selection made in the live
    view, not the dead view; running the cell again gives the live widget. Kernel › Restart Kernel and
    Clear Outputs of All Cells… leaves the outputs cleared."""
    run_and_select(page, lab, "restart.ipynb")

    kernel_menu(page, "Restart Kernel…")
    wait_kernel(page, "idle")
    check_saved_copy(page, heads_off=[1], click_off=3)
    assert page.locator(".jp-OutputArea .attn-widget:not(.aw-saved-copy .attn-widget)").count() == 0
    run_live(page)

    kernel_menu(page, "Restart Kernel and Clear Outputs of All Cells…")
    wait_kernel(page, "idle")
    page.wait_for_timeout(1_000)  # anything drawn late would show by now
    assert page.locator(".jp-Notebook .jp-OutputArea-child").count() == 0

    run_live(page)
    page.locator(".attn-widget .aw-layer").select_option("2")
    page.locator('.attn-widget .aw-head[data-head="1"]').click()
    kernel_menu(page, "Shut Down Kernel")
    wait_kernel(page, "none")
    check_saved_copy(page, heads_off=[1, 0], click_off=2)


# ---------- HTML exports ----------

EXPORT_CELLS = [
    WIDGET_CELL,
    "b = AttentionWidget(attention(6, seed=1), [f'u{i}' for i in range(6)], view='model')\nb",
    "a.layer = 2",
]


def executed_notebook(store_widget_state: bool) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in EXPORT_CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbclient.NotebookClient(nb, store_widget_state=store_widget_state, timeout=120).execute()
    return nb


@pytest.fixture(scope="module")
def notebooks(tmp_path_factory):
    """``{"fresh", "no-state", "stored-state"}`` → notebook path: not executed, executed as JupyterLab
    saves it by default (no widget state), executed with widget state (nbclient's default)."""
    folder = tmp_path_factory.mktemp("routes")
    fresh = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in EXPORT_CELLS])
    fresh.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    paths = {
        "fresh": folder / "fresh.ipynb",
        "no-state": folder / "no_state.ipynb",
        "stored-state": folder / "stored_state.ipynb",
    }
    nbformat.write(fresh, paths["fresh"])
    nbformat.write(executed_notebook(False), paths["no-state"])
    nbformat.write(executed_notebook(True), paths["stored-state"])
    return paths


def nbconvert(path: Path, to: str, *options: str) -> Path:
    out = path.with_name(f"{path.stem}-{to}{'-'.join(options)}.html")
    subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", to, *options, str(path), "--output", out.name],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return out


def lab_export(lab, path: Path, url: str) -> Path:
    """GET ``url`` from the Lab server (authenticated) into ``path``, as the browser downloads it."""
    req = urllib.request.Request(lab.url + url, headers={"Authorization": f"token {lab.token}"})
    with urllib.request.urlopen(req, timeout=120) as resp:
        path.write_bytes(resp.read())
    return path


def assert_interactive(page, path: Path, layer: str) -> None:
    """Both views painted offline (head view showing ``layer``); clicking a head repaints."""
    open_export(page, path, 2)
    assert page.evaluate(PAINTED, [".attn-widget .aw-model-canvas", 0]) > 500
    assert page.evaluate(PAINTED, [HEAD, 0]) > 300
    assert page.locator(".attn-widget .aw-layer").first.input_value() == layer
    before = canvas_url(page, HEAD)
    page.locator('.attn-widget .aw-head[data-head="3"]').first.click()
    assert canvas_url(page, HEAD) != before


def test_lab_html_export_sanitized_and_not(lab, browser, notebooks, tmp_path):
    """JupyterLab › Save and Export Notebook As › HTML. Dialog defaults ("Sanitize HTML output"): the
    pictures and summaries, never escaped markup; unticked: interactive views."""
    lab.api(
        "PUT",
        "api/contents/exported.ipynb",
        json={"type": "notebook", "format": "json", "content": nbformat.read(notebooks["no-state"], 4)},
    )
    sanitized = lab_export(
        lab, tmp_path / "sanitized.html", "nbconvert/html/exported.ipynb?download=true&sanitize_html=true"
    )
    with offline_page(browser) as (page, _):
        page.goto(sanitized.as_uri())
        images = page.locator(".jp-OutputArea-output img")
        assert images.count() == 2 and all(i.evaluate("img => img.naturalWidth") > 0 for i in images.all())
        text = page.locator(".jp-Notebook").inner_text()
        assert "attn-widget head view: 3 layers × 4 heads × 8 tokens" in text and "attn-widget model view" in text
        assert "<img" not in text and "<div" not in text and "<script" not in text
    unsanitized = lab_export(lab, tmp_path / "unsanitized.html", "nbconvert/html/exported.ipynb?download=true")
    with offline_page(browser) as (page, _):
        assert_interactive(page, unsanitized, "0")


def test_nbconvert_html_with_stored_state_and_execute(browser, notebooks):
    """``jupyter nbconvert --to html`` (the configuration installed with the package adds the
    preprocessor): without widget state, with stored state, and ``--execute``."""
    pages = {
        "no-state": (nbconvert(notebooks["no-state"], "html"), "0"),
        "stored-state": (nbconvert(notebooks["stored-state"], "html"), "2"),
        "execute": (nbconvert(notebooks["fresh"], "html", "--execute"), "2"),
    }
    for name, (path, layer) in pages.items():
        assert path.read_text().count('class="aw-esm"') == 1, name  # one renderer per page
        with offline_page(browser) as (page, blocked):
            assert_interactive(page, path, layer)
            assert not [u for u in blocked if "html-manager" in u], name  # no widget manager needed


def test_attn_html_exporter_with_and_without_execute(browser, notebooks):
    """``jupyter nbconvert --to attn-html`` with and without ``--execute``: nothing requested."""
    for path, layer in [
        (nbconvert(notebooks["stored-state"], "attn-html"), "2"),
        (nbconvert(notebooks["fresh"], "attn-html", "--execute"), "2"),
    ]:
        with offline_page(browser) as (page, blocked):
            assert_interactive(page, path, layer)
            assert blocked == []


def test_attn_html_in_lab_export_menu(lab, page, browser, notebooks, tmp_path):
    """JupyterLab's Export menu lists the server's exporters (Jupyter Server routes only ``\\w+`` names):
    "Attn_html" is there, no broken "Attn-html"; its URL gives the offline page."""
    formats = lab.api("GET", "api/nbconvert")
    assert "attn_html" in formats and "attn-html" not in formats
    lab.api(
        "PUT",
        "api/contents/menu.ipynb",
        json={"type": "notebook", "format": "json", "content": nbformat.read(notebooks["stored-state"], 4)},
    )
    open_lab(page, lab, "menu.ipynb")
    # The menu is filled once the server's list arrives (JupyterLab asks when the first notebook opens).
    page.evaluate("() => window.jupyterapp.serviceManager.nbconvert.getExportFormats(false)")
    page.locator(".lm-MenuBar-itemLabel", has_text="File").click()
    page.locator(".lm-Menu-itemLabel", has_text="Save and Export Notebook As").hover()  # opens after a delay
    export_menu = page.locator("#jp-mainmenu-file-notebookexport")
    export_menu.wait_for(state="visible")
    export_menu.get_by_text("Attn_html", exact=True).wait_for(state="visible")
    assert export_menu.get_by_text("Attn-html", exact=True).count() == 0
    path = lab_export(lab, tmp_path / "menu.html", "nbconvert/attn_html/menu.ipynb?download=true")
    with offline_page(browser) as (page, blocked):
        assert_interactive(page, path, "2")
        assert blocked == []
