"""``GenerationWidget``: an :class:`~attn_widget.AttentionWidget` of generated text, with the generation view.

The data come from :func:`attn_widget.models.extract_generation`; the traits it adds are declared in
``wire_schema.json`` with ``"subclass": "GenerationWidget"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import traitlets as t

from .errors import AttentionInputError, SelectionError
from .models.generation import GenerationResult
from .widget import AttentionWidget, Choice, Position
from .wire import enum_values


class GenerationWidget(AttentionWidget):
    """:class:`~attn_widget.AttentionWidget` with the generation view: the generated text after the
    prompt as a token strip, what each generated token's step attended to, its probability and the
    top alternatives, and a two-way ``step`` that reveals generation token by token."""

    view = Choice(
        enum_values("view", "GenerationWidget"),
        "generation",
        help="Which view is shown; 'generation' is the token strip of generated text.",
    ).tag(sync=True)
    prompt_length = t.Int(0, help="Number of prompt tokens (decoder tokens before the first generated one).").tag(
        sync=True
    )
    token_probs = t.List(
        t.Float(), help="Probability of each generated token under the model's distribution at its step."
    ).tag(sync=True)
    top_tokens = t.List(
        t.List(t.Tuple(t.Unicode(), t.Float())),
        help="Per generated token: the top alternatives [[token, probability], ...], most likely first.",
    ).tag(sync=True)
    entropy = t.List(t.Float(), help="Entropy (nats) of the model's distribution at each generated token's step.").tag(
        sync=True
    )
    step = Position(0, help="Generated tokens revealed (0..len(token_probs)); two-way with the view's slider.").tag(
        sync=True
    )

    def __init__(
        self,
        attention: Any = None,
        tokens: Sequence[str] | None = None,
        *,
        prompt_length: int,
        token_probs: Sequence[float],
        top_tokens: Sequence[Any],
        entropy: Sequence[float],
        step: int | None = None,
        **options: Any,
    ) -> None:
        """``attention``, ``tokens`` and ``options`` as :class:`~attn_widget.AttentionWidget` takes them (for
        encoder-decoder models ``decoder_tokens`` are the generated text); ``token_probs``,
        ``top_tokens`` and ``entropy`` have one entry per generated token; ``step`` defaults to all."""
        shown = options.get("decoder_tokens") or tokens or []
        generated = len(shown) - prompt_length
        if not 0 < prompt_length <= len(shown):
            raise AttentionInputError(f"prompt_length={prompt_length} is outside the {len(shown)} tokens")
        for name, values in (("token_probs", token_probs), ("top_tokens", top_tokens), ("entropy", entropy)):
            if len(values) != generated:
                raise AttentionInputError(f"{name} has {len(values)} entries for {generated} generated tokens")
        super().__init__(
            attention,
            tokens,
            prompt_length=prompt_length,
            token_probs=list(token_probs),
            top_tokens=[[(str(tok), float(p)) for tok, p in alts] for alts in top_tokens],
            entropy=list(entropy),
            step=generated if step is None else step,
            **options,
        )

    @property
    def num_generated(self) -> int:
        return len(self.token_probs)

    @t.validate("step")
    def _valid_step(self, proposal: dict) -> int:
        value = proposal["value"]
        if self.token_probs and not 0 <= value <= self.num_generated:
            raise SelectionError(f"step {value} is outside 0..{self.num_generated} (generated tokens)")
        return value

    @classmethod
    def from_generation(cls, result: GenerationResult, **options: Any) -> GenerationWidget:
        """Widget showing ``result`` (:func:`~attn_widget.models.extract_generation`); ``options`` go to the constructor."""
        return cls(**result.widget_kwargs(), **options)
