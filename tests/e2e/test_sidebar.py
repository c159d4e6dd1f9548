"""TensorBoard runs sidebar in a real JupyterLab + Chromium, on event files written by torch."""

import json
import math

import pytest
from lab import open_lab

# Colourful (non-grey) pixels of a chart canvas and a fingerprint of its image: axes and grid are
# grey, run lines are theme colours.
CANVAS = """(canvas) => {
  const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let coloured = 0, hash = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (Math.abs(d[i] - d[i + 1]) + Math.abs(d[i + 1] - d[i + 2]) > 60 && d[i + 3] > 100) coloured++;
    hash = (hash * 31 + d[i] + 7 * d[i + 1] + 13 * d[i + 2] + 17 * d[i + 3]) >>> 0;
  }
  return { coloured, hash };
}"""


def write_run(path, steps=50, new_style=False, start=0):
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(path)) as w:
        for step in range(start, start + steps):
            noise = math.sin(step * 1.7) * 0.3
            w.add_scalar("train/loss", 2.0 * math.exp(-step / 15) + noise, step, new_style=new_style)
            w.add_scalar("train/acc", 1 - math.exp(-step / 10), step, new_style=new_style)


def configure(lab, **settings):
    """Save the extension's settings (read by the page when it opens); auto-refresh off."""
    raw = json.dumps({"refreshInterval": 0, **settings})
    lab.api("PUT", "lab/api/settings/attn-widget:plugin", json={"raw": raw})


@pytest.fixture(scope="module")
def logdir(lab):
    """Two runs (classic and new-style scalars) under ``tb/`` of the server root."""
    root = lab.root / "tb"
    write_run(root / "alpha")
    write_run(root / "exp 2" / "beta", steps=30, new_style=True)
    return root


def open_sidebar(page, lab):
    """Open JupyterLab, then the sidebar through the command palette."""
    open_lab(page, lab)
    page.keyboard.press("Control+Shift+C")
    page.locator(".lm-CommandPalette-input").fill("Open TensorBoard Runs")
    page.keyboard.press("Enter")
    page.locator("#attn-widget-runs").wait_for(state="visible")


def runs(page):
    return page.locator("#attn-widget-runs .jp-AttnRuns-run")


def names(page):
    """Run names as shown (relative to the listed logdir)."""
    return runs(page).locator(".jp-AttnRuns-name").all_inner_texts()


def test_sidebar_lists_runs_and_finds_new_one_on_refresh(lab, page, logdir):
    configure(lab, logdir="tb", sparklineTag="train/loss")
    open_sidebar(page, lab)
    rows = runs(page)
    rows.first.wait_for()
    assert names(page) == ["alpha", "exp 2/beta"]
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.run)") == ["tb/alpha", "tb/exp 2/beta"]
    alpha = rows.filter(has_text="alpha")
    assert "step 49" in alpha.locator(".jp-AttnRuns-meta").inner_text()
    assert alpha.locator(".jp-AttnRuns-mark").count() == 1
    spark = alpha.locator(".jp-AttnRuns-sparkline polyline")
    spark.wait_for()
    assert len(spark.get_attribute("points").split()) == 50  # one vertex per loss point
    assert page.locator("#attn-widget-runs .jp-AttnRuns-tag").input_value() == "train/loss"

    write_run(logdir / "gamma", steps=5)
    assert rows.count() == 2  # auto-refresh is off: nothing new until asked
    page.locator("#attn-widget-runs .jp-AttnRuns-refresh").click()
    rows.filter(has_text="gamma").wait_for()
    assert "step 4" in rows.filter(has_text="gamma").inner_text()

    page.locator("#attn-widget-runs .jp-AttnRuns-filter").fill("gam")
    assert names(page) == ["gamma"]
    page.locator("#attn-widget-runs .jp-AttnRuns-filter").fill("zzz")
    assert page.locator("#attn-widget-runs .jp-AttnRuns-message").inner_text() == "No runs match “zzz”."


