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


def api_requests(page) -> list[str]:
    """URLs of the page's attn-widget API requests, collected from now on."""
    seen: list[str] = []
    api = lambda url: "/attn-widget/" in url and "/lab/extensions/" not in url  # noqa: E731
    page.on("request", lambda r: seen.append(r.url) if api(r.url) else None)
    return seen


def copy_runs(root, count: int, source) -> None:
    """``count`` runs under ``root``: copies of one real event file (``source``)."""
    data = source.read_bytes()
    for i in range(count):
        run = root / f"exp{i % 10}" / f"run{i:04d}"
        run.mkdir(parents=True)
        (run / f"events.out.tfevents.{1700000000 + i}.host").write_bytes(data)


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

    last = alpha.locator(".jp-AttnRuns-last")
    expected = 2.0 * math.exp(-49 / 15) + math.sin(49 * 1.7) * 0.3
    assert float(last.inner_text()) == pytest.approx(expected, rel=1e-3)  # the last loss, 4 digits

    page.locator("#attn-widget-runs .jp-AttnRuns-filter").fill("gam")
    assert names(page) == ["gamma"]
    page.locator("#attn-widget-runs .jp-AttnRuns-filter").fill("^(alpha|exp 2/.*)$")  # a regex
    assert names(page) == ["alpha", "exp 2/beta"]
    page.locator("#attn-widget-runs .jp-AttnRuns-filter").fill("zzz")
    assert page.locator("#attn-widget-runs .jp-AttnRuns-message").inner_text() == "No runs match “zzz”."


def test_hidden_sidebar_fetches_nothing(lab, page, logdir):
    configure(lab, logdir="tb", refreshInterval=1)
    seen = api_requests(page)
    open_lab(page, lab)
    page.wait_for_timeout(2500)  # auto-refresh every second, but nobody looks
    assert seen == []
    open_sidebar(page, lab)
    runs(page).first.wait_for()
    assert any("/attn-widget/runs" in u for u in seen)
    page.locator('.jp-SideBar [data-id="attn-widget-runs"]').click()  # collapse the sidebar again
    page.locator("#attn-widget-runs").wait_for(state="hidden")
    page.wait_for_timeout(300)
    before = len(seen)
    page.wait_for_timeout(2500)
    assert len(seen) == before


def test_shared_scale_warnings_and_a_virtualised_list(lab, page):
    """Two constant learning rates sit at different heights (one scale for a shared tag); a
    corrupt file is a warning on its run; 2,000 runs put only the rows in view in the page."""
    from torch.utils.tensorboard import SummaryWriter

    root = lab.root / "tb_many"
    for name, lr in (("a_lr_small", 0.001), ("a_lr_large", 0.01)):
        with SummaryWriter(str(root / name)) as w:
            for step in range(10):
                w.add_scalar("lr", lr, step)
    (root / "a_broken").mkdir()
    (root / "a_broken" / "events.out.tfevents.1.host").write_bytes(bytes(64))  # zero-filled
    copy_runs(root, 2000, next((root / "a_lr_small").iterdir()))
    configure(lab, logdir="tb_many", sparklineTag="lr")
    open_sidebar(page, lab)
    runs(page).first.wait_for()
    assert runs(page).count() < 60  # 2,003 runs listed, only those in view rendered
    assert page.locator("#attn-widget-runs .jp-AttnRuns-footer").inner_text().endswith("2003 of 2003 runs")

    broken = runs(page).filter(has_text="a_broken")
    assert "bad length checksum" in broken.locator(".jp-AttnRuns-warning").get_attribute("title")
    small = runs(page).filter(has_text="a_lr_small").locator(".jp-AttnRuns-sparkline polyline")
    large = runs(page).filter(has_text="a_lr_large").locator(".jp-AttnRuns-sparkline polyline")
    small.wait_for(state="attached")  # a flat line has an empty box: "hidden" to Playwright
    large.wait_for(state="attached")
    y = lambda line: {p.split(",")[1] for p in line.get_attribute("points").split()}  # noqa: E731
    assert y(small) == {"20"} and y(large) == {"0"}  # bottom and top of one shared scale
    assert runs(page).filter(has_text="a_lr_large").locator(".jp-AttnRuns-last").inner_text() == "0.01"

    page.locator("#attn-widget-runs .jp-AttnRuns-filter").fill("run19\\d\\d$")
    footer = page.locator("#attn-widget-runs .jp-AttnRuns-footer")
    assert footer.inner_text().endswith("100 of 2003 runs") and names(page)[0] == "exp0/run1900"
    page.locator("#attn-widget-runs .jp-AttnRuns-filter").fill("")
    page.locator("#attn-widget-runs .jp-AttnRuns-scroller").evaluate("s => s.scrollTop = s.scrollHeight")
    runs(page).filter(has_text="exp9/run1999").wait_for()
    assert runs(page).count() < 60


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


