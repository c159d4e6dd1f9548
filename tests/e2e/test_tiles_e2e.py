"""Tiled transport in real JupyterLab: thumbnails first, full-resolution windows fetched from the kernel."""

import numpy as np
from notebook import open_notebook, run_cell, write_notebook

SETUP = """
import numpy as np
from attn_widget import AttentionWidget
from attn_widget.arrays import LazyAttention
rng = np.random.default_rng(0)
q, k = rng.normal(size=(2, 4, 1500, 8)).astype(np.float32), rng.normal(size=(2, 4, 1500, 8)).astype(np.float32)
lazy = LazyAttention(q, k, [1.0, 1.0], causal=True)
w = AttentionWidget(lazy, [f"tok{i}" for i in range(1500)], heads=[1])
print("TILED", w.attention_data["self"]["tiled"], sum(len(b) for b in w.attention_data["self"]["thumbs"]["layers"]))
w
"""


def strongest_key(query: int) -> int:
    """The key that head 1 of layer 0 attends to most from ``query`` (same data as the notebook)."""
    rng = np.random.default_rng(0)
    q, k = rng.normal(size=(2, 4, 1500, 8)), rng.normal(size=(2, 4, 1500, 8))
    return int(np.argmax(k[0, 1, : query + 1] @ q[0, 1, query]))


def test_zooming_fetches_full_resolution_tiles_from_the_kernel(lab, page):
    key = strongest_key(700)
    write_notebook(lab, "tiles.ipynb", [SETUP, f'print("WEIGHT %.6f" % lazy.rows(0, [1], 700, 701)[0, 0, {key}])'])
    open_notebook(page, lab, "tiles.ipynb")
    assert "TILED True 31752" in run_cell(
        page, 0
    )  # 2 layers × 4 heads × 63² thumbnails (step 24), not 18 MB of weights
    root = page.locator(".attn-widget")
    page.wait_for_function("() => Number(document.querySelector('.attn-widget')?.dataset.tiles) >= 1")
    status = root.locator(".aw-heatmap-status")
    assert "1 cell = 3×3 tokens (max)" in status.inner_text()

    # Zoom around (query 700, its strongest key) until one cell is one token and labels are readable:
    # each step is a new tile from the kernel.
    overlay = root.locator(".aw-heatmap .aw-head-overlay")
    for _ in range(20):
        view = status.inner_text()
        q0, k0 = int(view.split("queries ")[1].split("–")[0]), int(view.split("keys ")[1].split("–")[0])
        k1 = int(view.split("keys ")[1].split("–")[1].split(" ")[0])
        if "cell =" not in view and k1 - k0 < 40:
            break
        box = overlay.bounding_box()
        cell = (box["width"] - 110) / (k1 - k0 + 1)
        page.mouse.move(box["x"] + 110 + (key - k0 + 0.5) * cell, box["y"] + 90 + (700 - q0 + 0.5) * cell)
        before = int(root.get_attribute("data-tiles"))
        page.mouse.wheel(0, -200)
        page.wait_for_function("(n) => Number(document.querySelector('.attn-widget').dataset.tiles) > n", arg=before)
    text = status.inner_text()
    assert "cell =" not in text and "zoom ×" in text

    # Hover (700, key): the tooltip's exact weight matches the kernel's.
    q0, k0 = int(text.split("queries ")[1].split("–")[0]), int(text.split("keys ")[1].split("–")[0])
    k1 = int(text.split("keys ")[1].split("–")[1].split(" ")[0])
    box = overlay.bounding_box()
    cell = (box["width"] - 110) / (k1 - k0 + 1)
    page.mouse.move(box["x"] + 110 + (key - k0 + 0.5) * cell, box["y"] + 90 + (700 - q0 + 0.5) * cell)
    tip = root.locator(".aw-tooltip")
    tip.wait_for(state="visible")
    assert f"tok700 (700) → tok{key} ({key})" in tip.inner_text()
    shown = float(tip.locator("b").first.inner_text())
    kernel = float(run_cell(page, 1).split("WEIGHT ")[1])
    assert kernel > 0.05 and abs(shown - kernel) <= 1 / 510 + 1e-4  # uint8 tile: error ≤ tile max / 510


def test_exported_tiled_widget_shows_thumbnails_and_says_so(browser, tmp_path):
    from offline import PAINTED, offline_page, open_export

    from attn_widget import AttentionWidget

    a = np.zeros((2, 3, 900, 900), np.float32)
    a[:, :, np.arange(900), np.arange(900)] = 1.0
    path = AttentionWidget(a, [f"t{i}" for i in range(900)], transport="tiles").save_html(tmp_path / "tiled.html")
    with offline_page(browser) as (page, blocked):
        open_export(page, path, 1)
        page.wait_for_function("() => Number(document.querySelector('.attn-widget').dataset.tiles) >= 1")
        assert "no kernel: thumbnails only" in page.locator(".aw-heatmap-status").inner_text()
        assert page.evaluate(PAINTED, [".aw-heatmap-canvas", 0]) > 500  # the diagonal, from thumbnails
        assert not blocked
