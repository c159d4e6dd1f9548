"""Everything that runs a model: the family registry, the hook capture, extraction (torch and
transformers are imported only when a model runs)."""

from .extract import DEFAULT_MAX_MEMORY, eager_attention, extract_attention, induction_scores, value_weighted_attention
from .families import FAMILIES, ModelFamily, attention_modules, capture_projections
from .generation import GenerationResult, extract_generation, generation_keywords

__all__ = [
    "DEFAULT_MAX_MEMORY",
    "FAMILIES",
    "GenerationResult",
    "ModelFamily",
    "attention_modules",
    "capture_projections",
    "eager_attention",
    "extract_attention",
    "extract_generation",
    "generation_keywords",
    "induction_scores",
    "value_weighted_attention",
]
