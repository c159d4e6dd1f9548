"""Exported HTML in offline Chromium (every non-file request aborted): standalone files, notebooks
converted with nbconvert with and without stored widget state, static fallbacks, image export."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import nbclient
import nbformat
import pytest
from nbconvert import HTMLExporter
from notebook import open_notebook, run_cell, write_notebook
from offline import PAINTED, attention, canvas_url, offline_page, open_export

from attn_widget import AttentionWidget, head_view, model_view
from attn_widget.export import widget_html

HEAD = ".attn-widget .aw-head-canvas"
E2E = Path(__file__).parent
TOKENS = [f"t{i}" for i in range(8)]


def select_layer(page, widget: int, layer: int) -> None:
    page.locator(".attn-widget .aw-layer").nth(widget).select_option(str(layer))


def test_save_html_is_interactive_offline(browser, tmp_path):
    path = AttentionWidget(attention(8), TOKENS).save_html(tmp_path / "head.html")
    with offline_page(browser) as (page, blocked):
        open_export(page, path, 1)
        assert page.evaluate(PAINTED, [HEAD, 0]) > 500
        before = canvas_url(page, HEAD)
        select_layer(page, 0, 2)
        after_layer = canvas_url(page, HEAD)
        page.locator('.attn-widget .aw-head[data-head="1"]').click()
        assert len({before, after_layer, canvas_url(page, HEAD)}) == 3
        box = page.locator(HEAD).bounding_box()
        page.mouse.move(box["x"] + 10, box["y"] + 8 + 18 * 3 + 9)  # hover query token t3
        assert "t3 (3)" in page.locator(".attn-widget .aw-tooltip").inner_text()
        assert blocked == []


def test_head_view_return_and_model_view_files(browser, tmp_path):
    head = tmp_path / "head.html"
    head.write_text(head_view(attention(8), TOKENS, html_action="return").data)
    model = tmp_path / "model.html"
    model.write_text(model_view(attention(8), TOKENS, html_action="return").data)
    with offline_page(browser) as (page, blocked):
        open_export(page, head, 1)
        assert page.evaluate(PAINTED, [HEAD, 0]) > 500
        open_export(page, model, 1)
        canvas = ".attn-widget .aw-model-canvas"
        assert page.evaluate(PAINTED, [canvas, 0]) > 1000
        page.locator(canvas).click(position={"x": 64 + 10, "y": 20 + 10})  # layer 0, head 0
        assert page.locator(".attn-widget .aw-detail-title").inner_text() == "Layer 0, Head 0"
        assert blocked == []


def test_several_widgets_in_one_file_are_independent(browser, tmp_path):
    widgets = [AttentionWidget(attention(8, seed=s), TOKENS) for s in range(3)]
    path = tmp_path / "three.html"
    path.write_text(widget_html([w.wire_state() for w in widgets]))
    assert path.read_text().count('class="aw-esm"') == 1  # one renderer copy per page
    with offline_page(browser) as (page, blocked):
        open_export(page, path, 3)
        before = [canvas_url(page, HEAD, i) for i in range(3)]
        assert len(set(before)) == 3
        select_layer(page, 1, 2)
        after = [canvas_url(page, HEAD, i) for i in range(3)]
        assert [a != b for a, b in zip(after, before)] == [False, True, False]
        page.locator(".attn-widget").nth(2).locator('.aw-head[data-head="0"]').click()
        final = [canvas_url(page, HEAD, i) for i in range(3)]
        assert [a != b for a, b in zip(final, after)] == [False, False, True]
        assert page.evaluate("() => attnWidgetModels.map(m => m.get('layer'))") == [0, 2, 0]
        assert blocked == []


def test_toolbar_saves_png_and_svg(browser, tmp_path):
    path = tmp_path / "two.html"
    path.write_text(widget_html([w.wire_state() for w in (AttentionWidget(attention(8), TOKENS, mode="lines"), AttentionWidget(attention(8), TOKENS, view="model"))]))
    with offline_page(browser) as (page, _):
        open_export(page, path, 2)
        saved = {}
        for i, fmt in [(0, "png"), (0, "svg"), (1, "svg")]:
            with page.expect_download() as download:
                page.locator(f".attn-widget .aw-save-{fmt}").nth(i).click()
            saved[i, fmt] = download.value.path().read_bytes()
    assert saved[0, "png"].startswith(b"\x89PNG\r\n\x1a\n")
    lines = saved[0, "svg"].decode()
    assert lines.startswith("<svg") and lines.count("<text") == 16 and "<path" in lines and "<image" not in lines
    assert ">t7</text>" in lines  # tokens as text: vector, searchable
    assert "<image" in saved[1, "svg"].decode()  # heatmaps embedded as images


# ---------- notebooks through nbconvert ----------

CELLS = [
    "import sys; sys.path.insert(0, {tests!r})\nfrom offline import attention\nfrom attn_widget import AttentionWidget\n"
    "a = AttentionWidget(attention(8), [f't{{i}}' for i in range(8)])\na",
    "b = AttentionWidget(attention(6, seed=1), [f'u{{i}}' for i in range(6)], view='model')\nb",
    "a.layer = 2",
]


@pytest.fixture(scope="module", params=[False, True], ids=["no-state", "stored-state"])
def executed(request, tmp_path_factory):
    """The notebook executed with nbclient, with or without ``store_widget_state``; its path."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c.format(tests=str(E2E))) for c in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbclient.NotebookClient(nb, store_widget_state=request.param, timeout=120).execute()
    path = tmp_path_factory.mktemp("nb") / "attention.ipynb"
    nbformat.write(nb, path)
    return path


