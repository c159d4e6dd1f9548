"""The views as a reader drives them in real JupyterLab + Chromium: one notebook with every view,
opened once for the module (one Lab server, one kernel). Heatmap scale and exports, the wheel and
the page, keyboard-only use of each view, axe-core's accessibility check, layout at 900 px, and
screenshots compared with tests/e2e/snapshots/ (``ATTN_WIDGET_UPDATE_SNAPSHOTS=1`` rewrites them)."""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

import pytest
from lab import is_local
from notebook import TESTS_DIR, open_notebook, run_cell, write_notebook
from offline import guarded_page

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("ATTN_WIDGET_UPDATE_SNAPSHOTS") == "1"
TEXT = "the cat sat on the mat because it was warm and the dog ran in the rain"

SETUP = f"""
import sys
sys.path.insert(0, {str(TESTS_DIR)!r})
import pathlib, tempfile
import numpy as np
from tiny_models import make_tokenizer, make_model
import attn_widget
tok = make_tokenizer(pathlib.Path(tempfile.mkdtemp()))
model = make_model("bert", tok, initializer_range=0.5)
text = {TEXT!r}
rng = np.random.default_rng(0)
big = rng.dirichlet(np.full(24, 0.3), size=(12, 12, 24)).astype(np.float32)  # 12 layers × 12 heads
"""

#: One widget per cell, in this order (index = cell index - 1 = widget index on the page).
WIDGETS = {
    "heatmap": 'attn_widget.from_model(model, tok, text, mode="heatmap", theme="light")',
    "lines": 'attn_widget.from_model(model, tok, text, theme="light")',
    "model": 'attn_widget.from_model(model, tok, text, view="model", theme="light")',
    "neuron": 'attn_widget.from_model(model, tok, text, view="neuron", theme="light")',
    "summary": 'attn_widget.from_model(model, tok, text, view="summary", theme="light")',
    "model12": 'attn_widget.AttentionWidget(big, [f"t{i}" for i in range(24)], view="model", theme="light")',
}


@pytest.fixture(scope="module")
def views(browser, lab):
    """The notebook with every view, run once; yields the page (1400 × 900)."""
    cells = [SETUP] + [f"w_{name} = {code}\nw_{name}" for name, code in WIDGETS.items()]
    write_notebook(lab, "views.ipynb", cells)
    allowed = lambda url: is_local(url) or url.startswith(("data:", "blob:"))  # noqa: E731
    with guarded_page(browser, allowed, viewport={"width": 1400, "height": 900}) as (page, blocked):
        open_notebook(page, lab, "views.ipynb")
        for i in range(len(cells)):
            run_cell(page, i)
        page.locator(".attn-widget").nth(len(WIDGETS) - 1).wait_for(state="attached")
        yield page
    assert not blocked, f"page tried to leave the machine: {blocked}"


def widget(page, name: str):
    return page.locator(".attn-widget").nth(list(WIDGETS).index(name))


def set_trait(page, code: str) -> str:
    """Run ``code`` in the kernel (a new cell at the end; ``w_<name>`` are the widgets); its output."""
    page.evaluate(
        """async (code) => {
          const panel = window.jupyterapp.shell.currentWidget;
          const cells = panel.content.widgets;
          panel.content.activeCellIndex = cells.length - 1;
          await window.jupyterapp.commands.execute('notebook:insert-cell-below');
          panel.content.activeCell.model.sharedModel.setSource(code);
        }""",
        code,
    )
    count = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.widgets.length")
    return run_cell(page, count - 1)


#: Marks the notebook's scrolling element (the widget's nearest scrollable ancestor) with data-aw-scroller.
SCROLLER = """(el) => {
  for (let p = el.parentElement; p; p = p.parentElement) {
    const y = getComputedStyle(p).overflowY;
    if ((y === 'auto' || y === 'scroll') && p.scrollHeight > p.clientHeight) { p.dataset.awScroller = ''; return; }
  }
  throw new Error('no scrolling ancestor');
}"""


def download(page, button) -> bytes:
    with page.expect_download() as info:
        button.click()
    return Path(info.value.path()).read_bytes()


