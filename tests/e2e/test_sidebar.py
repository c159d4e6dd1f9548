"""TensorBoard runs sidebar in a real JupyterLab + Chromium, on event files written by torch."""

import json
import math
import re
from pathlib import Path

import pytest
from lab import open_lab

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"

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


def runs_list(page):
    return page.locator("#attn-widget-runs .jp-AttnRuns-list")


def active_run(page) -> str | None:
    """The run of the list's active row (``aria-activedescendant``), or None."""
    return page.evaluate(
        """() => { const id = document.querySelector('#attn-widget-runs .jp-AttnRuns-list')
                     .getAttribute('aria-activedescendant');
                   return id ? document.getElementById(id).dataset.run : null; }"""
    )


def list_has_focus(page) -> bool:
    return page.evaluate("() => document.activeElement?.matches('#attn-widget-runs .jp-AttnRuns-list') ?? false")


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

    # the name line has the row's width (sparkline and value are under it): both names in full
    assert rows.evaluate_all(NAME_LINE_SHARE) > 0.8
    beta = rows.filter(has_text="beta").locator(".jp-AttnRuns-name").evaluate(SHOWN_NAME)
    assert not beta["folder"]["cut"] and not beta["leaf"]["cut"] and beta["folder"]["right"] <= beta["leaf"]["left"], (
        beta
    )
    colors = rows.evaluate_all(SWATCHES)

    write_run(logdir / "a_gamma", steps=5)  # sorts before the others
    assert rows.count() == 2  # auto-refresh is off: nothing new until asked
    page.locator("#attn-widget-runs .jp-AttnRuns-refresh").click()
    rows.filter(has_text="gamma").wait_for()
    assert "step 4" in rows.filter(has_text="gamma").inner_text()
    # a run's colour comes from its name: the same after a new run sorts first, and after a reload
    with_gamma = rows.evaluate_all(SWATCHES)
    assert {run: with_gamma[run] for run in colors} == colors and len(set(with_gamma.values())) == 3
    open_sidebar(page, lab)
    rows.filter(has_text="gamma").wait_for()
    assert rows.evaluate_all(SWATCHES) == with_gamma

    last = alpha.locator(".jp-AttnRuns-last")
    expected = 2.0 * math.exp(-49 / 15) + math.sin(49 * 1.7) * 0.3
    assert float(last.inner_text()) == pytest.approx(expected, rel=1e-3)  # the last loss, 4 digits

    filter_box = page.locator("#attn-widget-runs .jp-AttnRuns-filter")
    filter_box.fill("gam")
    assert names(page) == ["a_gamma"]
    page.locator("#attn-widget-runs .jp-AttnRuns-filter").fill("^(alpha|exp 2/.*)$")  # a regex
    assert names(page) == ["alpha", "exp 2/beta"]
    assert filter_box.get_attribute("aria-invalid") == "false"
    filter_box.fill("zzz")
    assert page.locator("#attn-widget-runs .jp-AttnRuns-message").inner_text() == "No runs match “zzz”."
    filter_box.fill("lr_(")  # not a regex: matched as text, and said so under the box
    note = page.locator("#attn-widget-runs .jp-AttnRuns-filterNote")
    assert note.inner_text() == "Not a valid regular expression: matched as text"
    assert filter_box.get_attribute("aria-invalid") == "true"
    assert page.locator(f"#{filter_box.get_attribute('aria-describedby')}").inner_text() == note.inner_text()
    filter_box.fill("alpha")
    assert filter_box.get_attribute("aria-invalid") == "false" and not note.is_visible()


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
    warning = broken.locator(".jp-AttnRuns-warning")
    assert "bad length checksum" in warning.get_attribute("title")
    # read out with the row (the list's keyboard users get no tooltip): an image named by the text
    assert warning.get_attribute("role") == "img"
    assert re.match(r"warning: .*bad length checksum", warning.get_attribute("aria-label"))
    small = runs(page).filter(has_text="a_lr_small").locator(".jp-AttnRuns-sparkline polyline")
    large = runs(page).filter(has_text="a_lr_large").locator(".jp-AttnRuns-sparkline polyline")
    small.wait_for(state="attached")  # a flat line has an empty box: "hidden" to Playwright
    large.wait_for(state="attached")
    y = lambda line: {p.split(",")[1] for p in line.get_attribute("points").split()}  # noqa: E731
    assert y(small) == {"14"} and y(large) == {"0"}  # bottom and top of one shared scale
    assert runs(page).filter(has_text="a_lr_large").locator(".jp-AttnRuns-last").inner_text() == "0.01"

    page.locator("#attn-widget-runs .jp-AttnRuns-filter").fill("run19\\d\\d$")
    footer = page.locator("#attn-widget-runs .jp-AttnRuns-footer")
    assert footer.inner_text().endswith("100 of 2003 runs") and names(page)[0] == "exp0/run1900"
    page.locator("#attn-widget-runs .jp-AttnRuns-filter").fill("")
    page.locator("#attn-widget-runs .jp-AttnRuns-scroller").evaluate("s => s.scrollTop = s.scrollHeight")
    runs(page).filter(has_text="exp9/run1999").wait_for()
    assert runs(page).count() < 60

    # the keyboard in the virtualised list: the active row is scrolled into view, focus survives
    # the rows being re-created
    runs_list(page).focus()
    page.keyboard.press("Home")
    assert active_run(page) == "tb_many/a_broken" and list_has_focus(page)
    assert page.locator("#attn-widget-runs .jp-AttnRuns-scroller").evaluate("s => s.scrollTop") == 0
    page.keyboard.press("End")
    assert active_run(page) == "tb_many/exp9/run1999" and list_has_focus(page)
    page.keyboard.press("PageUp")
    page.keyboard.press("ArrowUp")
    active = page.locator("#attn-widget-runs .jp-AttnRuns-run.jp-mod-active")  # one active row, in view
    assert active.count() == 1 and active.is_visible() and list_has_focus(page)


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

    # ctrl-click adds a second run: both overlaid in every chart (smoothed over faint raw line),
    # one legend entry per run (the raw lines' entries are hidden)
    runs(page).filter(has_text="beta").click(modifiers=["Control"])
    page.wait_for_function(
        "() => document.querySelectorAll('.jp-AttnScalars-chart')[1]?.querySelectorAll('.u-legend .u-series').length === 5"
    )
    legend = charts.nth(1).locator(".u-legend .u-series:visible").all_inner_texts()
    assert len(legend) == 3 and "exp 2/beta" in legend[2] and "alpha" in legend[1], legend
    assert "alpha" in page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current").inner_text()

    with page.expect_download() as download:
        panel.get_by_text("CSV").click()
    lines = open(download.value.path()).read().splitlines()
    assert lines[0] == "run,tag,step,wall_time,value,smoothed"
    assert len(lines) == 1 + 2 * 50 + 2 * 30  # two tags of both runs, every point


