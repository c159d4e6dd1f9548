"""attn-widget: see inside transformers from a notebook.

Attention head/model/neuron views as an anywidget (binary transport, canvas drawing, offline),
BertViz-compatible ``head_view``/``model_view``, and a TensorBoard runs sidebar for JupyterLab.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import config, neuron_view
    from .api import from_generate, from_model
    from .arrays import AttentionResult
    from .errors import AttentionInputError
    from .models import extract_attention, extract_generation
    from .views import head_view, model_view
    from .widget import AttentionWidget
    from .wire import quantize_attention

#: Where each public name lives. Imported on first use (PEP 562), so that importing the package for
#: its server extension or the TensorBoard reader (the Jupyter server, the reading processes) does
#: not load the widget stack (anywidget, ipywidgets: ~0.25 s and ~20 MB per process).
_EXPORTS = {
    "config": None, "neuron_view": None, "from_generate": "api", "from_model": "api",
    "AttentionResult": "arrays", "AttentionInputError": "errors", "extract_attention": "models",
    "extract_generation": "models", "head_view": "views", "model_view": "views",
    "AttentionWidget": "widget", "quantize_attention": "wire",
}  # fmt: skip


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    module = importlib.import_module(f".{_EXPORTS[name] or name}", __name__)
    value = module if _EXPORTS[name] is None else getattr(module, name)
    globals()[name] = value
    return value


#: The one place the Python version is written (pyproject reads it: ``[tool.hatch.version]``).
__version__ = "0.1.0"

__all__ = [
    "AttentionInputError",
    "AttentionResult",
    "AttentionWidget",
    "config",
    "extract_attention",
    "extract_generation",
    "from_generate",
    "from_model",
    "head_view",
    "model_view",
    "neuron_view",
    "quantize_attention",
]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "attn-widget"}]


def _jupyter_server_extension_points() -> list[dict]:
    """The server extension: REST handlers under ``{base_url}attn-widget/`` (imports nothing heavy)."""
    from .server.handlers import RunsExtension

    return [{"module": "attn_widget", "app": RunsExtension}]
