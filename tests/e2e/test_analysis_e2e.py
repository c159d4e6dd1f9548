"""Analysis in a real JupyterLab + Chromium: aggregation select repaints and syncs; the heads summary opens a head."""

from notebook import open_notebook, run_cell, write_notebook
from test_widget_e2e import SETUP, paints


def test_aggregation_and_summary_round_trip(lab, page):
    write_notebook(lab, "analysis.ipynb", [
        SETUP + 'w = attn_widget.from_model(model, tok, "the cat sat on the mat", aggregations=("rollout",), mode="heatmap")\nw',
        'print("AGG", w.aggregation)',
        'print("OPENED", w.view, w.layer, w.heads, w.aggregation)',
    ])  # fmt: skip
    open_notebook(page, lab, "analysis.ipynb")
    run_cell(page, 0)
    canvas = ".attn-widget .aw-heatmap-canvas"
    page.locator(canvas).wait_for(state="visible")
    pixels = page.evaluate("(sel) => document.querySelector(sel).toDataURL()", canvas)

    # Aggregation: offered options are raw + rollout only; switching repaints and reaches the kernel.
    select = page.locator(".attn-widget .aw-aggregation")
    assert select.locator("option").all_inner_texts() == ["Raw", "Rollout"]
    before = paints(page)
    select.select_option("rollout")
    page.wait_for_function("(n) => Number(document.querySelector('.attn-widget').dataset.paints) > n", arg=before)
    assert page.evaluate("(sel) => document.querySelector(sel).toDataURL()", canvas) != pixels
    assert page.locator(".attn-widget .aw-heads").is_hidden()  # one rollout map per layer, no head squares
    assert "AGG rollout" in run_cell(page, 1)

    # Summary: sort by a statistic, click the first row: the kernel sees that head, the head view is back.
    page.locator(".attn-widget .aw-view").select_option("summary")
    table = page.locator(".attn-widget .aw-summary table")
    table.wait_for(state="visible")
    assert table.locator("tbody tr").count() == 3 * 4
    table.locator('[data-sort="confidence"]').click()
    first = table.locator("tbody tr").first
    layer, head = int(first.get_attribute("data-layer")), int(first.get_attribute("data-head"))
    values = [float(t) for t in table.locator("tbody tr td:nth-child(9)").all_inner_texts()]
    assert values == sorted(values, reverse=True)  # confidence column, descending after one click
    first.click()
    page.locator(canvas).wait_for(state="visible")
    assert f"OPENED head {layer} [{head}] raw" in run_cell(page, 2)
    assert page.locator(".attn-widget .aw-view").input_value() == "head"