def test_auto_refresh_follows_a_growing_run(lab, page, logdir):
    """A live run's charts follow it while the sidebar is hidden (the chart panel polls it, one
    scalars request a second, no listing), keeping the zoom; double-click then shows all."""
    write_run(logdir / "delta", steps=10)
    configure(lab, logdir="tb", refreshInterval=1)
    open_sidebar(page, lab)
    delta = runs(page).filter(has_text="delta")
    delta.click()
    chart = '.jp-AttnScalars-chart[data-tag="train/loss"]'
    loss = page.locator(f"{chart} canvas")
    loss.wait_for()
    panel = page.locator(".jp-AttnScalars")
    panel.locator(".jp-AttnScalars-axis").select_option("relative")  # a run of seconds: in seconds
    assert "Relative time (s)" in page.locator(f"{chart} .u-legend .u-series").first.inner_text()
    panel.locator(".jp-AttnScalars-axis").select_option("step")
    loss.wait_for()
    over = page.locator(f"{chart} .u-over")
    box = over.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    page.mouse.move(0, 0)

    page.locator('.jp-SideBar [data-id="attn-widget-runs"]').click()  # hide the sidebar: its poll stops
    page.locator("#attn-widget-runs").wait_for(state="hidden")
    panel.locator(".jp-AttnScalars-tagFilter").fill("loss$")  # the tag filter and the scroll stay too
    page.set_viewport_size({"width": 1400, "height": 480})
    page.wait_for_timeout(300)  # the charts widen into the room
    scroller = panel.locator(".jp-AttnScalars-content")
    scrolled = scroller.evaluate("s => { s.scrollTop = s.scrollHeight; return s.scrollTop; }")
    assert scrolled > 0
    zoomed = loss.evaluate(CANVAS)["hash"]
    page.locator(chart).evaluate("c => { c.dataset.stale = 'yes'; }")  # gone once the chart is redrawn
    seen = api_requests(page)
    write_run(logdir / "delta", steps=30, start=10)  # training goes on: a second events file
    page.locator(f"{chart}:not([data-stale]) canvas").wait_for(timeout=15_000)  # new points arrived
    assert loss.evaluate(CANVAS)["hash"] == zoomed  # the same steps in view: the zoom was kept
    assert scroller.evaluate("s => s.scrollTop") == scrolled
    assert panel.locator(".jp-AttnScalars-chart").evaluate_all("cs => cs.map(c => c.dataset.tag)") == ["train/loss"]
    assert seen and all("/attn-widget/scalars" in u for u in seen), seen  # no runs listing
    seen.clear()
    page.wait_for_timeout(2500)
    assert 1 <= len(seen) <= 3 and all("/attn-widget/scalars" in u for u in seen), seen  # one a second
    page.locator(f"{chart} .u-over").dblclick()  # all 40 steps again
    full = loss.evaluate(CANVAS)
    assert full["hash"] != zoomed and full["coloured"] > 300
    page.set_viewport_size({"width": 1400, "height": 900})


