"""AttentionWidget in a real JupyterLab + Chromium: painted canvas, two-way selection with the kernel."""

from notebook import TESTS_DIR, open_notebook, run_cell, write_notebook

PAINTED = """(sel) => {
  const canvas = document.querySelector(sel);
  if (!canvas || !canvas.width) return 0;
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let n = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i]) n++;
  return n;
}"""

SETUP = f"""
import sys
sys.path.insert(0, {str(TESTS_DIR)!r})
import pathlib, tempfile
from tiny_models import make_tokenizer, make_model
import attn_widget
tok = make_tokenizer(pathlib.Path(tempfile.mkdtemp()))
model = make_model("bert", tok, initializer_range=0.5)  # peaked attention, so layers look different
"""


def paints(page, view=0) -> int:
    return int(page.locator(".attn-widget").nth(view).get_attribute("data-paints"))


def test_head_view_paints_and_syncs_both_ways(lab, page):
    write_notebook(lab, "head.ipynb", [
        SETUP + 'w = attn_widget.from_model(model, tok, "the cat sat on the mat", "a dog ran")\nw',
        'print("HEADS", w.heads, "LAYER", w.layer)',
        "w.layer = 2",
    ])  # fmt: skip
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    open_notebook(page, lab, "head.ipynb")
    run_cell(page, 0)
    canvas = ".attn-widget .aw-head-canvas"
    page.locator(canvas).wait_for(state="visible")
    # anywidget's current module shape (`export default { render }`): no deprecation warning.
    assert not [m for m in console if "Direct export of a 'render'" in m], console
    assert page.evaluate(PAINTED, canvas) > 500  # lines and labels drawn
    assert page.locator(".attn-widget .aw-filter").is_visible()  # sentence pair ⇒ A/B filter offered

    # Browser → Python: toggle head 2 off.
    page.locator('.attn-widget .aw-head[data-head="2"]').click()
    assert "HEADS [0, 1, 3] LAYER 0" in run_cell(page, 1)

    # Python → browser: the layer select follows and the canvas is repainted.
    before = paints(page)
    pixels = page.evaluate("(sel) => document.querySelector(sel).toDataURL()", canvas)
    run_cell(page, 2)
    page.wait_for_function("(n) => Number(document.querySelector('.attn-widget').dataset.paints) > n", arg=before)
    assert page.locator(".attn-widget .aw-layer").input_value() == "2"
    assert page.evaluate("(sel) => document.querySelector(sel).toDataURL()", canvas) != pixels

    # Hover a query token: a tooltip gives exact weights.
    box = page.locator(canvas).bounding_box()
    page.mouse.move(box["x"] + 10, box["y"] + 8 + 18 * 2 + 9)
    tip = page.locator(".attn-widget .aw-tooltip")
    tip.wait_for(state="visible")
    assert "top keys" in tip.inner_text() and "cat" in tip.inner_text()


def test_model_view_click_opens_head_and_updates_kernel(lab, page):
    write_notebook(lab, "model.ipynb", [
        SETUP + 'w = attn_widget.from_model(model, tok, "the cat sat on the mat", view="model")\nw',
        'print("SELECTED", w.layer, w.heads)',
    ])  # fmt: skip
    open_notebook(page, lab, "model.ipynb")
    run_cell(page, 0)
    canvas = ".attn-widget .aw-model-canvas"
    page.locator(canvas).wait_for(state="visible")
    assert page.evaluate(PAINTED, canvas) > 1000
    assert float(page.locator(".attn-widget").get_attribute("data-paint-ms")) < 500
    # Thumbnails: 64 px label column, 20 px header; click layer 1, head 3.
    thumb = page.evaluate("""(sel) => {
      const c = document.querySelector(sel); const t = (parseFloat(c.style.width) - 64) / 4;
      return { x: 64 + 3 * t + t / 2 - 2, y: 20 + t + t / 2 - 2 };
    }""", canvas)  # fmt: skip
    page.locator(canvas).click(position=thumb)
    page.locator(".attn-widget .aw-detail").wait_for(state="visible")
    assert page.locator(".attn-widget .aw-detail-title").inner_text() == "Layer 1, Head 3"
    assert "SELECTED 1 [3]" in run_cell(page, 1)


def test_auto_theme_follows_jupyterlab_dark(lab, page):
    write_notebook(lab, "theme.ipynb", [SETUP + 'w = attn_widget.from_model(model, tok, "the cat sat")\nw'])
    open_notebook(page, lab, "theme.ipynb")
    run_cell(page, 0)
    root = page.locator(".attn-widget")
    root.wait_for(state="visible")
    background = "(el) => getComputedStyle(el).backgroundColor"
    light = root.evaluate(background)
    before = paints(page)
    change_theme = "(t) => window.jupyterapp.commands.execute('apputils:change-theme', { theme: t })"
    page.evaluate(change_theme, "JupyterLab Dark")
    try:
        page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
        page.wait_for_function("(n) => Number(document.querySelector('.attn-widget').dataset.paints) > n", arg=before)
        dark = root.evaluate(background)
        lab_dark = page.evaluate("() => getComputedStyle(document.body).getPropertyValue('--jp-layout-color0').trim()")
    finally:  # the theme is a user setting of the shared test server
        page.evaluate(change_theme, "JupyterLab Light")
    assert root.get_attribute("data-theme") == "dark" and light != dark
    assert dark == page.evaluate(
        "(c) => { const d = document.createElement('div'); d.style.color = c; document.body.append(d); const v = getComputedStyle(d).color; d.remove(); return v; }",
        lab_dark,
    )
