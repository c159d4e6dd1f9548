"""Exported pages in Chromium with the network cut off: only file:, data: and blob: URLs load."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import numpy as np

LOCAL = ("file:", "data:", "blob:")

#: Number of painted (non-transparent) pixels of a canvas element.
PAINTED_CANVAS = """(c) => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
  return n;
}"""
#: Number of painted pixels of the ``index``-th canvas matching ``sel``.
PAINTED = f"([sel, index]) => ({PAINTED_CANVAS})(document.querySelectorAll(sel)[index])"


def attention(n: int, layers: int = 3, heads: int = 4, seed: int = 0) -> np.ndarray:
    """Random peaked attention rows, (layers, heads, n, n)."""
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.full(n, 0.3), size=(layers, heads, n)).astype(np.float32)


@contextmanager
def guarded_page(browser, allowed: Callable[[str], bool], **context_options):
    """Yield ``(page, blocked)`` in a fresh context where every request whose URL is not ``allowed``
    is aborted and listed in ``blocked``."""
    options = {"viewport": {"width": 1300, "height": 900}, "accept_downloads": True, **context_options}
    context = browser.new_context(**options)
    blocked: list[str] = []

    def guard(route):
        if allowed(route.request.url):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        yield page, blocked
    finally:
        context.close()


def offline_page(browser, **context_options):
    """:func:`guarded_page` for exported files: only file:/data:/blob: URLs load."""
    return guarded_page(browser, lambda url: url.startswith(LOCAL), **context_options)


def open_export(page, path: Path, widgets: int) -> None:
    """Open an exported file and wait until its ``widgets`` views are mounted and painted."""
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-attn-widget-ready=true]")
    assert page.locator(".attn-widget").count() == widgets


def canvas_url(page, sel: str, index: int = 0) -> str:
    return page.evaluate("([sel, i]) => document.querySelectorAll(sel)[i].toDataURL()", [sel, index])
