"""GenerationWidget in a real JupyterLab + Chromium: the step slider and play button reveal the
generation, the painted view changes, and the kernel sees ``step`` (and sets it back)."""

from notebook import TESTS_DIR, open_notebook, run_cell, write_notebook

NEW = 6
SETUP = f"""
import sys
sys.path.insert(0, {str(TESTS_DIR)!r})
import pathlib, tempfile
from tiny_models import make_tokenizer, make_model
import attn_widget
tok = make_tokenizer(pathlib.Path(tempfile.mkdtemp()))
model = make_model("gpt2", tok, initializer_range=0.5)  # peaked attention
w = attn_widget.from_generate(model, tok, "the cat sat on the mat", max_new_tokens={NEW}, eos_token_id=None)
print("PROMPT", w.prompt_length)
w
"""

VIEW = ".attn-widget .aw-generation"


def visible(page) -> int:
    return int(page.locator(VIEW).get_attribute("data-visible"))


def test_slider_and_play_reveal_generation_and_sync_step(lab, page):
    write_notebook(lab, "generation.ipynb", [SETUP, 'print("STEP", w.step)', "w.step = 2", 'w.view = "head"'])
    open_notebook(page, lab, "generation.ipynb")
    prompt = int(run_cell(page, 0).split("PROMPT")[1].split()[0])
    page.locator(VIEW).wait_for(state="visible")
    assert visible(page) == prompt + NEW  # everything revealed at first
    assert page.locator(f"{VIEW} .aw-gen-new:visible").count() == NEW
    assert page.locator(f"{VIEW} .aw-gen-prompt:visible").count() == prompt
    assert "probability" in page.locator(f"{VIEW} .aw-gen-info").inner_text()
    before = page.locator(VIEW).screenshot()

    # Browser → kernel: the slider.
    page.locator(f"{VIEW} .aw-gen-step").fill("1")
    page.wait_for_function("(sel) => document.querySelector(sel).dataset.step === '1'", arg=VIEW)
    assert visible(page) == prompt + 1 and page.locator(f"{VIEW} .aw-gen-new:visible").count() == 1
    assert page.locator(VIEW).screenshot() != before
    assert "STEP 1" in run_cell(page, 1)
    assert float(page.locator(".attn-widget").first.get_attribute("data-paint-ms")) < 50

    # Play: token by token to the end, each step painted.
    shots = set()
    page.locator(f"{VIEW} .aw-gen-play").click()
    for step in range(2, NEW + 1):
        page.wait_for_function("([sel, s]) => Number(document.querySelector(sel).dataset.step) >= s", arg=[VIEW, step])
        shots.add(page.locator(f"{VIEW} .aw-gen-text").screenshot())
    assert len(shots) >= 3  # the strip looked different as tokens appeared
    page.wait_for_function(f"(sel) => document.querySelector(sel).dataset.step === '{NEW}'", arg=VIEW)
    assert f"STEP {NEW}" in run_cell(page, 1)

    # Kernel → browser.
    run_cell(page, 2)
    page.wait_for_function(f"(sel) => document.querySelector(sel).dataset.visible === '{prompt + 2}'", arg=VIEW)
    assert page.locator(f"{VIEW} .aw-gen-step").input_value() == "2"

    # Hover a generated token, then ← moves the focus to the prompt's last token.
    token = page.locator(f"{VIEW} .aw-gen-new").nth(0)
    token.hover()
    assert page.locator(VIEW).get_attribute("data-focus") == str(prompt)
    assert "generated token 1" in page.locator(f"{VIEW} .aw-gen-title").inner_text()
    page.locator(f"{VIEW} .aw-gen-text").focus()
    page.keyboard.press("ArrowLeft")
    assert page.locator(VIEW).get_attribute("data-focus") == str(prompt - 1)
    assert "prompt token" in page.locator(f"{VIEW} .aw-gen-title").inner_text()

    # The head view of the generated rows revealed so far paints too.
    run_cell(page, 3)
    page.locator(".attn-widget .aw-head-canvas").wait_for(state="visible")
    assert page.locator(".attn-widget .aw-view").input_value() == "head"
