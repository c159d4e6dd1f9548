"""Compatibility matrix, front ends: JupyterLab 4, Notebook 7, Voilà and marimo, each in Chromium with
every non-loopback request aborted: the view is painted (canvas pixels) and, with a live kernel, a
selection made in the browser reaches Python and comes back. The README's compatibility table lists
these tests. Notebook 7 and Voilà are served by the session's Jupyter server (their server extensions
are installed with the test extra); marimo runs its own server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from lab import is_local
from notebook import TESTS_DIR, open_notebook, run_cell, save_notebook, write_notebook
from offline import PAINTED_CANVAS, guarded_page
from playwright.sync_api import expect

HEAD = ".attn-widget .aw-head-canvas"
WIDGET = (
    f"import sys; sys.path.insert(0, {str(TESTS_DIR / 'e2e')!r})\n"
    "from offline import attention\nfrom attn_widget import AttentionWidget\n"
    "a = AttentionWidget(attention(8), [f't{i}' for i in range(8)])\n"
)
#: Browser → Python → browser without running a cell: deselecting a head makes Python pick layer 2.
ROUND_TRIP = "a.observe(lambda change: setattr(a, 'layer', 2), names='heads')\n"


def painted(page) -> int:
    """Painted pixels of the first head-view canvas (found through shadow roots too, e.g. marimo's)."""
    return page.locator(HEAD).first.evaluate(PAINTED_CANVAS)


def anywidget_warnings(page) -> list[str]:
    """anywidget's console messages from now on (e.g. its deprecation warning for a named ``render`` export)."""
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text) if "anywidget" in m.text.lower() else None)
    return messages


def deselect_head_and_see_python_answer(page) -> None:
    """Click head 1 off; Python's observer sets ``layer = 2`` and the view's layer select follows."""
    page.locator('.attn-widget .aw-head[data-head="1"]').first.click()
    expect(page.locator(".attn-widget .aw-layer").first).to_have_value("2", timeout=15_000)


def run_widget_and_round_trip(page) -> None:
    """Run the widget cell (cell 0): painted; a head deselected in the browser reaches Python (cell 1)."""
    run_cell(page, 0)
    page.locator(HEAD).wait_for(state="visible")
    assert painted(page) > 300
    deselect_head_and_see_python_answer(page)
    assert "STATE 2 [0, 2, 3]" in run_cell(page, 1)


def test_jupyterlab(lab, page):
    """JupyterLab 4: painted, a Python round trip, and anywidget's module shape (no deprecation warning).
    A page reloaded while the kernel runs shows the live views again (this one and an ipywidgets slider),
    not the saved copy."""
    warnings = anywidget_warnings(page)
    cell = WIDGET + ROUND_TRIP + "import ipywidgets\ndisplay(ipywidgets.IntSlider(description='other'))\na"
    write_notebook(lab, "frontend_lab.ipynb", [cell, "print('STATE', a.layer, a.heads)"])
    open_notebook(page, lab, "frontend_lab.ipynb")
    run_widget_and_round_trip(page)
    assert warnings == []

    save_notebook(page)
    page.reload()
    page.locator(".jp-OutputArea .widget-slider").wait_for(state="visible", timeout=60_000)
    page.wait_for_function(  # the live view (the saved copy shows while the widget manager connects)
        "() => [...document.querySelectorAll('.aw-head-canvas')].some(c => c.width && !c.closest('.aw-saved-copy'))"
    )
    expect(page.locator(".aw-saved-copy")).to_have_count(0)
    expect(page.locator(".attn-widget .aw-layer")).to_have_value("2")  # the kernel's state


def open_notebook7(page, lab, name: str) -> None:
    page.goto(f"{lab.url}notebooks/{name}?token={lab.token}")
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget?.sessionContext?.session?.kernel?.status === 'idle'",
        timeout=90_000,
    )


