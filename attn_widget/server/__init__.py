"""Jupyter server extension: REST handlers under ``{base_url}attn-widget/`` (see :mod:`.handlers`)."""
