"""The training timeline in a real JupyterLab + Chromium, on a run written by ``log_attention`` with a real
(tiny, random) BERT through torch's SummaryWriter: the sidebar marks it, the timeline opens from the
mark, scrubbing repaints the heads (snapshots fetched in binary; a fast drag paints the slider's last step
and never a stale one), and a click on a curve selects the nearest snapshot step."""

from urllib.parse import parse_qs, urlparse

import pytest
import torch
from test_sidebar import configure, open_sidebar, runs
from tiny_models import HEADS, LAYERS, make_model, make_tokenizer
from torch.utils.tensorboard import SummaryWriter

from attn_widget.tensorboard import log_attention

HEAD_IMAGES = "(nodes) => nodes.map(c => c.toDataURL()).join()"
FAST_DRAG = """(scrubber, indices) => {
  const heads = document.querySelector('#attn-widget-timeline .jp-AttnTimeline-heads');
  window.__paintedSteps = [];
  new MutationObserver(() => window.__paintedSteps.push(heads.dataset.step)).observe(heads, { attributeFilter: ['data-step'] });
  for (const index of indices) {  // one input event per position, as fast as the page can take them
    scrubber.value = index;
    scrubber.dispatchEvent(new Event('input', { bubbles: true }));
  }
}"""


@pytest.fixture(scope="module")
def logdir(lab, tmp_path_factory):
    """The folder, the model and its tokenizer. ``timeline/trained``: loss every 10 steps of 0..200, snapshots at 0, 100, 200 with weights growing
    between them (as training moves them); ``timeline/plain``: scalars only."""
    root = lab.root / "timeline"
    tokenizer = make_tokenizer(tmp_path_factory.mktemp("vocab"))
    model = make_model("bert", tokenizer, initializer_range=0.5)
    with SummaryWriter(str(root / "trained")) as writer:
        for step in range(0, 201, 10):
            writer.add_scalar("train/loss", 3.0 - step / 100, step)
            if step % 100 == 0:
                log_attention(writer, step, model, tokenizer, ["the cat sat on the mat"])
                with torch.no_grad():
                    for p in model.parameters():
                        p.mul_(1.6)
    with SummaryWriter(str(root / "plain")) as writer:
        writer.add_scalar("train/loss", 1.0, 0)
    return root, model, tokenizer


def wait_for_step(page, step: int) -> None:
    """Until the heads painted are those of snapshot ``step``."""
    page.wait_for_function(
        "s => document.querySelector('#attn-widget-timeline .jp-AttnTimeline-heads')?.dataset.step === s", arg=str(step)
    )


def chart_tags(panel) -> list[str]:
    return panel.locator(".jp-AttnScalars-chart").evaluate_all("cs => cs.map(c => c.dataset.tag)")


def outlined_heads(views) -> list[str]:
    return views.evaluate_all("cs => cs.filter(c => c.matches('.jp-mod-selected')).map(c => c.dataset.head)")


def test_timeline_opens_from_the_mark_scrubs_picks_steps_and_heads_and_follows_a_live_run(lab, page, logdir):
    configure(lab, logdir="timeline", refreshInterval=1)  # the runs model polls every second
    open_sidebar(page, lab)
    trained = runs(page).filter(has_text="trained")
    trained.wait_for()
    assert runs(page).filter(has_text="plain").locator(".jp-AttnRuns-snapshots").count() == 0
    mark = trained.locator(".jp-AttnRuns-snapshots")
    assert "1 probe text" in mark.get_attribute("title")
    fetched = []  # (step, content type) of every snapshot the panel fetched
    page.on(
        "response",
        lambda r: (
            "/attn-widget/snapshots/attention?" in r.url
            and fetched.append((parse_qs(urlparse(r.url).query)["step"][0], r.headers.get("content-type")))
        ),
    )

    mark.click()
    panel = page.locator("#attn-widget-timeline")
    wait_for_step(page, 200)
    assert fetched == [("200", "application/octet-stream")]  # the binary form, not base64 in JSON

    views = panel.locator("canvas.jp-AttnTimeline-headView")
    assert views.count() == LAYERS * HEADS
    stat, head = (panel.locator(f".jp-AttnTimeline-{c}").input_value() for c in ("stat", "head-choice"))
    assert chart_tags(panel) == ["train/loss", f"attention/{stat}/{head}"]
    at_200 = views.evaluate_all(HEAD_IMAGES)

    # A fast drag over steps 0, 100, 200 ending on 100: step 200 is kept (drawn at once), step 0 loads
    # meanwhile and the rest waits; only the last position waiting (100) is fetched next, and the late
    # answer for 0 never paints over the 200 asked for after it.
    panel.locator(".jp-AttnTimeline-scrubber").evaluate(FAST_DRAG, ["0", "1", "2", "0", "1", "0", "2", "1"])
    wait_for_step(page, 100)  # fetched one at a time: the answer for 0 came before 100 was asked
    assert panel.locator(".jp-AttnTimeline-scrubber").input_value() == "1"
    assert panel.locator(".jp-AttnTimeline-heads").get_attribute("data-step") == "100"
    painted = page.evaluate("() => window.__paintedSteps")  # per observer callback (same-task changes merge)
    assert painted[0] == "200" and painted[-1] == "100" and "0" not in painted, painted
    assert fetched[1:] == [("0", "application/octet-stream"), ("100", "application/octet-stream")]

    panel.locator(".jp-AttnTimeline-scrubber").fill("0")
    wait_for_step(page, 0)
    assert panel.locator(".jp-AttnTimeline-step").inner_text() == "step 0"
    at_0 = views.evaluate_all(HEAD_IMAGES)
    assert at_0 != at_200  # the painted heads are those of the other snapshot

    loss_plot = panel.locator(".jp-AttnScalars-chart[data-tag='train/loss'] .u-over")
    box = loss_plot.bounding_box()
    loss_plot.click(position={"x": box["width"] * 0.52, "y": box["height"] / 2})  # near step 100
    wait_for_step(page, 100)
    assert panel.locator(".jp-AttnTimeline-scrubber").input_value() == "1"
    assert views.evaluate_all(HEAD_IMAGES) not in (at_0, at_200)
    assert outlined_heads(views) == [head]
    views.nth(LAYERS * HEADS - 1).click()  # the last head: its statistic is plotted and it is outlined
    last = f"L{LAYERS - 1}H{HEADS - 1}"
    assert panel.locator(".jp-AttnTimeline-head-choice").input_value() == last
    assert chart_tags(panel) == ["train/loss", f"attention/{stat}/{last}"] and outlined_heads(views) == [last]

    root, model, tokenizer = logdir
    with SummaryWriter(str(root / "trained")) as writer:  # the run goes on: a new snapshot arrives
        writer.add_scalar("train/loss", 0.5, 300)
        log_attention(writer, 300, model, tokenizer, ["the cat sat on the mat"])
    page.wait_for_function(  # no click: the runs model's poll finds the run changed
        "() => document.querySelector('#attn-widget-timeline .jp-AttnTimeline-scrubber').max === '3'"
    )
    wait_for_step(page, 100)  # the selected step is kept
    panel.locator(".jp-AttnTimeline-scrubber").fill("3")
    wait_for_step(page, 300)
    panel.locator(".jp-AttnTimeline-scrubber").focus()
    for _ in range(3):  # arrow keys as fast as they come: each step is shown from what the panel keeps
        page.keyboard.press("ArrowLeft")
    wait_for_step(page, 0)
    assert panel.locator(".jp-AttnTimeline-step").inner_text() == "step 0"
    assert {kind for _, kind in fetched} == {"application/octet-stream"}
