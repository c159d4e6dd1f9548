"""Attention of text generated with ``model.generate()``, stitched step by step into one matrix.

``generate(output_attentions=True)`` gives one tuple per step with changing shapes: the prompt step
``(batch, heads, P, P)``, then ``(batch, heads, 1, P + t)`` (sliding-window layers even fewer keys).
:func:`extract_generation` runs ``generate`` itself with a forward hook on the model that writes each
step's rows into one causal ``(layers, heads, total, total)`` array as they come (generate is asked
not to keep them, so the weights are held once), records what the model predicted at each step
(probability of the chosen token, top alternatives, entropy), and runs the one forward pass generate
does not take — the last generated token through the cache — so every token has its row.

Long generations take the lazy path: the model keeps its memory-efficient attention, hooks capture
each step's queries and keys (:func:`~attn_widget.models.families.capture_projections`), and a
:class:`~attn_widget.arrays.LazyAttention` computes rows on demand, so ``layers × heads × total²`` floats
are never held. The widget of a result is :class:`attn_widget.generation_widget.GenerationWidget`.

torch and transformers are imported when a model runs.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..arrays import LazyAttention
from ..errors import SDPA_HINT, AttentionInputError, check_keywords, parameter_names
from .extract import DEFAULT_MAX_MEMORY, _gib, _selection, attention_memory, eager_attention
from .families import Capture, ModelFamily, attention_modules, capture_projections

#: Alternatives recorded per generated token.
TOP_K = 5

#: generate() arguments extract_generation sets itself (the caller's value would break the stitching).
_CONTROLLED = {
    "output_attentions",
    "return_dict_in_generate",
    "output_scores",
    "output_logits",
    "output_hidden_states",
    "past_key_values",
    "cache",
    "use_cache",
    "input_ids",
    "attention_mask",
    "inputs",
    "max_new_tokens",
}
#: Decoding strategies whose steps are not one token per forward pass on one sequence: refused when
#: the setting (passed, or from the model's generation_config) is above ``limit``.
_REFUSED = {  # name: (limit, why)
    "num_beams": (1, "beam search keeps several hypotheses per step; pass num_beams=1 (greedy or sampling)"),
    "num_return_sequences": (1, "one sequence is shown; pass num_return_sequences=1"),
    "num_beam_groups": (1, "group beam search keeps several hypotheses per step; pass num_beam_groups=1"),
    "prompt_lookup_num_tokens": (0, "prompt-lookup decoding verifies several draft tokens per step"),
    "penalty_alpha": (0, "contrastive search runs extra forward passes per step"),
}


@dataclass
class GenerationResult:
    """Attention of a prompt and the tokens generated after it.

    ``tokens``: prompt + generated (for encoder-decoder models: the decoder's, starting with its
    start token; the prompt is ``encoder_tokens``). ``attention``: float32 ``(layers, heads, total,
    total)``, causal, row ``i`` = what token ``i`` attended to (the prompt rows from the first step,
    each generated token's from the step that fed it in), or a
    :class:`~attn_widget.arrays.LazyAttention` of that shape. Per generated token ``s`` (position
    ``prompt_length + s``), from the model's own distribution at the step that chose it — the softmax
    of the logits the model returned, before generate's logits processors (temperature, top-k, ...):
    ``token_probs[s]``, ``top_tokens[s]`` (the ``TOP_K`` most likely ``(token, probability)``) and
    ``entropy[s]`` (nats).
    """

    tokens: list[str]
    token_ids: list[int]
    prompt_length: int
    attention: Any
    token_probs: np.ndarray
    top_tokens: list[list[tuple[str, float]]]
    entropy: np.ndarray
    layer_numbers: list[int] | None = None
    head_numbers: list[int] | None = None
    encoder_tokens: list[str] | None = None
    encoder_attention: np.ndarray | None = None
    #: ``(layers, heads, total, encoder tokens)``: decoder queries × encoder keys, row per step.
    cross_attention: np.ndarray | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def is_encoder_decoder(self) -> bool:
        return self.cross_attention is not None

    @property
    def generated_tokens(self) -> list[str]:
        return self.tokens[self.prompt_length :]

    def widget_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :class:`~attn_widget.generation_widget.GenerationWidget` showing this result."""
        common = dict(
            prompt_length=self.prompt_length,
            token_probs=self.token_probs.tolist(),
            top_tokens=[[[tok, p] for tok, p in step] for step in self.top_tokens],
            entropy=self.entropy.tolist(),
            layer_numbers=self.layer_numbers,
            head_numbers=self.head_numbers,
        )
        if self.is_encoder_decoder:
            return dict(
                encoder_attention=self.encoder_attention,
                decoder_attention=self.attention,
                cross_attention=self.cross_attention,
                encoder_tokens=self.encoder_tokens,
                decoder_tokens=self.tokens,
                **common,
            )
        return dict(attention=self.attention, tokens=self.tokens, **common)


def generation_keywords(model: Any) -> set[str]:
    """The keywords :func:`extract_generation` takes for ``model``: its own and ``model.generate``'s decoding options."""
    from transformers import GenerationConfig

    generate = set(vars(GenerationConfig())) | parameter_names(model.generate)
    return (generate - _CONTROLLED) | parameter_names(extract_generation)


def _check_generate_kwargs(model: Any, kwargs: dict[str, Any]) -> None:
    """TypeError for unknown keywords (naming the closest) and for ones extract_generation sets itself;
    AttentionInputError for decoding strategies that cannot be stitched."""
    controlled = sorted(set(kwargs) & _CONTROLLED)
    if controlled:
        raise TypeError(f"extract_generation() sets {', '.join(map(repr, controlled))} itself; leave them out")
    check_keywords("extract_generation", kwargs, generation_keywords(model))
    if kwargs.get("assistant_model") is not None:
        raise AttentionInputError(
            "assistant_model is not supported: assisted decoding verifies several draft tokens per step"
        )
    defaults = kwargs.get("generation_config") or getattr(model, "generation_config", None)
    for name, (limit, why) in _REFUSED.items():
        value = kwargs[name] if name in kwargs else getattr(defaults, name, None)
        if value is not None and value > limit:
            source = "" if name in kwargs else " (the model's generation_config)"
            raise AttentionInputError(f"{name}={value!r}{source} is not supported: {why}")


def _context_length(config: Any) -> int | None:
    """The longest sequence the model's positions cover (None: no fixed limit, e.g. T5's relative positions)."""
    for name in ("max_position_embeddings", "n_positions", "max_sequence_length"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def _input_device(model: Any) -> Any:
    """Where the input ids go: the embedding's device, or its accelerate hook's execution device when
    its weights are offloaded (``meta``)."""
    embedding = model.get_input_embeddings()
    hook = getattr(embedding, "_hf_hook", None)
    if getattr(hook, "execution_device", None) is not None:
        return hook.execution_device
    device = next(embedding.parameters()).device
    return "cpu" if device.type == "meta" else device


class _StepRecorder:
    """Forward hook on the whole model: per call (one generate step) write the attention rows of the
    new positions into preallocated arrays, and summarise the next-token distribution.

    Rows of a step are placed at absolute positions: a call with ``q`` new queries after ``n`` cached
    positions fills rows ``n..n+q``; a layer that returns fewer keys than ``n+q`` (a sliding-window
    cache keeps the last ``window`` keys) is right-aligned to the query position.
    """

    def __init__(
        self, tokenizer: Any, layers: list[int], heads: list[int], capacity: int, with_attention: bool, is_enc_dec: bool
    ) -> None:
        self.tokenizer, self.layers, self.heads, self.is_enc_dec = tokenizer, layers, heads, is_enc_dec
        self.capacity, self.with_attention = capacity, with_attention
        self.filled = 0  # rows written so far (decoder positions)
        self.attention: np.ndarray | None = None
        self.cross: np.ndarray | None = None
        self.record_logits = True
        self._pending: Any = None  # probabilities of the latest step, until its token is known
        self.token_probs: list[float] = []
        self.top_tokens: list[list[tuple[str, float]]] = []
        self.entropy: list[float] = []

    def _place(self, target: np.ndarray, step: Sequence[Any], name: str, causal: bool) -> int:
        rows = 0
        for i, layer in enumerate(self.layers):
            weights = step[layer][0][self.heads].float().cpu().numpy()  # (heads, q, k)
            rows, keys = weights.shape[1:]
            end = self.filled + rows
            if end > target.shape[2]:
                raise RuntimeError(f"generate took more steps than the {target.shape[2]} positions reserved")
            if not causal or keys >= end:
                width = end if causal else keys
                target[i, :, self.filled : end, :width] = weights[..., :width]
            else:  # sliding-window layer: the last `keys` positions up to each query
                for r in range(rows):
                    stop = self.filled + r + 1
                    target[i, :, self.filled + r, max(0, stop - keys) : stop] = weights[:, r, max(0, keys - stop) :]
        if not rows:
            raise AttentionInputError(f"the model returned empty {name}. {SDPA_HINT}")
        return rows

    def __call__(self, module: Any, args: tuple, kwargs: dict, output: Any) -> None:
        import torch

        ids = kwargs.get("decoder_input_ids", kwargs.get("input_ids"))
        if ids is None and args:
            ids = args[0]
        if self._pending is not None:  # the token chosen at the previous step is the last one fed in now
            self._resolve(int(ids[0, -1]))
        if self.with_attention:
            self._record_attention(output)
        else:
            self.filled += ids.shape[1]
        if self.record_logits:
            logits = output.logits[0, -1].float()
            log_probs = torch.log_softmax(logits, dim=-1)
            probs = log_probs.exp()
            self.entropy.append(float(-(probs * log_probs).nansum()))
            top = torch.topk(probs, min(TOP_K, probs.shape[0]))
            names = self.tokenizer.convert_ids_to_tokens(top.indices.tolist())
            self.top_tokens.append([(str(n), float(p)) for n, p in zip(names, top.values.tolist())])
            self._pending = probs.cpu()

    def _record_attention(self, output: Any) -> None:
        enc_dec = self.is_enc_dec
        self_attn = getattr(output, "decoder_attentions" if enc_dec else "attentions", None)
        if not self_attn:
            raise AttentionInputError(f"the model returned no attentions during generate. {SDPA_HINT}")
        heads = len(self.heads)
        if self.attention is None:
            self.attention = np.zeros((len(self.layers), heads, self.capacity, self.capacity), np.float32)
        if enc_dec:
            if self.cross is None:
                self.cross = np.zeros(
                    (len(self.layers), heads, self.capacity, output.cross_attentions[0].shape[-1]), np.float32
                )
            self._place(self.cross, output.cross_attentions, "cross_attentions", causal=False)
        self.filled += self._place(self.attention, self_attn, "attentions", causal=True)

    def encoder_attention(self, encoder_attentions: Sequence[Any]) -> np.ndarray:
        """The encoder's attention (run once, before generate): float32 ``(layers, heads, enc, enc)``."""
        if not encoder_attentions:
            raise AttentionInputError(f"the model returned no encoder attentions. {SDPA_HINT}")
        return np.stack([encoder_attentions[layer][0][self.heads].float().cpu().numpy() for layer in self.layers])

    def _resolve(self, token: int) -> None:
        self.token_probs.append(float(self._pending[token]))
        self._pending = None

    def finish(self, last_token: int) -> None:
        """After generate: the last step's token is known; further calls record attention only."""
        if self._pending is not None:
            self._resolve(last_token)
        self.record_logits = False


@contextlib.contextmanager
def _quiet_ignored_flag_warning():
    """Drop transformers' "output_attentions is ignored without return_dict_in_generate" log line: the
    flag still reaches the model's forward (the hook reads the weights there); only generate's copy,
    which would hold every step's weights a second time, is not made."""
    logger = logging.getLogger("transformers.generation.configuration_utils")
    drop = logging.Filter()
    drop.filter = lambda record: "generation flags are not valid" not in record.getMessage()  # type: ignore[method-assign]
    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)


class GroupedKeys:
    """Keys of a grouped-query model stored once per KV head, read per query head as
    :class:`~attn_widget.arrays.LazyAttention` indexes them (``(layers, heads, seq, head_dim)``).

    ``kv``: float32 ``(layers, kv heads, seq, head_dim)``; ``kv_of_head``: each query head's row in
    ``kv``. One layer (``keys[l]``) is expanded on reading, ``(heads, seq, head_dim)``; a list of
    layers gives another ``GroupedKeys``. With 8 KV heads for 32 query heads this holds 4× fewer floats.
    """

    ndim = 4

    def __init__(self, kv: np.ndarray, kv_of_head: Sequence[int]) -> None:
        self.kv, self.kv_of_head = kv, np.asarray(kv_of_head)
        self.shape = (kv.shape[0], len(self.kv_of_head), *kv.shape[2:])

    def __getitem__(self, layers: Any) -> Any:
        if isinstance(layers, (int, np.integer)):
            return self.kv[layers][self.kv_of_head]
        return GroupedKeys(self.kv[layers], self.kv_of_head)


class _StepCapture(Capture):
    """The capture of :func:`~attn_widget.models.families.capture_projections`, kept for every step: each
    generate step's queries ``(heads, new positions, head_dim)`` and keys (once per KV head) of the
    selected layers, appended into arrays preallocated for ``capacity`` positions."""

    def __init__(
        self,
        family: ModelFamily,
        modules: list[Any],
        qk: bool,
        values: bool,
        *,
        layers: list[int],
        heads: list[int],
        capacity: int,
    ) -> None:
        super().__init__(family, [modules[i] for i in layers], qk, values)
        self.heads, self.capacity = heads, capacity
        group = getattr(self.modules[0], "num_key_value_groups", 1)  # query heads per KV head
        kv_heads = sorted({h // group for h in heads})
        self.kv_of_head = [kv_heads.index(h // group) for h in heads]
        self.key_heads = [kv * group for kv in kv_heads]  # the families repeat keys per query head: one of each group
        self.queries: np.ndarray | None = None
        self.keys: np.ndarray | None = None
        self.filled = [0] * len(self.modules)

    def store(self, index: int, parts: tuple[Any, Any, Any]) -> None:
        q = parts[0][0][self.heads].float().cpu().numpy()  # (heads, new, head_dim)
        k = parts[1][0][self.key_heads].float().cpu().numpy()  # (KV heads, new, head_dim)
        if self.queries is None:
            layers, dim = len(self.modules), q.shape[-1]
            self.queries = np.zeros((layers, len(self.heads), self.capacity, dim), np.float32)
            self.keys = np.zeros((layers, len(self.key_heads), self.capacity, dim), np.float32)
        start, stop = self.filled[index], self.filled[index] + q.shape[1]
        self.queries[index, :, start:stop], self.keys[index, :, start:stop] = q, k
        self.filled[index] = stop


def extract_generation(
    model: Any,
    tokenizer: Any,
    prompt: str,
    *,
    max_new_tokens: int = 20,
    layers: Sequence[int] | None = None,
    heads: Sequence[int] | None = None,
    seed: int | None = None,
    lazy: bool | None = None,
    max_memory: int = DEFAULT_MAX_MEMORY,
    **generate_kwargs: Any,
) -> GenerationResult:
    """Generate up to ``max_new_tokens`` after ``prompt`` and return the attention of every step.

    ``generate_kwargs`` are ``model.generate``'s decoding options (``do_sample``, ``temperature``,
    ``top_k``, ``eos_token_id``, ...); unknown names raise ``TypeError``. Greedy and sampling work
    (``seed`` seeds torch first, so a sampled generation repeats); beam search, assisted and
    contrastive decoding are refused. Models loaded with ``sdpa`` are switched to eager attention
    for the call and restored. ``layers``/``heads`` (model numbers) keep only those.

    Memory: when the stitched attention (``layers × heads × total² × 4`` bytes) would exceed
    ``max_memory``, the model keeps its memory-efficient attention and queries/keys are captured
    instead; ``.attention`` is then a :class:`~attn_widget.arrays.LazyAttention` (``lazy=True`` forces
    this, ``lazy=False`` refuses with the estimate). Models placed with accelerate's ``device_map``
    (CPU offload included) run where they are; the ids go to the embedding's execution device.
    """
    import torch

    if not (callable(getattr(model, "generate", None)) and getattr(model, "can_generate", lambda: False)()):
        raise AttentionInputError(
            f"{type(model).__name__} cannot generate text (no language-modelling head); "
            "load it with AutoModelForCausalLM or AutoModelForSeq2SeqLM"
        )
    if not isinstance(prompt, str) or not prompt.strip():
        raise AttentionInputError("prompt is empty: pass the text to continue")
    if not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        raise AttentionInputError(f"max_new_tokens must be a positive int, got {max_new_tokens!r}")
    _check_generate_kwargs(model, generate_kwargs)
    config = model.config
    is_enc_dec = bool(getattr(config, "is_encoder_decoder", False))
    encoding = tokenizer(prompt, return_tensors="pt")
    device = _input_device(model)
    input_ids = encoding["input_ids"].to(device)
    attention_mask = encoding.get("attention_mask", torch.ones_like(encoding["input_ids"])).to(device)
    prompt_length = 1 if is_enc_dec else input_ids.shape[1]  # the decoder starts from its start token
    capacity = prompt_length + max_new_tokens
    context = _context_length(config)
    if context is not None and max(capacity, input_ids.shape[1]) > context:
        raise AttentionInputError(
            f"{input_ids.shape[1]} prompt tokens + max_new_tokens={max_new_tokens} exceed the model's context of "
            f"{context} positions; shorten the prompt or lower max_new_tokens"
        )
    text_config = config.get_text_config(decoder=True) if hasattr(config, "get_text_config") else config
    n_layers = getattr(text_config, "num_decoder_layers", None) or text_config.num_hidden_layers
    n_heads = getattr(text_config, "num_attention_heads", None) or text_config.num_heads
    layer_numbers = _selection(layers, n_layers, "layers", "layer")
    head_numbers = _selection(heads, n_heads, "heads", "head")
    eager_bytes = attention_memory(text_config, capacity, len(layer_numbers), len(head_numbers))
    if lazy is None:
        lazy = eager_bytes > max_memory and not is_enc_dec
    if not lazy and eager_bytes > max_memory:
        raise AttentionInputError(
            f"the attention of {capacity} positions needs {_gib(eager_bytes)} ({len(layer_numbers)} layers × "
            f"{len(head_numbers)} heads × {capacity}² × 4 bytes), more than max_memory={_gib(max_memory)}; "
            "use lazy=True (rows computed on demand from queries/keys), fewer layers/heads, or raise max_memory"
        )
    if lazy:
        _check_lazy(model, is_enc_dec, capacity)

    recorder = _StepRecorder(tokenizer, layer_numbers, head_numbers, capacity, not lazy, is_enc_dec)
    qk_capture = (
        capture_projections(
            model, capture_type=_StepCapture, layers=layer_numbers, heads=head_numbers, capacity=capacity
        )
        if lazy
        else contextlib.nullcontext()
    )
    cache = _new_cache(config, is_enc_dec)
    cache_name = (
        "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
    )  # transformers ≥ 5.2x
    options = dict(
        generate_kwargs,
        max_new_tokens=max_new_tokens,
        **{cache_name: cache},
        output_attentions=not lazy,
        return_dict_in_generate=False,
    )
    was_training = model.training
    attention_context = contextlib.nullcontext() if lazy else eager_attention(model)
    handle = model.register_forward_hook(recorder, with_kwargs=True)
    try:
        with attention_context, torch.no_grad(), qk_capture as qk, _quiet_ignored_flag_warning():
            model.eval()
            if is_enc_dec:  # run here, not inside generate, so its attention comes back too
                encoder_outputs = model.get_encoder()(
                    input_ids=input_ids, attention_mask=attention_mask, output_attentions=True, return_dict=True
                )
                encoder_attention = recorder.encoder_attention(encoder_outputs.attentions)
                options["encoder_outputs"] = encoder_outputs
            if seed is not None:
                torch.manual_seed(seed)
            sequences = model.generate(input_ids=input_ids, attention_mask=attention_mask, **options)
            recorder.finish(int(sequences[0, -1]))
            # The last token is never fed back by generate: one more cached step gives its row.
            last = sequences[:, -1:]
            if is_enc_dec:
                model(
                    decoder_input_ids=last,
                    **{cache_name: cache},
                    output_attentions=True,
                    encoder_outputs=encoder_outputs,
                    attention_mask=attention_mask,
                )
            else:
                model(
                    input_ids=last,
                    **{cache_name: cache},
                    output_attentions=not lazy,
                    attention_mask=torch.ones_like(sequences),
                )
    finally:
        handle.remove()
        model.train(was_training)

    ids = sequences[0].tolist()  # encoder-decoder: the decoder's (start token + generated)
    total = len(ids)
    tokens = list(tokenizer.convert_ids_to_tokens(ids))
    result = GenerationResult(
        tokens=tokens,
        token_ids=ids,
        prompt_length=prompt_length,
        attention=None,
        token_probs=np.array(recorder.token_probs, np.float32),
        top_tokens=recorder.top_tokens,
        entropy=np.array(recorder.entropy, np.float32),
        layer_numbers=layer_numbers if layers is not None else None,
        head_numbers=head_numbers if heads is not None else None,
    )
    if lazy:
        keys = GroupedKeys(qk.keys[:, :, :total], qk.kv_of_head)
        result.attention = LazyAttention(qk.queries[:, :, :total], keys, qk.scaling, causal=True)
    else:
        result.attention = np.ascontiguousarray(recorder.attention[:, :, :total, :total])
    if is_enc_dec:
        result.encoder_tokens = list(tokenizer.convert_ids_to_tokens(input_ids[0].tolist()))
        result.encoder_attention = encoder_attention
        result.cross_attention = np.ascontiguousarray(recorder.cross[:, :, :total])
    return result


def _check_lazy(model: Any, is_enc_dec: bool, capacity: int) -> None:
    """Refuse the lazy path where softmax(q·kᵀ·scaling) with a causal mask is not the model's attention."""
    if is_enc_dec:
        raise AttentionInputError(
            "lazy extraction covers decoder-only models; encoder-decoder models are stitched eagerly"
        )
    attention_modules(model)  # names the supported model types
    config = model.config
    window = getattr(config, "sliding_window", None)
    layer_types = getattr(config, "layer_types", None)
    if window and capacity > window and (layer_types is None or "sliding_attention" in layer_types):
        raise AttentionInputError(
            f"{capacity} positions exceed the sliding window of {window}, which lazy attention "
            "does not apply; lower max_new_tokens or use lazy=False"
        )


def _new_cache(config: Any, is_enc_dec: bool) -> Any:
    """The cache generate fills, kept so the last token can be run through it afterwards."""
    from transformers import DynamicCache, EncoderDecoderCache

    if is_enc_dec:
        return EncoderDecoderCache(DynamicCache(config=config), DynamicCache(config=config))
    return DynamicCache(config=config)