def test_chart_groups_options_add_scalars_nonfinite_and_hparams(lab, page):
    from torch.utils.tensorboard import SummaryWriter

    root = lab.root / "tb_charts"
    with SummaryWriter(str(root / "exp")) as w:
        for step in range(50):
            loss = {10: 1000.0, 20: float("nan"), 30: float("inf")}.get(step, 1.0 / (step + 1))
            w.add_scalar("train/loss", loss, step)
            w.add_scalar("train/acc", step / 50, step)
            w.add_scalar("lr", 0.1, step)
            w.add_scalars("loss", {"train": 1.0 / (step + 1), "val": 2.0 / (step + 1)}, step)
        w.add_hparams({"lr": 0.1, "opt": "adam"}, {"hparam/acc": 0.7}, run_name="hp")
    with SummaryWriter(str(root / "exp2")) as w:
        w.add_scalar("train/loss", 0.5, 0)
        w.add_hparams({"lr": 0.01, "opt": "sgd"}, {"hparam/acc": 0.9}, run_name="hp")
    configure(lab, logdir="tb_charts")
    open_sidebar(page, lab)
    runs(page).filter(has_text="exp2").first.wait_for()
    runs(page).filter(has=page.locator('.jp-AttnRuns-name:text-is("exp")')).click()
    panel = page.locator(".jp-AttnScalars")
    panel.locator(".jp-AttnScalars-chart canvas").first.wait_for()

    groups = panel.locator("details.jp-AttnScalars-group")
    assert groups.evaluate_all("gs => gs.map(g => g.dataset.group)") == ["loss", "lr", "train"]
    # add_scalars: both keys overlaid in the one "loss" chart (x + smoothed and raw per key)
    legend = panel.locator('.jp-AttnScalars-chart[data-tag="loss"] .u-legend .u-series').all_inner_texts()
    assert len(legend) == 5 and any("exp/loss_train" in t for t in legend) and any("exp/loss_val" in t for t in legend)
    train_loss = panel.locator('.jp-AttnScalars-chart[data-tag="train/loss"]')
    assert train_loss.locator(".jp-AttnScalars-nonfinite").inner_text() == "NaN ×1 · +inf ×1"

    canvas = train_loss.locator("canvas")
    plain = canvas.evaluate(CANVAS)["hash"]
    panel.locator(".jp-AttnScalars-robust input").check()  # the spike no longer flattens the curve
    robust = canvas.evaluate(CANVAS)["hash"]
    panel.locator(".jp-AttnScalars-robust input").uncheck()
    panel.locator(".jp-AttnScalars-logy input").check()
    logy = canvas.evaluate(CANVAS)["hash"]
    panel.locator(".jp-AttnScalars-logy input").uncheck()
    panel.locator(".jp-AttnScalars-axis").select_option("wall")
    wall = canvas.evaluate(CANVAS)["hash"]
    assert len({plain, robust, logy, wall}) == 4
    assert "time" in train_loss.locator(".u-legend .u-series").first.inner_text()

    panel.locator(".jp-AttnScalars-tagFilter").fill("acc$")
    assert panel.locator(".jp-AttnScalars-chart").evaluate_all("cs => cs.map(c => c.dataset.tag)") == ["train/acc"]
    panel.locator(".jp-AttnScalars-tagFilter").fill("")
    panel.locator('details[data-group="train"] > summary').click()  # collapse a group
    assert not panel.locator('details[data-group="train"]').evaluate("d => d.open")
    assert not train_loss.is_visible()

    page.keyboard.press("Control+Shift+C")
    page.locator(".lm-CommandPalette-input").fill("Open HParams Table")
    page.keyboard.press("Enter")
    table = page.locator(".jp-AttnHParams-table")
    rows = table.locator("tr[data-run]")
    rows.first.wait_for()
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.run)") == ["tb_charts/exp/hp", "tb_charts/exp2/hp"]
    table.locator('th[data-column="lr"]').click()
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.run)") == ["tb_charts/exp2/hp", "tb_charts/exp/hp"]
    table.locator('th[data-column="hparam/acc"]').click()
    table.locator('th[data-column="hparam/acc"]').click()  # descending
    assert rows.first.get_attribute("data-run") == "tb_charts/exp2/hp"
    assert "0.9" in rows.first.inner_text() and "sgd" in rows.first.inner_text()
    page.locator(".jp-AttnHParams-filter").fill("adam")
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.run)") == ["tb_charts/exp/hp"]
    page.locator(".jp-AttnHParams-filter").fill("")
    rows.filter(has_text="tb_charts/exp2/hp").locator("input").check()  # plots the session and its run
    page.wait_for_function(
        "() => [...document.querySelectorAll('.lm-TabBar-tab')].some(t => t.textContent.includes('exp2/hp'))"
    )
    tab = page.locator(".lm-TabBar-tab", has_text="Scalars:").inner_text()
    assert "tb_charts/exp2, tb_charts/exp2/hp" in tab
