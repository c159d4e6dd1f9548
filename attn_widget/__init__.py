"""attn-widget: see inside transformers from a notebook.

Attention head/model/neuron views as an anywidget (binary transport, canvas drawing, offline),
BertViz-compatible ``head_view``/``model_view``, and a TensorBoard runs sidebar for JupyterLab.
"""

from . import config, neuron_view
from .extract import AttentionResult, extract_attention, from_model
from .generation import extract_generation, from_generate
from .inputs import AttentionInputError
from .quantize import quantize_attention
from .views import head_view, model_view
from .widget import AttentionWidget

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
