"""The errors users see, and the unknown-keyword check every entry point shares (lowest layer)."""

from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import Callable, Iterable
from typing import ParamSpec, TypeVar

import traitlets

P = ParamSpec("P")
R = TypeVar("R")

SDPA_HINT = (
    "transformers returns an empty attentions tuple when the model runs with 'sdpa' or flash "
    "attention. Load the model with attn_implementation='eager', call "
    "model.set_attn_implementation('eager') before the forward pass, or use "
    "attn_widget.extract_attention(model, tokenizer, text), which switches for you."
)


class AttentionInputError(ValueError):
    """Attention, tokens or a selection that cannot be shown as given. Catch this one type for every bad input."""


class SelectionError(AttentionInputError, traitlets.TraitError):
    """A bad value for a widget trait (layer, heads, view, ...). Also a ``TraitError`` so that traitlets
    rolls back every trait set in the same ``hold_trait_notifications`` block: nothing is lost."""


class UnsupportedModelError(AttentionInputError):
    """The model's family is not in :data:`attn_widget.models.families.FAMILIES`."""


def check_keywords(where: str, given: Iterable[str], valid: Iterable[str]) -> None:
    """Raise ``TypeError`` for the first name of ``given`` not in ``valid``, naming the closest valid one.

    ``where`` is the callable's name as users wrote it (``"model_view"``), as Python's own message has it.
    """
    valid = set(valid)
    unknown = [name for name in given if name not in valid]
    if unknown:
        name = unknown[0]
        close = difflib.get_close_matches(name, sorted(valid), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise TypeError(f"{where}() got an unexpected keyword argument {name!r}{hint}")


def parameter_names(function: Callable[..., object]) -> set[str]:
    """The names ``function`` takes as keywords (``**kwargs`` not included)."""
    parameters = inspect.signature(function).parameters.values()
    return {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def checked_keywords(function: Callable[P, R]) -> Callable[P, R]:
    """Decorate a function without ``**kwargs`` so that a misspelt keyword names the closest parameter
    (Python's own ``TypeError`` names only the misspelling)."""
    names = parameter_names(function)

    @functools.wraps(function)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        check_keywords(function.__name__, kwargs, names)
        return function(*args, **kwargs)

    return call
