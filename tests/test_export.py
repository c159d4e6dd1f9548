"""Mime bundle fallbacks, the size cap, the PNG preview, save_image's honest failure modes, the
nbconvert entry point (browser checks are in tests/e2e/test_export_e2e.py)."""

import struct
import zlib

import numpy as np
import pytest
from nbconvert.exporters import get_exporter

import attn_widget
from attn_widget import AttentionWidget
from attn_widget.export import RUNTIME_MARK, preview_png
from attn_widget.nbexport import AttnHTMLExporter

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def widget(n=8, layers=3, heads=4, **kw):
    a = np.random.default_rng(0).dirichlet(np.ones(n), size=(layers, heads, n)).astype(np.float32)
    return AttentionWidget(a, [f"t{i}" for i in range(n)], **kw)


def test_mime_bundle_keeps_live_view_and_adds_offline_fallbacks():
    w = widget()
    data, metadata = w._repr_mimebundle_()
    assert data[WIDGET_VIEW]["model_id"] == w.model_id and isinstance(metadata, dict)
    assert data["text/plain"] == "attn-widget head view: 3 layers × 4 heads × 8 tokens (open in JupyterLab to interact)"
    html = data["text/html"]
    assert 'class="aw-state"' in html and RUNTIME_MARK in html and "https://" not in html
    assert len(html) < 45_000  # renderer compressed: ~27 kB per output


def test_html_fallback_cap_gives_static_preview(monkeypatch):
    monkeypatch.setattr(attn_widget.config, "html_fallback_max_bytes", 10_000)
    html = widget()._repr_mimebundle_()[0]["text/html"]
    assert "aw-esm" not in html and "aw-state" not in html
    assert '<img src="data:image/png;base64,' in html and "html_fallback_max_bytes = 10,000" in html


def test_preview_png_is_layers_by_heads_thumbnails():
    png = preview_png(widget(n=40, layers=2, heads=3).wire_state())
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height, depth, color = struct.unpack(">IIBB", png[16:26])
    assert (width, height, depth, color) == (3 * 34 + 2, 2 * 34 + 2, 8, 3)  # 32 px thumbnails, 2 px gaps, indexed
    idat = png[png.index(b"IDAT") + 4 : png.index(b"IEND") - 8]
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, width + 1)[:, 1:]
    assert rows[:2].max() == 0 and rows[2:34, 2:34].max() == 255  # gap white; each thumbnail scaled to its peak


def test_save_image_fails_clearly():
    w = widget()
    with pytest.raises(ValueError, match=r"\.png or \.svg"):
        w.save_image("view.jpg")
    future = w.save_image("view.png", timeout=0.2)  # no view displayed: nobody answers
    with pytest.raises(TimeoutError, match="no view of this widget answered"):
        future.result(timeout=5)
    w.close()
    with pytest.raises(RuntimeError, match="closed"):
        w.save_image("view.png")


def test_attn_html_exporter_is_registered():
    assert get_exporter("attn_html") is AttnHTMLExporter  # JupyterLab's Export menu (\w+ names)
    assert issubclass(get_exporter("attn-html"), AttnHTMLExporter)  # the command line
    html, _ = AttnHTMLExporter().from_notebook_node(__import__("nbformat").v4.new_notebook())
    assert "aw-esm" not in html and "mathjax" not in html.lower()  # renderer only when a widget is shown


def test_pages_from_stored_state_fill_head_statistics_up_front():
    from attn_widget.analysis import head_statistics
    from attn_widget.export import with_head_stats

    w = widget()
    state = w.wire_state()
    assert state["head_stats"] == {}  # the kernel computes them only when the browser asks
    filled = with_head_stats(state)["head_stats"]  # as nbconvert does from a notebook's stored state
    values = np.frombuffer(filled["values"], "<f4").reshape(len(filled["names"]), *filled["shape"])
    w.stats_requested = True
    exact = head_statistics(np.random.default_rng(0).dirichlet(np.ones(8), size=(3, 4, 8)).astype(np.float32), w.tokens)
    assert filled["names"] == list(exact) == w.head_stats["names"]
    np.testing.assert_allclose(values[0], exact["entropy"], atol=0.02)  # from the uint8 weights as sent
    assert '"head_stats":{"names":' in w._repr_mimebundle_()[0]["text/html"]