def ink(page, root, selector: str) -> float:
    """Mean opacity of the painted pixels of ``selector`` inside ``root`` (0–255)."""
    return root.locator(selector).evaluate(
        """(c) => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                    let s = 0; for (let i = 3; i < d.length; i += 4) s += d[i]; return s / (d.length / 4); }"""
    )


def test_heatmap_scale_contrast_modes_and_vector_svg(views):
    page = views
    w = widget(page, "heatmap")
    w.scroll_into_view_if_needed()
    caption = w.locator(".aw-heatmap-caption")
    assert caption.inner_text() == "mean of heads 0, 1, 2, 3"  # one aggregate by default, not a colour blend
    linear = ink(page, w, ".aw-heatmap-canvas")
    w.locator(".aw-contrast").select_option("log")
    assert ink(page, w, ".aw-heatmap-canvas") > linear * 1.2  # faint weights become visible
    svg = download(page, w.locator(".aw-save-svg")).decode()
    assert "key →" in svg and "query ↓" in svg and ">weight<" in svg  # axis titles and colour bar title
    assert svg.count("<rect") > 19 * 19 // 2 and "<image" not in svg  # cells as vectors, not a raster
    assert re.search(r">\de-[34]</text>", svg)  # log scale: the bar's ticks span three decades
    w.locator(".aw-heads-mode").select_option("blend")
    assert "blended" in caption.inner_text()
    w.locator(".aw-heads-mode").select_option("mean")
    w.locator(".aw-contrast").select_option("linear")
    # One head: its own scale, caption says so.
    w.locator('.aw-head[data-head="1"]').dblclick()
    page.wait_for_function("(el) => el.textContent === 'head 1'", arg=caption.element_handle())
    assert not w.locator(".aw-heads-mode").is_visible()
    # Search: matches are inverted labels (theme colours), never a head colour.
    search = w.locator(".aw-search")
    search.fill("cat")
    search.press("Enter")
    assert "match 1/1" in w.locator(".aw-heatmap-status").inner_text()
    svg = download(page, w.locator(".aw-save-svg")).decode()
    # The match's label: a box in the text colour, the word in the background colour (light theme).
    assert re.search(r'fill="#1a1a1a"[^>]*/><text [^>]*fill="#ffffff"[^>]*>cat</text>', svg), svg[-3000:]
    search.fill("")
    search.press("Enter")


def test_wheel_scrolls_the_notebook_unless_the_map_has_focus(views):
    page = views
    w = widget(page, "heatmap")
    w.scroll_into_view_if_needed()
    overlay = w.locator(".aw-heatmap-overlay")
    status = w.locator(".aw-heatmap-status")
    scroller = "[data-aw-scroller]"
    w.evaluate(SCROLLER)
    size = overlay.evaluate("(c) => [c.style.width, c.style.height]")
    top = page.eval_on_selector(scroller, "(el) => el.scrollTop")
    box = overlay.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.6)
    page.mouse.wheel(0, 300)
    page.wait_for_function("([sel, t]) => document.querySelector(sel).scrollTop !== t", arg=[scroller, top])
    assert "zoom ×" not in status.inner_text()  # the map did not zoom
    w.scroll_into_view_if_needed()
    box = overlay.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.6)
    page.keyboard.down("Control")  # a modifier zooms without focus (as map widgets do)
    page.mouse.wheel(0, -200)
    page.keyboard.up("Control")
    page.wait_for_function("(el) => el.textContent.includes('zoom ×')", arg=status.element_handle())
    page.evaluate("(c) => c.dispatchEvent(new MouseEvent('dblclick'))", overlay.element_handle())  # reset
    page.wait_for_function("(el) => !el.textContent.includes('zoom ×')", arg=status.element_handle())
    w.scroll_into_view_if_needed()
    overlay.click()
    top = page.eval_on_selector(scroller, "(el) => el.scrollTop")
    box = overlay.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.6)
    page.mouse.wheel(0, -200)
    page.wait_for_function("(el) => el.textContent.includes('zoom ×')", arg=status.element_handle())
    page.mouse.wheel(0, -200)
    assert page.eval_on_selector(scroller, "(el) => el.scrollTop") == top  # the page stayed put
    assert overlay.evaluate("(c) => [c.style.width, c.style.height]") == size  # magnified inside, same canvas
    overlay.press("0")