def test_clicking_runs_draws_charts_and_smoothing_redraws(lab, page, logdir):
    configure(lab, logdir="tb")
    open_sidebar(page, lab)
    runs(page).filter(has_text="alpha").click()
    panel = page.locator(".jp-AttnScalars")
    charts = panel.locator(".jp-AttnScalars-chart")
    charts.first.locator("canvas").wait_for()
    assert charts.evaluate_all("cs => cs.map(c => c.dataset.tag)") == ["train/acc", "train/loss"]
    loss = charts.filter(has=page.locator('h3:text-is("train/loss")')).locator("canvas")
    before = loss.evaluate(CANVAS)
    assert before["coloured"] > 300, before  # the run's lines are painted

    slider = panel.locator(".jp-AttnScalars-smoothing input")
    slider.evaluate("s => { s.value = '0'; s.dispatchEvent(new Event('input')); }")
    after = loss.evaluate(CANVAS)
    assert after["hash"] != before["hash"]  # the smoothed line was redrawn
    assert panel.locator(".jp-AttnScalars-smoothing output").inner_text() == "0.00"

    # drag across the plot zooms in on those steps; double-click resets the zoom
    over = charts.filter(has=page.locator('h3:text-is("train/loss")')).locator(".u-over")
    box = over.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    zoomed = loss.evaluate(CANVAS)
    assert zoomed["hash"] != after["hash"] and zoomed["coloured"] > 300
    over.dblclick()
    assert loss.evaluate(CANVAS)["hash"] == after["hash"]

    # ctrl-click adds a second run: both overlaid in every chart (smoothed + raw series each)
    runs(page).filter(has_text="beta").click(modifiers=["Control"])
    page.wait_for_function(
        "() => document.querySelectorAll('.jp-AttnScalars-chart')[1]?.querySelectorAll('.u-legend .u-series').length === 5"
    )
    legend = charts.nth(1).locator(".u-legend .u-series").all_inner_texts()
    assert any("exp 2/beta" in t for t in legend) and any("alpha" in t for t in legend)
    assert "alpha" in page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current").inner_text()

    with page.expect_download() as download:
        panel.get_by_text("CSV").click()
    lines = open(download.value.path()).read().splitlines()
    assert lines[0] == "run,tag,step,wall_time,value,smoothed"
    assert len(lines) == 1 + 2 * 50 + 2 * 30  # two tags of both runs, every point


def test_auto_refresh_follows_a_growing_run(lab, page, logdir):
    write_run(logdir / "delta", steps=10)
    configure(lab, logdir="tb", refreshInterval=1)
    open_sidebar(page, lab)
    delta = runs(page).filter(has_text="delta")
    delta.click()
    loss = page.locator('.jp-AttnScalars-chart[data-tag="train/loss"] canvas')
    loss.wait_for()
    before = loss.evaluate(CANVAS)["hash"]

    write_run(logdir / "delta", steps=30, start=10)  # training goes on: a second events file
    page.wait_for_function(
        "() => document.querySelector('[data-run=\"tb/delta\"] .jp-AttnRuns-meta').textContent.startsWith('step 39')",
        timeout=15_000,
    )
    redrawn = f"(sel) => ({CANVAS})(document.querySelector(sel)).hash !== {before}"
    page.wait_for_function(redrawn, arg='.jp-AttnScalars-chart[data-tag="train/loss"] canvas', timeout=15_000)
    assert loss.evaluate(CANVAS)["coloured"] > 300


def test_sidebar_explains_empty_or_unreadable_logdir(lab, page):
    (lab.root / "empty").mkdir()
    for logdir_setting, message in [
        ("empty", "No TensorBoard runs in “empty”"),
        ("../outside", "Cannot read runs in “../outside”"),
    ]:
        configure(lab, logdir=logdir_setting)
        open_sidebar(page, lab)
        text = page.locator("#attn-widget-runs .jp-AttnRuns-message")
        text.wait_for()
        assert message in text.inner_text()
        assert runs(page).count() == 0