def test_sidebar_explains_empty_or_unreadable_logdir(lab, page):
    (lab.root / "empty").mkdir()
    message = page.locator("#attn-widget-runs .jp-AttnRuns-message")
    listing = re.compile(r"/attn-widget/runs(\?|$)")
    held = []
    page.route(
        listing, lambda route: held.append(route)
    )  # the listing waits until let go, like a cold one of 5,000 runs
    configure(lab, logdir="empty")
    open_sidebar(page, lab)
    for _ in range(200):
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the sidebar did not ask for its runs"
    assert message.inner_text() == "Listing runs…"  # on its way, not "no runs"
    assert page.locator("#attn-widget-runs .jp-AttnRuns-footer").inner_text().endswith("listing…")
    assert runs_list(page).get_attribute("aria-busy") == "true"
    for route in held:
        route.continue_()
    page.unroute(listing)
    message.filter(has_text="No TensorBoard runs in “empty”").wait_for()
    assert runs_list(page).get_attribute("aria-busy") == "false"

    configure(lab, logdir="../outside")
    open_sidebar(page, lab)
    message.filter(has_text="Cannot read runs in “../outside”").wait_for()
    assert runs(page).count() == 0


LONG_RUN = "lr_sweep_2024-06-01.cosine-warmup/batch_512/exp3/run_lr0.1"

# Where a name's parts lie, in px: the name's box, and its folders' and run's boxes, each with
# whether its text is cut (elided).
SHOWN_NAME = """(name) => {
  const box = name.getBoundingClientRect();
  const part = selector => { const p = name.querySelector(selector), r = p.getBoundingClientRect();
                             return { left: r.left, right: r.right, cut: p.scrollWidth > p.clientWidth }; };
  return { box: [box.left, box.right], folder: part('.jp-AttnRuns-folder'), leaf: part('.jp-AttnRuns-leaf') };
}"""

# The width of the rows' name line against the row's (the least of all rows).
NAME_LINE_SHARE = """(rows) => Math.min(...rows.map(r =>
  r.querySelector('.jp-AttnRuns-line').getBoundingClientRect().width / r.getBoundingClientRect().width))"""

