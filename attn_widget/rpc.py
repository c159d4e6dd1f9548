"""One request/response mechanism over a widget's custom messages (schema ``rpc``), both directions.

Requests are ``{"rpc": "request", "id", "method", "params"}``; each is answered by
``{"rpc": "response", "id", "result"}`` with its buffers, or ``{"rpc": "response", "id", "error"}``
where ``error`` is a message for people (never a traceback). The browser asks the kernel for tiles;
the kernel asks the browser for images (:meth:`RpcEndpoint.request`).

A kernel reads comm messages only between cells, so an answer to a kernel request cannot arrive
while the cell that asked is still running: :meth:`RpcEndpoint.request` returns a
:class:`concurrent.futures.Future` that completes once that cell has finished.
"""

from __future__ import annotations

import concurrent.futures
import threading
import uuid
from collections.abc import Callable
from typing import Any

from .errors import AttentionInputError
from .wire import rpc_request, rpc_response

#: A method the kernel answers: ``params`` → ``(result, buffers)``; raises AttentionInputError for a bad request.
Method = Callable[[dict], tuple[dict, list[bytes]]]


class RpcError(RuntimeError):
    """The other side answered a request with an error message."""


def _settle(future: concurrent.futures.Future, result: Any = None, error: BaseException | None = None) -> None:
    try:
        future.set_exception(error) if error else future.set_result(result)
    except concurrent.futures.InvalidStateError:
        pass  # the other of answer/timeout came first


class RpcEndpoint:
    """The kernel's end: answers the browser's requests with ``methods`` and sends its own requests."""

    def __init__(self, widget: Any, methods: dict[str, Method]) -> None:
        self._widget = widget
        self.methods = methods
        self._pending: dict[str, concurrent.futures.Future] = {}
        widget.on_msg(self.handle)

    def handle(self, _widget: Any, content: Any, buffers: list) -> None:
        """``on_msg`` callback: dispatch requests, settle responses, ignore anything else."""
        if not isinstance(content, dict):
            return
        if content.get("rpc") == "request":
            self._widget.send(*self.answer(content))
        elif content.get("rpc") == "response" and isinstance(content.get("id"), str) and content["id"] in self._pending:
            future = self._pending.pop(content["id"])
            if content.get("error") is not None:
                _settle(future, error=RpcError(str(content["error"])))
            else:
                _settle(future, (content.get("result") or {}, [bytes(b) for b in buffers]))

    def answer(self, request: dict) -> tuple[dict, list[bytes]]:
        """The response to ``request`` and its buffers; a bad method or params gives an error message."""
        request_id, name = request.get("id"), request.get("method")
        method = self.methods.get(name)
        if method is None:
            return rpc_response(
                request_id, error=f"unknown method {name!r}; this widget answers {sorted(self.methods)}"
            ), []
        try:
            result, buffers = method(request.get("params") or {})
        except (AttentionInputError, MemoryError) as err:
            return rpc_response(request_id, error=f"{name} request refused: {err}"), []
        return rpc_response(request_id, result), buffers

    def request(self, method: str, params: dict, timeout: float, timeout_message: str) -> concurrent.futures.Future:
        """Ask the browser; the future gives ``(result, buffers)`` of the first answer, or raises
        :class:`RpcError` (the answer was an error) or ``TimeoutError(timeout_message)``."""
        request_id = uuid.uuid4().hex
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._pending[request_id] = future
        timer = threading.Timer(timeout, lambda: _settle(future, error=TimeoutError(timeout_message)))
        timer.daemon = True
        future.add_done_callback(lambda _: (timer.cancel(), self._pending.pop(request_id, None)))
        timer.start()
        self._widget.send(rpc_request(request_id, method, params))
        return future