def test_heatmap_keyboard_only(views):
    page = views
    w = widget(page, "heatmap")
    w.locator(".aw-contrast").focus()
    page.keyboard.press("Tab")
    assert w.locator(".aw-heatmap-overlay").evaluate("(el) => el === document.activeElement")
    ring = w.locator(".aw-heatmap-overlay").evaluate("(el) => getComputedStyle(el).outlineStyle")
    assert ring == "solid"
    for key in ("ArrowDown", "ArrowDown", "ArrowDown", "ArrowRight"):  # the first shows the top-left cell
        page.keyboard.press(key)
    tip = w.locator(".aw-tooltip")
    assert tip.is_visible() and "cat (2) → the (1)" in tip.inner_text()
    page.keyboard.press("+")
    assert "zoom ×" in w.locator(".aw-heatmap-status").inner_text()
    page.keyboard.press("0")
    page.keyboard.press("Escape")
    assert not tip.is_visible()


def test_lines_keyboard_only_isolates_like_hover(views):
    page = views
    w = widget(page, "lines")
    w.scroll_into_view_if_needed()
    overlay = w.locator(".aw-head-view .aw-head-overlay")
    canvas = w.locator(".aw-head-canvas")
    full = canvas.evaluate("(c) => c.toDataURL()")
    overlay.focus()
    for _ in range(3):  # [CLS], the, cat
        page.keyboard.press("ArrowDown")
    tip = w.locator(".aw-tooltip")
    assert tip.is_visible() and "cat (2) → top keys" in tip.inner_text()
    assert canvas.evaluate("(c) => c.toDataURL()") != full  # only that token's lines
    page.keyboard.press("ArrowRight")
    assert "← top queries" in tip.inner_text()  # not "querys"
    page.keyboard.press("Escape")
    assert canvas.evaluate("(c) => c.toDataURL()") == full
    # Head squares are buttons: Space toggles, with aria-pressed.
    square = w.locator('.aw-head[data-head="0"]')
    assert square.evaluate("(el) => el.tagName") == "BUTTON" and square.get_attribute("aria-pressed") == "true"
    square.focus()
    page.keyboard.press("Space")
    page.wait_for_function("(el) => el.getAttribute('aria-pressed') === 'false'", arg=square.element_handle())
    page.keyboard.press("Space")
    page.wait_for_function("(el) => el.getAttribute('aria-pressed') === 'true'", arg=square.element_handle())
    # No head selected: the tooltip says so (not "mean of 0 heads" over an empty list).
    for h in range(4):
        w.locator(f'.aw-head[data-head="{h}"]').press("Space")
    page.wait_for_function("(el) => !el.querySelector('.aw-head.aw-on')", arg=w.locator(".aw-heads").element_handle())
    overlay.focus()
    page.keyboard.press("ArrowDown")
    assert "No head selected" in tip.inner_text() and "mean of 0" not in tip.inner_text()
    for h in range(4):
        w.locator(f'.aw-head[data-head="{h}"]').press("Space")
    page.wait_for_function(
        "(el) => el.querySelectorAll('.aw-head.aw-on').length === 4", arg=w.locator(".aw-heads").element_handle()
    )


def test_model_keyboard_only_opens_a_thumbnail(views):
    page = views
    w = widget(page, "model")
    w.scroll_into_view_if_needed()
    canvas = w.locator(".aw-model-canvas")
    canvas.focus()
    for key in ("ArrowRight", "ArrowRight", "ArrowDown"):
        page.keyboard.press(key)
    assert "Layer 1, H2" in w.locator(".aw-tooltip").inner_text()
    page.keyboard.press("Enter")
    w.locator(".aw-detail").wait_for(state="visible")
    assert w.locator(".aw-detail-title").inner_text() == "Layer 1, Head 2"


