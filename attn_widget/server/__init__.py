"""Jupyter server extension: REST handlers under ``{base_url}attn-widget/``."""

from __future__ import annotations


def load_handlers(server_app) -> None:
    """Register the extension's handlers on ``server_app``'s tornado application."""
    from .handlers import setup_handlers

    setup_handlers(server_app)