def nbconvert(path, to: str):
    subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", to, str(path)], check=True, capture_output=True)
    return path.with_suffix(".html")


def test_plain_html_export(browser, executed):
    """``jupyter nbconvert --to html``: without state, the outputs' text/html copies run offline;
    with state, the page uses the standard widget manager (from its CDN) and our stored _esm."""
    nb = nbformat.read(executed, 4)
    html, _ = HTMLExporter().from_notebook_node(nb)
    if "widgets" in nb.metadata:
        state = json.loads(html.split('<script type="application/vnd.jupyter.widget-state+json">')[1].split("</script>")[0])
        ours = [m for m in state["state"].values() if m["state"].get("_anywidget_id") == "attn_widget.widget.AttentionWidget"]
        assert len(ours) == 2 and all("mountStandalone" in m["state"]["_esm"] for m in ours)
        assert "@jupyter-widgets/html-manager" in html and "require.min.js" in html
        assert html.count('<script type="application/vnd.jupyter.widget-view+json">') == 2
        return
    path = executed.with_name("plain.html")
    path.write_text(html)
    with offline_page(browser) as (page, blocked):
        open_export(page, path, 2)
        assert page.locator(".attn-widget .aw-layer").first.input_value() == "0"  # snapshot at display time
        before = canvas_url(page, HEAD)
        select_layer(page, 0, 1)
        assert canvas_url(page, HEAD) != before
        assert page.evaluate(PAINTED, [".attn-widget .aw-model-canvas", 0]) > 500
        assert all("cdnjs.cloudflare.com" in u for u in blocked)  # nbconvert's own require.js/MathJax only


def test_attn_html_export_is_offline(browser, executed):
    """``jupyter nbconvert --to attn-html`` (entry point): everything inline, nothing requested."""
    path = nbconvert(executed, "attn-html")
    text = path.read_text()
    assert text.count('class="aw-esm"') == 1 and "unpkg.com" not in text and "require.min.js" not in text
    with offline_page(browser) as (page, blocked):
        open_export(page, path, 2)
        stored = "widgets" in nbformat.read(executed, 4).metadata
        assert page.locator(".attn-widget .aw-layer").first.input_value() == ("2" if stored else "0")
        before = canvas_url(page, HEAD)
        page.locator('.attn-widget .aw-head[data-head="3"]').first.click()
        assert canvas_url(page, HEAD) != before
        assert blocked == []


def test_static_fallback_without_scripts(browser, executed):
    """A front end without the widget manager that shows text/html without running scripts (GitHub,
    untrusted notebooks) gets the thumbnail image and a summary; text/plain is a summary, never the repr."""
    nb = nbformat.read(executed, 4)
    data = nb.cells[0].outputs[0].data
    assert data["text/plain"].startswith("attn-widget head view: 3 layers × 4 heads × 8 tokens")
    assert data["image/png"].startswith("iVBORw0KGgo")  # base64 of the PNG signature
    nb.metadata.pop("widgets", None)
    path = executed.with_name("static.html")
    path.write_text(HTMLExporter().from_notebook_node(nb)[0])
    with offline_page(browser, java_script_enabled=False) as (page, _):
        page.goto(path.as_uri())
        images = page.locator(".attn-widget-host img")
        assert images.count() == 2 and images.first.evaluate("img => img.naturalWidth") > 0
        outputs = page.locator(".jp-OutputArea").all_inner_texts()
        assert "Run the notebook to interact" in outputs[0] and not any("AttentionWidget" in o for o in outputs)


# ---------- JupyterLab: the live view is preferred; save_image round trip ----------


def test_lab_shows_live_widget_and_save_image(lab, page, tmp_path):
    png, svg = tmp_path / "view.png", tmp_path / "view.svg"
    write_notebook(lab, "images.ipynb", [
        CELLS[0].format(tests=str(E2E)),
        f"f, g = a.save_image({str(png)!r}), a.save_image({str(svg)!r})",
        "print('SAVED', f.result(timeout=10).stat().st_size > 0, g.result(timeout=10).read_text()[:4])",
    ])  # fmt: skip
    open_notebook(page, lab, "images.ipynb")
    run_cell(page, 0)
    page.locator(HEAD).wait_for(state="visible")
    assert page.locator(".jp-OutputArea .attn-widget-host").count() == 0  # live view, not the HTML copy
    run_cell(page, 1)
    # The view answers once the cell has finished; a cell started before that would block the reply.
    deadline = time.monotonic() + 15
    while not (png.exists() and svg.exists()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "SAVED True <svg" in run_cell(page, 2)
    assert png.read_bytes().startswith(b"\x89PNG")


def test_tokens_with_markup_do_not_break_the_page(browser, tmp_path):
    tokens = ["<!--<script>", "</script>", "<b>bold</b>", "&amp;", "ok"]
    path = AttentionWidget(attention(5, layers=1, heads=2), tokens).save_html(tmp_path / "markup.html")
    with offline_page(browser) as (page, blocked):
        open_export(page, path, 1)  # mounts: the inline JSON holds no "<"
        assert page.evaluate(PAINTED, [".aw-head-canvas", 0]) > 100
        assert page.locator("b").count() == 0  # tokens are text, never markup
        assert not blocked