def test_neuron_keyboard_only_and_softmax_visible_at_900px(views):
    page = views
    page.set_viewport_size({"width": 900, "height": 900})
    try:
        w = widget(page, "neuron")
        w.scroll_into_view_if_needed()
        first = w.locator(".aw-n-query").first
        first.focus()
        page.keyboard.press("ArrowDown")
        focused = w.locator(".aw-n-query:focus")
        assert focused.get_attribute("data-query") == "1"
        page.keyboard.press("Enter")
        page.wait_for_function("(el) => el.dataset.query === '1'", arg=w.locator(".aw-neuron").element_handle())
        softmax = w.locator('.aw-n-number[data-column="softmax"]').first
        box = softmax.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 900, box
    finally:
        page.set_viewport_size({"width": 1400, "height": 900})


def test_summary_keyboard_exports_and_columns(views):
    page = views
    w = widget(page, "summary")
    w.scroll_into_view_if_needed()
    w.locator(".aw-summary table").wait_for()
    headers = w.locator(".aw-summary th button")
    titles = headers.all_inner_texts()
    assert "Induction score (this input)" in [t.rstrip(" ▲▼") for t in titles]
    assert not [t for t in titles if "_" in t]  # readable names, not internal keys
    formula = w.locator('[data-sort="entropy"]').get_attribute("title")
    assert "log" in formula and "Σ" in formula
    # CSV / SVG / PNG: real files.
    csv = download(page, w.locator(".aw-save-csv")).decode()
    assert csv.splitlines()[0].startswith("layer,head,entropy") and len(csv.splitlines()) == 1 + 3 * 4
    svg = download(page, w.locator(".aw-save-svg")).decode()
    assert svg.startswith("<svg") and svg.count("<text") > 3 * 4 * 5
    png = download(page, w.locator(".aw-save-png"))
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000
    # Keyboard: Enter on a header sorts, Enter on a row opens that head.
    w.locator('[data-sort="entropy"]').focus()
    page.keyboard.press("Enter")
    assert w.locator("th[aria-sort=descending] [data-sort=entropy]").count() == 1
    row = w.locator("tbody tr").first
    layer, head = row.get_attribute("data-layer"), row.get_attribute("data-head")
    row.focus()
    page.keyboard.press("Enter")
    w.locator(".aw-head-canvas, .aw-heatmap-canvas").first.wait_for(state="visible")
    out = set_trait(
        page, 'print("OPENED", w_summary.view, w_summary.layer, w_summary.heads)\nw_summary.view = "summary"'
    )
    assert f"OPENED head {layer} [{head}]" in out


def test_summary_hides_columns_that_cannot_apply(views):
    w = widget(views, "summary")
    w.locator(".aw-summary table").wait_for()
    titles = " ".join(w.locator(".aw-summary th button").all_inner_texts())
    note = w.locator(".aw-summary-note")
    # The tiny BERT input has [CLS] and [SEP] but no punctuation: that column is named as not shown.
    assert "To [CLS]" in titles and "To punctuation" not in titles
    assert "To punctuation" in note.inner_text()


