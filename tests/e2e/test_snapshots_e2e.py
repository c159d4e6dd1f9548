"""AttentionWidget.from_run in a real JupyterLab + Chromium: scrubbing the step slider repaints the view
with that step's snapshot, and the kernel sees the step."""

from notebook import TESTS_DIR, open_notebook, run_cell, write_notebook

SETUP = f"""
import sys
sys.path.insert(0, {str(TESTS_DIR)!r})
import pathlib, tempfile, torch
from torch.utils.tensorboard import SummaryWriter
from tiny_models import make_tokenizer, make_model
from attn_widget import AttentionWidget
from attn_widget.tensorboard import log_attention
folder = pathlib.Path(tempfile.mkdtemp())
tok = make_tokenizer(folder)
model = make_model("bert", tok, initializer_range=0.5)
writer = SummaryWriter(str(folder / "run"))
for step in (0, 100, 200):  # the weights move between snapshots, as training would
    log_attention(writer, step, model, tok, ["the cat sat on the mat"])
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1.6)
writer.close()
w = AttentionWidget.from_run(folder / "run", mode="heatmap")
w
"""


DATA_URL = "(sel) => document.querySelector(sel).toDataURL()"


def test_step_slider_scrubs_snapshots_and_syncs_step(lab, page):
    write_notebook(lab, "snapshots.ipynb", [SETUP, 'print("STEP", w.step, w.steps)'])
    open_notebook(page, lab, "snapshots.ipynb")
    run_cell(page, 0)
    canvas = ".attn-widget .aw-heatmap-canvas"
    page.locator(canvas).wait_for(state="visible")
    slider = page.locator(".attn-widget input.aw-step")
    assert slider.is_visible() and slider.get_attribute("max") == "2" and slider.input_value() == "2"
    assert "STEP 200 [0, 100, 200]" in run_cell(page, 1)

    painted = [page.evaluate(DATA_URL, canvas)]
    for index, step in ((0, 0), (1, 100)):
        slider.fill(str(index))  # what dragging does: an input event per position
        # the kernel answers with that step's snapshot and the heatmap is repainted from it
        page.wait_for_function(
            "([sel, old]) => document.querySelector(sel).toDataURL() !== old", arg=[canvas, painted[-1]]
        )
        assert page.locator(".attn-widget .aw-step-value").inner_text() == str(step)
        assert f"STEP {step} " in run_cell(page, 1)  # the kernel sees the step
        painted.append(page.evaluate(DATA_URL, canvas))
    assert len(set(painted)) == 3  # each step paints its own attention
