"""Package settings, read at use time: ``import attn_widget; attn_widget.config.html_fallback_max_bytes = 0``."""

#: Largest interactive ``text/html`` copy a displayed widget puts in its output (characters, ~bytes),
#: for exports without widget state (``jupyter nbconvert --to html``, JupyterLab's HTML export).
#: It is saved in the notebook with the output. Above the cap, or at 0, the output carries only a
#: static preview (PNG thumbnails and a summary). 3 MB holds a 12 × 12 model at about 256 tokens.
html_fallback_max_bytes: int = 3_000_000