def test_model_view_12x12_fits_its_cell(views):
    w = widget(views, "model12")
    w.scroll_into_view_if_needed()
    body = w.locator(".aw-body")
    fit = body.evaluate(
        """(b) => ({ canvas: b.querySelector('canvas').getBoundingClientRect().width, body: b.clientWidth,
                     scrollW: b.scrollWidth, scrollH: b.scrollHeight, clientH: b.clientHeight })"""
    )
    assert fit["canvas"] <= fit["body"] and fit["scrollW"] <= fit["body"], fit
    assert fit["scrollH"] <= fit["clientH"] + 1, fit  # no scrolling inside the page


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_axe_finds_no_serious_or_critical_violations(views, theme):
    page = views
    names = ["heatmap", "lines", "model", "neuron", "summary"]
    set_trait(page, "\n".join(f'w_{n}.theme = "{theme}"' for n in names))
    page.wait_for_function("(t) => document.querySelector('.attn-widget').dataset.theme === t", arg=theme)
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => {
          const r = await axe.run(document.querySelectorAll('.attn-widget'), { resultTypes: ['violations'] });
          return r.violations.map(v => ({ id: v.id, impact: v.impact, nodes: v.nodes.length,
                                          where: v.nodes.slice(0, 2).map(n => n.html.slice(0, 160)) }));
        }"""
    )
    counts = {
        impact: sum(v["nodes"] for v in result if v["impact"] == impact)
        for impact in ("minor", "moderate", "serious", "critical")
    }
    print(f"axe-core violations ({theme}; nodes) by impact:", counts, result)
    assert not [v for v in result if v["impact"] in ("serious", "critical")], result


# ----------------------------------------------------------------------------- visual regression

COMPARE = """async ([a, b]) => {
  const load = src => new Promise((ok, err) => { const i = new Image(); i.onload = () => ok(i); i.onerror = err; i.src = src; });
  const [x, y] = await Promise.all([load(a), load(b)]);
  const w = Math.min(x.width, y.width), h = Math.min(x.height, y.height);
  const px = img => { const c = document.createElement('canvas'); c.width = w; c.height = h;
    const g = c.getContext('2d'); g.drawImage(img, 0, 0); return g.getImageData(0, 0, w, h).data; };
  const p = px(x), q = px(y);
  let diff = 0;
  for (let i = 0; i < p.length; i += 4)
    if (Math.abs(p[i] - q[i]) + Math.abs(p[i + 1] - q[i + 1]) + Math.abs(p[i + 2] - q[i + 2]) > 48) diff++;
  return { size: [x.width, x.height, y.width, y.height], share: diff / (w * h) };
}"""

#: Size change (px) and share of pixels that may differ before a screenshot counts as a regression.
SIZE_SLACK = 2
PIXEL_SLACK = 0.005


#: A PNG at half its size (small reference files; anti-aliasing differences average out).
HALF = """async (src) => {
  const i = new Image(); i.src = src; await i.decode();
  const c = document.createElement('canvas'); c.width = Math.ceil(i.width / 2); c.height = Math.ceil(i.height / 2);
  c.getContext('2d').drawImage(i, 0, 0, c.width, c.height);
  return c.toDataURL('image/png').split(',')[1];
}"""


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def check_snapshot(page, locator, name: str) -> None:
    page.mouse.move(0, 0)
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    shot = base64.b64decode(page.evaluate(HALF, data_url(locator.screenshot(animations="disabled"))))
    ref = SNAPSHOTS / f"{name}.png"
    if UPDATE or not ref.exists():
        assert UPDATE, f"no reference screenshot {ref}: run with ATTN_WIDGET_UPDATE_SNAPSHOTS=1"
        SNAPSHOTS.mkdir(exist_ok=True)
        ref.write_bytes(shot)
        return
    result = page.evaluate(COMPARE, [data_url(ref.read_bytes()), data_url(shot)])
    w0, h0, w1, h1 = result["size"]
    failed = abs(w0 - w1) > SIZE_SLACK or abs(h0 - h1) > SIZE_SLACK or result["share"] > PIXEL_SLACK
    if failed:
        out = ROOT / "test-results"
        out.mkdir(exist_ok=True)
        (out / f"{name}.png").write_bytes(shot)
    assert not failed, f"{name}: {result} (new screenshot in test-results/{name}.png)"


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_screenshots_match_references(views, theme):
    page = views
    names = ["heatmap", "lines", "model", "neuron", "summary"]
    # The same state whichever tests ran before: all heads, summary shown, no head opened, neuron collapsed.
    reset = ["w_heatmap.heads = w_lines.heads = [0, 1, 2, 3]", 'w_summary.view = "summary"']
    set_trait(page, "\n".join(reset + [f'w_{n}.theme = "{theme}"' for n in names]))
    model = widget(page, "model")
    if model.locator(".aw-close").count():
        model.locator(".aw-close").click()
    by_layer = widget(page, "summary").locator("[data-sort=layer]")
    by_layer.wait_for()
    if by_layer.evaluate("(b) => b.parentElement.getAttribute('aria-sort')") != "ascending":
        by_layer.click()
    neuron = widget(page, "neuron").locator(".aw-neuron")
    if neuron.get_attribute("data-query"):
        neuron.locator(".aw-n-query.aw-on").click()
    for name in names:
        w = widget(page, name)
        page.wait_for_function("([el, t]) => el.dataset.theme === t", arg=[w.element_handle(), theme])
        w.scroll_into_view_if_needed()
        check_snapshot(page, w, f"{name}-{theme}")