# Each listed run's colour swatch.
SWATCHES = """(rows) => Object.fromEntries(rows.map(r =>
  [r.dataset.run, getComputedStyle(r.querySelector('.jp-AttnRuns-color')).backgroundColor]))"""


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
    with SummaryWriter(str(root / LONG_RUN)) as w:
        w.add_scalar("train/loss", 0.5, 0)
    configure(lab, logdir="tb_charts")
    open_sidebar(page, lab)
    runs(page).filter(has_text="exp2").first.wait_for()
    sparklines = "() => document.querySelectorAll('#attn-widget-runs .jp-AttnRuns-sparkline').length === 3"
    page.wait_for_function(sparklines)  # the runs with train/loss: rows are no longer re-created

    # add_scalars folders are child rows right under their parent (exp/hp sorts between them),
    # indented, labelled by their key, selectable and plottable on their own from the keyboard
    assert runs(page).evaluate_all("rs => rs.map(r => r.dataset.run.slice('tb_charts/'.length))") == [
        "exp",
        "exp/loss_train",
        "exp/loss_val",
        "exp/hp",
        "exp2",
        "exp2/hp",
        LONG_RUN,
    ]
    assert names(page)[:4] == ["exp", "train", "val", "exp/hp"]
    child = runs(page).nth(1)
    assert child.evaluate("r => r.classList.contains('jp-mod-child')")
    assert child.locator(".jp-AttnRuns-branch").inner_text() == "↳"
    assert child.locator(".jp-AttnRuns-name").get_attribute("title") == (
        'add_scalars("loss") series “train” of run exp\ntb_charts/exp/loss_train'
    )
    x = lambda row: row.locator(".jp-AttnRuns-name").bounding_box()["x"]  # noqa: E731
    assert x(child) >= x(runs(page).nth(0)) + 20 and x(runs(page).nth(3)) == x(runs(page).nth(0))
    runs_list(page).focus()
    page.keyboard.press("Home")
    page.keyboard.press("ArrowDown")
    assert active_run(page) == "tb_charts/exp/loss_train"
    page.keyboard.press("Space")
    assert runs(page).evaluate_all("rs => rs.filter(r => r.ariaSelected === 'true').map(r => r.dataset.run)") == [
        "tb_charts/exp/loss_train"
    ]
    page.keyboard.press("Enter")
    page.locator('.jp-AttnScalars-chart[data-tag="loss"] canvas').wait_for()
    assert page.locator(".jp-AttnScalars-chart").count() == 1  # the series alone, not its parent
    filter_box = page.locator("#attn-widget-runs .jp-AttnRuns-filter")
    filter_box.fill("loss_")  # the parent filtered out: the series show their full names
    assert names(page) == ["exp/loss_train", "exp/loss_val"]
    assert runs(page).evaluate_all("rs => rs.filter(r => r.classList.contains('jp-mod-child')).length") == 0
    filter_box.fill("")

    # at the sidebar's default width a long name's folders elide (at their start), the run in full
    width = page.locator("#attn-widget-runs").bounding_box()["width"]
    assert 200 <= width <= 300, width
    long_name = runs(page).filter(has_text="run_lr0.1").locator(".jp-AttnRuns-name")
    assert long_name.inner_text() == LONG_RUN and long_name.get_attribute("title") == f"tb_charts/{LONG_RUN}"
    shown = long_name.evaluate(SHOWN_NAME)
    (left, right), folder, leaf = shown["box"], shown["folder"], shown["leaf"]
    assert folder["cut"] and not leaf["cut"], shown
    assert left - 0.5 <= folder["left"] < folder["right"] <= leaf["left"] < leaf["right"] <= right + 0.5, shown
    short = runs(page).nth(0).locator(".jp-AttnRuns-name").evaluate(SHOWN_NAME)  # "exp": left-aligned
    assert not short["leaf"]["cut"] and short["leaf"]["left"] == pytest.approx(short["box"][0], abs=0.5), short

    page.locator('#attn-widget-runs [data-run="tb_charts/exp"]').click()
    panel = page.locator(".jp-AttnScalars")
    panel.locator('.jp-AttnScalars-chart[data-tag="train/loss"] canvas').wait_for()

    groups = panel.locator("details.jp-AttnScalars-group")
    assert groups.evaluate_all("gs => gs.map(g => g.dataset.group)") == ["loss", "lr", "train"]
    # add_scalars: both keys overlaid in the one "loss" chart, one legend entry each (and x)
    legend = panel.locator('.jp-AttnScalars-chart[data-tag="loss"] .u-legend .u-series:visible').all_inner_texts()
    assert len(legend) == 3 and any("exp/loss_train" in t for t in legend) and any("exp/loss_val" in t for t in legend)
    # the toolbar, wide or narrow: every control shown whole (none behind "…"; it wraps), the x axis labelled
    toolbar = panel.locator(".jp-Toolbar").first  # Lab's, now with the reload and CSV buttons only
    for width in (1400, 760):
        page.set_viewport_size({"width": width, "height": 900})
        assert toolbar.locator(".jp-Toolbar-responsive-opener:visible").count() == 0
        for control in (
            ".jp-AttnScalars-smoothing",
            ".jp-AttnScalars-tagFilter",
            ".jp-AttnScalars-axisLabel",
            ".jp-AttnScalars-logy",
            ".jp-AttnScalars-robust",
        ):
            fit = panel.locator(control).evaluate(
                """el => { const r = el.getBoundingClientRect(), bar = el.closest('.jp-AttnScalars-controls').getBoundingClientRect();
                           return { clipped: el.scrollWidth > el.clientWidth + 1 || r.bottom > bar.bottom + 0.5
                                             || r.right > bar.right + 0.5, visible: r.width > 0 }; }"""
            )
            assert fit == {"clipped": False, "visible": True}, (width, control, fit)
    page.set_viewport_size({"width": 1400, "height": 900})
    assert panel.get_by_label("x axis").evaluate("s => s.tagName") == "SELECT"
    assert panel.locator(".jp-AttnScalars-axisLabel").inner_text().startswith("x axis")
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
    assert "Wall time" in train_loss.locator(".u-legend .u-series").first.inner_text()

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


