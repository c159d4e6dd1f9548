"""Neuron view in real JupyterLab + Chromium, and two neuron views in one standalone HTML page."""

import re

from notebook import TESTS_DIR, open_notebook, run_cell, write_notebook
from test_widget_e2e import PAINTED
from tiny_models import make_model

from attn_widget import from_model
from attn_widget.export import widget_html

TEXT, PAIR = "the cat sat on the mat", "a dog ran"
SETUP = f"""
import sys
sys.path.insert(0, {str(TESTS_DIR)!r})
import pathlib, tempfile
from IPython.display import display
from tiny_models import make_tokenizer, make_model
import attn_widget
tok = make_tokenizer(pathlib.Path(tempfile.mkdtemp()))
model = make_model("bert", tok, initializer_range=0.5)
w = attn_widget.from_model(model, tok, {TEXT!r}, {PAIR!r}, view="neuron", layer=1, head=2)
g = attn_widget.from_model(make_model("gpt2", tok), tok, {TEXT!r}, view="neuron")
display(w, g)
"""
# Layer 1, head 2, query 3 ("sat") and key 5 ("the"), from the kernel's float32 q/k and attention.
KERNEL_VALUES = f"""
r = attn_widget.extract_attention(model, tok, {TEXT!r}, {PAIR!r}, with_qk=True)
print("SCORE", float(r.queries[1, 2, 3] @ r.keys[1, 2, 5] * r.extras["qk_scaling"][1]), "ATTN", float(r.attention[1, 2, 3, 5]))
"""


def views(page):
    return page.locator(".attn-widget .aw-neuron")


def test_expand_token_and_read_q_dot_k_matching_the_kernel(lab, page):
    write_notebook(lab, "neuron.ipynb", [SETUP, KERNEL_VALUES, 'print("HEAD", w.head, g.head)'])
    open_notebook(page, lab, "neuron.ipynb")
    run_cell(page, 0)
    bert, gpt2 = views(page).nth(0), views(page).nth(1)
    bert.locator(".aw-n-lines").wait_for(state="visible")
    assert page.evaluate(PAINTED, ".attn-widget .aw-n-lines") > 200  # collapsed: lines of one head
    assert "Click a query token" in bert.locator(".aw-n-hint").inner_text()
    assert page.locator(".attn-widget .aw-view").first.input_value() == "neuron"

    # A plain click on the query token expands it; the other view stays collapsed.
    bert.locator('[data-query="3"]').click()
    page.wait_for_function("() => document.querySelector('.aw-neuron').dataset.query === '3'")
    assert bert.locator('[data-query="3"]').get_attribute("aria-expanded") == "true"
    assert gpt2.get_attribute("data-query") == ""
    assert bert.locator('.aw-n-number[data-column="score"]').count() == 12  # every key: not causal

    score_cell = bert.locator('.aw-n-number[data-column="score"][data-key="5"]')
    score_cell.hover()
    tip = page.locator(".attn-widget .aw-tooltip").first
    tip.wait_for(state="visible")
    assert "q · k of “the” (5)" in tip.inner_text()
    shown = float(tip.locator("b").inner_text())
    softmax = float(bert.locator('.aw-n-number[data-column="softmax"][data-key="5"]').get_attribute("data-value"))

    kernel = re.search(r"SCORE (\S+) ATTN (\S+)", run_cell(page, 1))
    score, attention = float(kernel[1]), float(kernel[2])
    assert abs(shown - score) <= 5e-3 * abs(score) + 1e-2  # q/k travel as float16
    assert abs(softmax - attention) <= 5e-3
    assert float(score_cell.inner_text()) == round(shown, 2)

    # Vector cells: hover the key vector of "the" (5), dimension 0.
    k_strip = bert.locator('.aw-n-vectors[data-column="k"]')
    k_strip.hover(position={"x": 1, "y": 5 * 20 + 10})
    assert "k[0] of “the” (5)" in tip.inner_text()

    # GPT-2 is causal: query 2 shows keys 0..2 only.
    gpt2.locator('[data-query="2"]').click()
    page.wait_for_function("() => document.querySelectorAll('.aw-neuron')[1].dataset.query === '2'")
    assert gpt2.locator('.aw-n-number[data-column="score"]').count() == 3
    assert bert.get_attribute("data-query") == "3"

    # Head select → kernel.
    page.locator(".attn-widget .aw-nhead").first.select_option("1")
    assert "HEAD 1 0" in run_cell(page, 2)


def test_two_neuron_views_in_one_standalone_page(page, tokenizer):
    bert = from_model(make_model("bert", tokenizer), tokenizer, TEXT, PAIR, view="neuron", theme="light")
    gpt2 = from_model(make_model("gpt2", tokenizer), tokenizer, TEXT, view="neuron", theme="dark", head=1)
    errors = []
    page.on("pageerror", lambda e: errors.append(e))
    page.set_content(widget_html([bert.wire_state(), gpt2.wire_state()]))
    page.wait_for_selector("body[data-attn-widget-ready]")
    for theme in ("light", "dark"):
        assert page.evaluate(PAINTED, f".attn-widget[data-theme={theme}] .aw-n-lines") > 200
    first, second = views(page).nth(0), views(page).nth(1)

    first.locator('[data-query="2"]').click()
    second.locator('[data-query="4"]').click()
    assert (first.get_attribute("data-query"), second.get_attribute("data-query")) == ("2", "4")
    assert first.locator('.aw-n-number[data-column="softmax"]').count() == 12
    assert second.locator('.aw-n-number[data-column="softmax"]').count() == 5  # causal
    total = sum(
        float(v)
        for v in second.locator('.aw-n-number[data-column="softmax"]').evaluate_all(
            "els => els.map(e => e.dataset.value)"
        )
    )
    assert abs(total - 1) < 1e-9

    heads = page.locator(".attn-widget .aw-nhead")
    assert (heads.nth(0).input_value(), heads.nth(1).input_value()) == ("0", "1")
    heads.nth(1).select_option("3")
    assert (heads.nth(0).input_value(), heads.nth(1).input_value()) == ("0", "3")
    assert first.get_attribute("data-query") == "2"  # the other view keeps its state
    assert not errors