def test_notebook7_widget_and_runs(lab, page):
    """Notebook 7: the widget (painted, round trip), the runs sidebar, and a clicked run's charts, which
    open in the down area (Notebook 7 keeps a single main-area widget)."""
    from test_sidebar import CANVAS, configure, write_run

    write_run(lab.root / "nb7tb" / "alpha", steps=20)
    configure(lab, logdir="nb7tb")
    write_notebook(lab, "frontend_nb7.ipynb", [WIDGET + ROUND_TRIP + "a", "print('STATE', a.layer, a.heads)"])
    warnings = anywidget_warnings(page)
    open_notebook7(page, lab, "frontend_nb7.ipynb")
    run_widget_and_round_trip(page)
    assert warnings == []

    page.evaluate("() => window.jupyterapp.commands.execute('attn-widget:open-runs')")
    run = page.locator("#attn-widget-runs .jp-AttnRuns-run").filter(has_text="alpha")
    run.click()
    chart = page.locator(".jp-AttnScalars .jp-AttnScalars-chart canvas").first
    chart.wait_for(state="visible", timeout=15_000)
    page.wait_for_function(f"() => ({CANVAS})(document.querySelector('.jp-AttnScalars-chart canvas')).coloured > 50")


def local_page(browser):
    """A page where every non-loopback request is aborted (and listed)."""
    return guarded_page(browser, lambda u: is_local(u) or u.startswith(("data:", "blob:")))


def test_voila_renders(lab, browser):
    """Voilà (server extension of the same server): the view renders from the live kernel; a click
    reaches Python and comes back. Voilà's own template asks CDNs for Font Awesome and MathJax."""
    write_notebook(lab, "frontend_voila.ipynb", [WIDGET + ROUND_TRIP + "a"])
    with local_page(browser) as (page, blocked):
        warnings = anywidget_warnings(page)
        page.goto(f"{lab.url}voila/render/frontend_voila.ipynb?token={lab.token}")
        page.locator(HEAD).wait_for(state="visible", timeout=90_000)
        assert painted(page) > 300
        deselect_head_and_see_python_answer(page)
        assert all("fontawesome" in u or "mathjax" in u for u in blocked), blocked
        assert warnings == []


# ---------- marimo ----------

MARIMO_APP = f"""
import marimo

app = marimo.App()


@app.cell
def _():
    import sys
    sys.path.insert(0, {str(TESTS_DIR / "e2e")!r})
    import marimo as mo
    from offline import attention
    from attn_widget import AttentionWidget
    view = mo.ui.anywidget(AttentionWidget(attention(8), [f"t{{i}}" for i in range(8)]))
    view
    return (mo, view)


@app.cell
def _(mo, view):
    mo.md(f"MARIMO HEADS {{view.widget.heads}}")
    return


if __name__ == "__main__":
    app.run()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def marimo_app(tmp_path_factory):
    """``marimo run`` of a one-widget app on 127.0.0.1; its URL."""
    folder = tmp_path_factory.mktemp("marimo")
    (folder / "app.py").write_text(MARIMO_APP)
    port = _free_port()
    log = (folder / "marimo.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "marimo", "run", "app.py", "--headless", "--host", "127.0.0.1", "--port", str(port), "--no-token"],
        cwd=folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env={**os.environ, "MARIMO_SKIP_UPDATE_CHECK": "1"},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError((folder / "marimo.log").read_text()) from None
            time.sleep(0.3)
    try:
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)
        log.close()


def test_marimo_anywidget(browser, marimo_app):
    """marimo's ``mo.ui.anywidget``: the view renders (binary attention buffers decoded into pixels) and a
    head clicked in the browser reaches Python (the dependent cell re-runs with the new selection)."""
    with local_page(browser) as (page, _):
        warnings = anywidget_warnings(page)
        page.goto(marimo_app)
        page.locator(HEAD).wait_for(state="visible", timeout=60_000)
        assert painted(page) > 300
        page.get_by_text("MARIMO HEADS [0, 1, 2, 3]").wait_for()
        page.locator('.attn-widget .aw-head[data-head="1"]').click()
        page.get_by_text("MARIMO HEADS [0, 2, 3]").wait_for(timeout=15_000)
        assert warnings == []