def test_runs_list_from_the_keyboard_only(lab, page, logdir):
    """Tab into the list, arrows move, Space selects, Enter plots: the charts come forward and
    focus stays in the list, so the arrows go on working."""
    write_run(logdir / "keys", steps=5)  # a third run whatever ran before
    configure(lab, logdir="tb")
    open_sidebar(page, lab)
    runs(page).first.wait_for()
    page.locator("#attn-widget-runs .jp-AttnRuns-filter").focus()
    page.keyboard.press("Tab")  # the sparkline tag
    page.keyboard.press("Tab")
    assert list_has_focus(page)
    listbox = runs_list(page)
    assert listbox.get_attribute("role") == "listbox" and listbox.get_attribute("aria-multiselectable") == "true"
    order = runs(page).evaluate_all("rs => rs.map(r => r.dataset.run)")
    assert active_run(page) == order[0]  # focusing the list makes its first row active

    page.keyboard.press("ArrowDown")
    assert active_run(page) == order[1]
    page.keyboard.press("Space")
    row = page.locator(f'#attn-widget-runs [data-run="{order[1]}"]')
    assert row.get_attribute("role") == "option" and row.get_attribute("aria-selected") == "true"
    assert runs(page).evaluate_all("rs => rs.filter(r => r.ariaSelected === 'true').length") == 1

    page.keyboard.press("Enter")
    page.locator(".jp-AttnScalars-chart canvas").first.wait_for()
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")
    assert order[1].removeprefix("tb/") in tab.inner_text()
    page.wait_for_function(
        "() => document.activeElement?.matches('#attn-widget-runs .jp-AttnRuns-list')", timeout=5_000
    )
    page.keyboard.press("ArrowDown")
    assert active_run(page) == order[2] and list_has_focus(page)
    page.keyboard.press("Space")  # a second run joins the selection
    assert runs(page).evaluate_all("rs => rs.filter(r => r.ariaSelected === 'true').length") == 2
    page.keyboard.press("End")
    assert active_run(page) == order[-1]
    page.keyboard.press("Home")
    assert active_run(page) == order[0] and list_has_focus(page)


TEXT_FITS = """(el) => {
  // width of the text a control shows (placeholder or chosen option) against its content box
  const style = getComputedStyle(el);
  const text = el.tagName === 'SELECT' ? el.selectedOptions[0].text : el.placeholder;
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
  const padding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
  const arrow = el.tagName === 'SELECT' ? 16 : 0;
  return { text, need: ctx.measureText(text).width, room: el.clientWidth - padding - arrow };
}"""


