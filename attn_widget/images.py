"""``AttentionWidget.save_image``: ask a displayed view for a PNG or SVG of what it shows.

The kernel sends ``{"type": "image", "id", "format"}``; every displayed view answers with the same
``type``/``id`` and the file as one binary buffer (or ``error``); the first answer is written.
A kernel reads comm messages only between cells, so the answer cannot arrive while the cell that
asked is still running: :func:`request_image` returns a :class:`concurrent.futures.Future` that
completes (with the path) once that cell has finished; ``future.result()`` in a later cell returns
the path or raises the error (``TimeoutError`` when no view answered in ``timeout`` seconds).
Calling ``.result()`` in a cell that starts before the answer came (e.g. "Run All") blocks that
cell, and with it the answer, until ``result``'s own timeout.
"""

from __future__ import annotations

import concurrent.futures
import pathlib
import threading
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .widget import AttentionWidget

FORMATS = {".png": "png", ".svg": "svg"}


def _settle(future: concurrent.futures.Future, result=None, error: BaseException | None = None) -> None:
    try:
        future.set_exception(error) if error else future.set_result(result)
    except concurrent.futures.InvalidStateError:
        pass  # the other of answer/timeout came first


def request_image(widget: AttentionWidget, path: str | pathlib.Path, timeout: float = 30.0) -> concurrent.futures.Future:
    """Ask ``widget``'s views for an image of the current view; the future gives ``path`` once written."""
    path = pathlib.Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"save_image writes .png or .svg files, got {path.name!r}")
    if widget.comm is None:
        raise RuntimeError("the widget is closed: display a new one to save an image")
    rid = uuid.uuid4().hex
    future: concurrent.futures.Future = concurrent.futures.Future()

    def on_msg(_widget, content, buffers) -> None:
        if not isinstance(content, dict) or content.get("type") != "image" or content.get("id") != rid or future.done():
            return
        if content.get("error") or not buffers:
            _settle(future, error=RuntimeError(f"the view could not draw the image: {content.get('error', 'no data')}"))
            return
        path.write_bytes(bytes(buffers[0]))
        _settle(future, path)

    timer = threading.Timer(timeout, lambda: _settle(future, error=TimeoutError(
        f"no view of this widget answered in {timeout:g} s: display the widget, and call save_image in a cell "
        "of its own (the kernel receives the answer only after that cell has finished)"
    )))  # fmt: skip
    timer.daemon = True
    widget.on_msg(on_msg)
    future.add_done_callback(lambda _: (timer.cancel(), widget.on_msg(on_msg, remove=True)))
    timer.start()
    widget.send({"type": "image", "id": rid, "format": fmt})
    return future
