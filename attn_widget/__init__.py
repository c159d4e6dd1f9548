"""attn-widget: see inside transformers from a notebook.

Attention head/model/neuron views as an anywidget (binary transport, canvas drawing, offline),
BertViz-compatible ``head_view``/``model_view``, and a TensorBoard runs sidebar for JupyterLab.
"""

from . import config, neuron_view
from .api import from_generate, from_model
from .arrays import AttentionResult
from .errors import AttentionInputError
from .models import extract_attention, extract_generation
from .views import head_view, model_view
from .widget import AttentionWidget
from .wire import quantize_attention

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