@pytest.mark.parametrize("theme", ["JupyterLab Light", "JupyterLab Dark"])
def test_sidebar_axe_and_controls_at_default_width(lab, page, logdir, theme):
    """axe-core finds no serious or critical violation in the sidebar (a run selected, one active),
    and the filter placeholder and sparkline tag fit the sidebar's default width."""
    themes = "lab/api/settings/@jupyterlab/apputils-extension:themes"
    lab.api("PUT", themes, json={"raw": json.dumps({"theme": theme})})
    try:
        configure(lab, logdir="tb", sparklineTag="train/loss")
        open_sidebar(page, lab)
        light = "false" if "Dark" in theme else "true"
        page.wait_for_function("(l) => document.body.dataset.jpThemeLight === l", arg=light)
        runs(page).first.wait_for()
        runs_list(page).focus()
        page.keyboard.press("Space")  # select the first run, then make the next one active
        page.keyboard.press("ArrowDown")
        runs(page).first.locator(".jp-AttnRuns-sparkline").wait_for()
        for control in ("filter", "tag"):
            fit = page.locator(f"#attn-widget-runs .jp-AttnRuns-{control}").evaluate(TEXT_FITS)
            assert fit["need"] <= fit["room"], (control, fit)

        page.add_script_tag(path=str(AXE))
        # JupyterLab's own ToolbarButton (<jp-button aria-pressed="false">, as in every Lab
        # toolbar) fails aria-allowed-attr; it is checked apart from what this extension draws.
        result = page.evaluate(
            """async () => {
              const panel = '#attn-widget-runs', labButton = '.jp-ToolbarButtonComponent';
              const run = async context => (await axe.run(context, { resultTypes: ['violations'] })).violations
                .map(v => ({ id: v.id, impact: v.impact, nodes: v.nodes.length,
                             where: v.nodes.slice(0, 2).map(n => n.html.slice(0, 160)) }));
              return { ours: await run({ include: [panel], exclude: [[`${panel} ${labButton}`]] }),
                       lab: await run({ include: [`${panel} ${labButton}`] }) };
            }"""
        )
        for part, violations in result.items():
            counts = {
                impact: sum(v["nodes"] for v in violations if v["impact"] == impact)
                for impact in ("minor", "moderate", "serious", "critical")
            }
            print(f"axe-core violations in the sidebar, {part} ({theme}; nodes) by impact:", counts, violations)
        assert not [v for v in result["ours"] if v["impact"] in ("serious", "critical")], result["ours"]
        # axe's color-contrast rule skips the rows and its colour helpers give up on them (axe
        # finds Lab's side panel content "not visible on screen"), so the WCAG 2 contrast of the
        # rows' text, selected ones included, is computed here from the computed colours.
        contrast = page.evaluate(
            """() => {
              const rgba = c => { const [r, g, b, a = 1] = c.match(/[\\d.]+/g).map(Number), k = c.startsWith('color(srgb') ? 255 : 1;
                                 return { r: r * k, g: g * k, b: b * k, a }; };  // rgb(a) or color-mix's color(srgb)
              const over = (f, b) => ({ r: f.r * f.a + b.r * (1 - f.a), g: f.g * f.a + b.g * (1 - f.a),
                                        b: f.b * f.a + b.b * (1 - f.a), a: 1 });
              const background = el => {
                for (let n = el; n; n = n.parentElement) {
                  const c = rgba(getComputedStyle(n).backgroundColor);
                  if (c.a > 0) return c.a === 1 ? c : over(c, background(n.parentElement));
                }
                return { r: 255, g: 255, b: 255, a: 1 };
              };
              const lum = c => { const f = v => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
                                 return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
              // a run's ⚠ (no run here has one: drawn in the last row for the measure)
              const warning = document.createElement('span');
              warning.className = 'jp-AttnRuns-warning';
              warning.textContent = '⚠';
              [...document.querySelectorAll('#attn-widget-runs .jp-AttnRuns-line')].at(-1).appendChild(warning);
              const texts = document.querySelectorAll(
                '#attn-widget-runs .jp-AttnRuns-run :is(.jp-AttnRuns-folder, .jp-AttnRuns-leaf, .jp-AttnRuns-meta, .jp-AttnRuns-last, .jp-AttnRuns-warning)');
              return [...texts].map(el => {
                const bg = background(el), fg = over(rgba(getComputedStyle(el).color), bg);
                const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
                return { text: el.textContent || el.dataset.text, selected: el.closest('.jp-mod-selected') !== null,
                         ratio: Math.round(((hi + 0.05) / (lo + 0.05)) * 100) / 100 };
              });
            }"""
        )
        print(f"text contrast in the runs list ({theme}):", contrast)
        assert any(c["selected"] for c in contrast) and any(not c["selected"] for c in contrast)
        assert all(c["ratio"] >= 4.5 for c in contrast), contrast  # WCAG AA, normal-size text
    finally:
        lab.api("PUT", themes, json={"raw": json.dumps({"theme": "JupyterLab Light"})})
