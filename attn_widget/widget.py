"""``AttentionWidget``: attention of a transformer, drawn on canvas in the notebook."""

from __future__ import annotations

import pathlib
from collections.abc import Sequence
from typing import Any

import anywidget
import numpy as np
import traitlets as t

from .analysis import SPECIAL_TOKENS, attention_flow, attention_rollout, head_statistics
from .extract import AttentionResult
from .inputs import AttentionInputError, check_indices, check_tokens, prettify_tokens as _prettify, to_attention_array
from .lazy import LazyAttention, thumbnails, tile
from .qk import neuron_payload
from .quantize import quantize_attention

STATIC = pathlib.Path(__file__).parent / "static"

FILTERS = ("all", "aa", "bb", "ab", "ba", "encoder", "decoder", "cross")
#: What the head and model views draw: the weights, or rollout / flow / value-weighted attention
#: (attn_widget.analysis) computed in the kernel and sent as extra blocks (``aggregation_data``).
AGGREGATIONS = ("raw", "rollout", "flow", "value")
#: With transport="auto", attention larger than this (encoded) is sent as thumbnails + tiles on demand.
FULL_TRANSPORT_MAX_BYTES = 64 * 2**20
#: Side of the per-head thumbnails of tiled transport (max-pooled; 32 × 32 heads ≈ 4 MB).
THUMBNAIL_SIZE = 64
#: Largest tile the kernel computes for one request, in cells per head (a 2,048 × 2,048 window).
MAX_TILE_CELLS = 2048 * 2048


class AttentionWidget(anywidget.AnyWidget):
    """Head, model and neuron views of transformer attention.

    Attention tensors travel to the browser as binary buffers (see :mod:`attn_widget.quantize`),
    one per layer, in ``attention_data``; everything else is small JSON. Selection is two-way:
    clicks in the browser update ``layer``/``heads``/``view`` here, and setting them here redraws.
    """

    _esm = STATIC / "widget.js"
    _css = STATIC / "widget.css"

    # --- data (set once, by the constructor) ---
    tokens = t.List(t.Unicode(), help="Tokens of the (encoder) input, one per key position.").tag(sync=True)
    decoder_tokens = t.List(t.Unicode(), help="Decoder tokens of an encoder-decoder model; else empty.").tag(sync=True)
    sentence_b_start = t.Int(None, allow_none=True, help="Index of the first token of sentence B, if a pair.").tag(sync=True)
    attention_data = t.Dict(
        help="{kind: {shape: [layers, heads, query, key], dtype, scale: (layers, heads), layers: [bytes]}}; "
        "kind is 'self', or 'encoder'/'decoder'/'cross'."
    ).tag(sync=True)
    layer_numbers = t.List(t.Int(), help="Model layer number of each stored layer (include_layers).").tag(sync=True)
    head_numbers = t.List(t.Int(), help="Model head number of each stored head when only some were extracted; empty: 0, 1, ...").tag(sync=True)
    num_kv_heads = t.Int(0, help="KV heads of a grouped-query model (query head h reads KV head h // (heads / num_kv_heads)); 0: not grouped.").tag(sync=True)
    neuron_data = t.Dict(
        help="Queries/keys for the neuron view: attn_widget.qk.neuron_payload (float16 buffers, one per layer) "
        "plus causal (bool); empty without q/k."
    ).tag(sync=True)
    aggregation_data = t.Dict(
        help="Blocks like attention_data's, by name: 'rollout' (layers, 1, q, k) cumulative rollout up to each layer, "
        "'flow' (1, 1, q, k) flow through all layers, 'value' (layers, heads, q, k) value-weighted norms (rows sum 1)."
    ).tag(sync=True)
    aggregation_notes = t.Dict(t.Unicode(), help="{name: why it is not available} for aggregations asked for but not computed.").tag(sync=True)
    special_positions = t.List(t.Int(), help="Positions of special tokens in tokens (hidden by hide_special).").tag(sync=True)
    decoder_special_positions = t.List(t.Int(), help="Positions of special tokens in decoder_tokens.").tag(sync=True)
    head_stats = t.Dict(
        help="attn_widget.analysis.head_statistics of the self-attention: {names, shape: [layers, heads], values: "
        "float32 little-endian bytes (names, layers, heads)}; empty for encoder-decoder, tiled or signed data."
    ).tag(sync=True)
    signed = t.Bool(False, help="attention_data holds signed differences (AttentionWidget.diff), float16, drawn with a diverging palette.").tag(sync=True)

    # --- view state (two-way) ---
    view = t.Enum(("head", "model", "neuron", "summary"), "head", help="Which view is shown ('summary': table of head_stats).").tag(sync=True)
    aggregation = t.Enum(AGGREGATIONS, "raw", help="What the head and model views draw (one of 'raw' and the keys of aggregation_data).").tag(sync=True)
    hide_special = t.Bool(False, help="Drop special-token rows/columns and renormalise rows (exBERT), in the browser.").tag(sync=True)
    layer = t.Int(0, help="Model layer number shown in the head view (one of layer_numbers).").tag(sync=True)
    heads = t.List(t.Int(), help="Heads selected in the head view (empty: none).").tag(sync=True)
    head = t.Int(0, help="Head shown in the neuron view.").tag(sync=True)
    include_heads = t.List(t.Int(), help="Heads shown in the model view (empty: all).").tag(sync=True)
    attention_filter = t.Enum(FILTERS, "all", help="Which block of a sentence pair or encoder-decoder is shown.").tag(sync=True)
    mode = t.Enum(("auto", "lines", "heatmap"), "auto", help="Head view drawing: lines, heatmap, or auto (heatmap above 96 tokens).").tag(sync=True)
    theme = t.Enum(("auto", "light", "dark"), "auto", help="'auto' follows JupyterLab's light/dark theme.").tag(sync=True)

    def __init__(
        self,
        attention: Any = None,
        tokens: Sequence[str] | None = None,
        *,
        sentence_b_start: int | None = None,
        encoder_attention: Any = None,
        decoder_attention: Any = None,
        cross_attention: Any = None,
        encoder_tokens: Sequence[str] | None = None,
        decoder_tokens: Sequence[str] | None = None,
        include_layers: Sequence[int] | None = None,
        layer_numbers: Sequence[int] | None = None,
        head_numbers: Sequence[int] | None = None,
        batch_index: int = 0,
        attention_mask: Any = None,
        decoder_attention_mask: Any = None,
        prettify_tokens: bool = False,
        encoding: str = "uint8",
        transport: str = "auto",
        aggregations: Sequence[str] = (),
        value_weighted: Any = None,
        special_tokens: Sequence[str] | None = None,
        **traits: Any,
    ) -> None:
        """Build the widget from attention tensors.

        ``attention``: self-attention as transformers returns it (tuple of per-layer
        ``(batch, heads, query, key)``), or an array ``(layers, [batch,] heads, query, key)``.
        For encoder-decoder models pass ``encoder_attention``/``decoder_attention``/``cross_attention``
        with ``encoder_tokens``/``decoder_tokens`` instead. ``attention_mask`` (and
        ``decoder_attention_mask``) remove padding; ``encoding`` is ``"uint8"`` or ``"float16"``.

        ``transport``: ``"full"`` sends every weight; ``"tiles"`` sends max-pooled thumbnails
        (``THUMBNAIL_SIZE``² per head) and serves full-resolution windows on demand through custom
        messages; ``"auto"`` picks tiles above ``FULL_TRANSPORT_MAX_BYTES`` or for a
        :class:`~attn_widget.lazy.LazyAttention`.

        ``aggregations``: any of ``"rollout"``, ``"flow"`` (self-attention of every layer and head, full
        transport; flow up to ``analysis.FLOW_MAX_TOKENS`` tokens, else it is listed in
        ``aggregation_notes`` with the reason). ``value_weighted``: per-head value-weighted attention
        ``(layers, heads, query, key)`` (``from_model(..., aggregations=("value",))`` computes it).
        ``special_tokens`` (default :data:`attn_widget.analysis.SPECIAL_TOKENS`) mark the positions
        ``hide_special`` hides. ``signed=True`` (see :meth:`diff`) takes differences, sent as float16.
        """
        if transport not in ("auto", "full", "tiles"):
            raise ValueError(f"transport must be 'auto', 'full' or 'tiles', got {transport!r}")
        signed = bool(traits.get("signed", False))
        if signed and encoding != "float16":
            raise ValueError("signed data (differences) are sent as float16; pass encoding='float16'")
        blocks, tok, dec_tok = _collect_blocks(
            attention, tokens, encoder_attention, decoder_attention, cross_attention,
            encoder_tokens, decoder_tokens, batch_index, attention_mask, decoder_attention_mask, signed,
        )
        n_layers, n_heads = next(iter(blocks.values())).shape[:2]
        special = set(SPECIAL_TOKENS if special_tokens is None else special_tokens)
        traits["special_positions"] = [i for i, s in enumerate(tok) if s in special]
        traits["decoder_special_positions"] = [i for i, s in enumerate(dec_tok) if s in special]
        stored = list(range(n_layers)) if layer_numbers is None else [int(n) for n in layer_numbers]
        for name, numbers, count in (("layer_numbers", stored, n_layers), ("head_numbers", head_numbers, n_heads)):
            if numbers is not None and len(numbers) != count:
                raise AttentionInputError(f"{name} has {len(numbers)} entries for {count} {name.split('_')[0]}s")
        layer_numbers = stored
        if isinstance(aggregations, str):
            aggregations = (aggregations,)
        extra, notes = _aggregations(blocks.get("self"), aggregations, value_weighted, stored, head_numbers, signed)
        if include_layers is not None:
            if not len(include_layers):
                raise AttentionInputError("include_layers is empty: select at least one layer")
            missing = [n for n in include_layers if n not in stored]
            if missing:
                raise AttentionInputError(f"include_layers has layer {missing[0]}, but the attention holds layers {stored}")
            index = [stored.index(n) for n in include_layers]
            layer_numbers = [stored[i] for i in index]
            blocks = {k: a.select_layers(index) if isinstance(a, LazyAttention) else a[index] for k, a in blocks.items()}
            extra = {k: a if k == "flow" else a[index] for k, a in extra.items()}
        if prettify_tokens:
            tok, dec_tok = _prettify(tok), _prettify(dec_tok)
        if sentence_b_start is not None and not 0 <= sentence_b_start <= len(tok):
            raise AttentionInputError(f"sentence_b_start={sentence_b_start} is outside the {len(tok)} tokens")
        traits.setdefault("layer", layer_numbers[0])
        traits.setdefault("heads", list(range(n_heads)))
        if "self" not in blocks:  # encoder-decoder: show the first block there is
            traits.setdefault("attention_filter", next(k for k in ("encoder", "decoder", "cross") if k in blocks))
        full_bytes = sum(int(np.prod(a.shape)) for a in blocks.values()) * (1 if encoding == "uint8" else 2)
        lazy = any(isinstance(a, LazyAttention) for a in blocks.values())
        tiled = transport == "tiles" or (transport == "auto" and (lazy or full_bytes > FULL_TRANSPORT_MAX_BYTES))
        if lazy and not tiled:
            raise ValueError("LazyAttention is sent as tiles; use transport='auto' or 'tiles'")
        if signed and tiled:
            raise AttentionInputError(
                f"a difference of {full_bytes / 2**20:.0f} MiB is sent whole (tiles are unsigned); "
                "pass include_layers= or transport='full'"
            )
        if tiled:
            notes |= {k: "not available with tiled transport (the attention is too large to send whole)" for k in extra}
            extra = {}
        source = blocks.get("self")
        if source is not None and not tiled and not signed:
            stats = head_statistics(source, tok)
            traits["head_stats"] = {"names": list(stats), "shape": list(source.shape[:2]),
                                    "values": np.stack(list(stats.values())).astype("<f4").tobytes()}
        #: Kernel-side sources of tiled blocks (None with full transport).
        self._sources = blocks if tiled else None
        data = {k: _tiled_state(a) if tiled else quantize_attention(a, encoding).to_state() for k, a in blocks.items()}
        super().__init__(
            tokens=tok,
            decoder_tokens=dec_tok,
            sentence_b_start=sentence_b_start,
            layer_numbers=layer_numbers,
            head_numbers=list(head_numbers or []),
            attention_data=data,
            aggregation_data={k: quantize_attention(a, encoding).to_state() for k, a in extra.items()},
            aggregation_notes=notes,
            **traits,
        )
        if tiled:
            self.on_msg(self._answer_tile_request)

    def _answer_tile_request(self, _widget: Any, content: dict, _buffers: list) -> None:
        """Answer ``{"type": "tile", "request", "kind", "layer", "heads", "q0", "q1", "k0", "k1", "step"}``
        with the max-pooled window as one uint8 buffer ``(heads, rows, cols)`` and per-head ``scale``."""
        if not isinstance(content, dict) or content.get("type") != "tile":
            return
        reply = {"type": "tile", "request": content.get("request")}
        try:
            window = _tile_window(self._sources, content)
        except (AttentionInputError, KeyError, TypeError, ValueError, MemoryError) as err:
            self.send({**reply, "error": f"tile request refused: {err}"})
            return
        encoded = quantize_attention(window[None])
        self.send({**reply, "rows": window.shape[1], "cols": window.shape[2], "scale": encoded.scale[0].tolist()},
                  buffers=encoded.layers)

    @classmethod
    def from_result(cls, result: AttentionResult, **options: Any) -> AttentionWidget:
        """Widget showing ``result``; with queries/keys (``extract_attention(..., with_qk=True)``) it
        also has the neuron view (``view="neuron"``). ``options`` go to the constructor."""
        if result.queries is not None:
            include = options.get("include_layers")
            stored = result.layer_numbers or list(range(len(result.queries)))
            missing = [n for n in include or [] if n not in stored]
            if missing:
                raise AttentionInputError(f"include_layers has layer {missing[0]}, but the extracted layers are {stored}")
            layers = None if include is None else [stored.index(n) for n in include]
            causal = bool(np.all(np.triu(result.attention, 1) == 0))
            options["neuron_data"] = {**neuron_payload(result, layers), "causal": causal}
        return cls(**result.widget_kwargs(), **options)

    @classmethod
    def diff(cls, a: Any, b: Any, tokens: Sequence[str] | None = None, **options: Any) -> AttentionWidget:
        """Widget of ``a − b`` per head: two inputs of equal length, or two checkpoints of one architecture.

        ``a``, ``b``: :class:`~attn_widget.extract.AttentionResult` or self-attention as the constructor
        takes it, both ``(layers, heads, query, key)`` of the same shape. ``tokens`` default to the
        results' (``"x|y"`` where the two inputs differ). The difference travels as float16 (signed;
        relative error ≤ 2⁻¹¹) and is drawn blue where ``a > b``, orange where ``a < b``, transparent at 0.
        """
        arrays, token_lists = [], []
        for name, x in (("a", a), ("b", b)):
            if isinstance(x, AttentionResult):
                if x.is_encoder_decoder:
                    raise AttentionInputError(f"{name} is an encoder-decoder result; diff compares self-attention")
                token_lists.append(x.tokens)
                x = x.attention
            if isinstance(x, LazyAttention):
                raise AttentionInputError(f"{name} is computed on demand (too large to hold); diff needs attention that fits in memory")
            arrays.append(to_attention_array(x, name=name))
        if arrays[0].shape != arrays[1].shape:
            raise AttentionInputError(
                f"a has shape {arrays[0].shape} and b {arrays[1].shape}; diff needs equal (layers, heads, query, key): "
                "one architecture and inputs of the same length"
            )
        if tokens is None and not token_lists:
            raise AttentionInputError("tokens are required when a and b are arrays")
        if tokens is None:
            tokens = token_lists[0] if len(token_lists) == 1 else [x if x == y else f"{x}|{y}" for x, y in zip(*token_lists)]
        for fixed in ("encoding", "signed"):  # the difference is signed: always float16
            options.pop(fixed, None)
        if isinstance(a, AttentionResult):  # keep the model's layer/head numbers
            options.setdefault("layer_numbers", a.layer_numbers)
            options.setdefault("head_numbers", a.head_numbers)
        return cls(arrays[0] - arrays[1], tokens, encoding="float16", signed=True, **options)

    @property
    def num_layers(self) -> int:
        return len(self.layer_numbers)

    @property
    def num_heads(self) -> int:
        return next(iter(self.attention_data.values()))["shape"][1]

    @t.validate("layer")
    def _valid_layer(self, proposal: dict) -> int:
        if self.layer_numbers and proposal["value"] not in self.layer_numbers:
            raise t.TraitError(f"layer {proposal['value']} is not shown; choose one of {self.layer_numbers}")
        return proposal["value"]

    @t.validate("head")
    def _valid_head(self, proposal: dict) -> int:
        if self.attention_data and not 0 <= proposal["value"] < self.num_heads:
            where = f"the extracted heads {self.head_numbers}" if self.head_numbers else "the model's heads"
            raise AttentionInputError(f"head {proposal['value']} is outside {where}: positions 0..{self.num_heads - 1}")
        return proposal["value"]

    @t.validate("attention_filter")
    def _valid_filter(self, proposal: dict) -> str:
        value = proposal["value"]
        if "self" in self.attention_data:
            pair = self.sentence_b_start is not None and 0 < self.sentence_b_start < len(self.tokens)
            allowed = FILTERS[:5] if pair else ("all",)
        else:
            allowed = tuple(k for k in ("encoder", "decoder", "cross") if k in self.attention_data)
        if self.attention_data and value not in allowed:
            raise t.TraitError(f"attention_filter {value!r} does not apply here; choose one of {list(allowed)}")
        return value

    @t.validate("view")
    def _valid_view(self, proposal: dict) -> str:
        if proposal["value"] == "neuron" and not self.neuron_data:
            raise t.TraitError(
                "the neuron view needs queries and keys: use from_model(..., view='neuron') or "
                "AttentionWidget.from_result(extract_attention(..., with_qk=True))"
            )
        if proposal["value"] == "summary" and not self.head_stats:
            raise t.TraitError("the summary view needs head statistics, computed for self-attention held in memory (not diffs)")
        return proposal["value"]

    @t.validate("aggregation")
    def _valid_aggregation(self, proposal: dict) -> str:
        name = proposal["value"]
        if name != "raw" and name not in self.aggregation_data:
            why = self.aggregation_notes.get(name, f"pass aggregations=({name!r},) to the constructor or from_model")
            raise t.TraitError(f"aggregation {name!r} is not available: {why}")
        return name

    @t.validate("hide_special")
    def _valid_hide_special(self, proposal: dict) -> bool:
        if proposal["value"] and self._sources is not None:
            raise t.TraitError("hiding special tokens renormalises rows in the browser, which holds only thumbnails with tiled transport")
        return proposal["value"]

    @t.validate("heads", "include_heads")
    def _valid_heads(self, proposal: dict) -> list[int]:
        if self.attention_data:
            self._check_head_positions(proposal["value"], proposal["trait"].name)
        return sorted(set(proposal["value"]))

    def _check_head_positions(self, values: Sequence[int], name: str) -> None:
        """Head selections are positions 0..num_heads-1 in the stored heads; say so when only some model
        heads were extracted (``head_numbers``)."""
        try:
            check_indices(values, self.num_heads, name, "head")
        except AttentionInputError as err:
            if not self.head_numbers:
                raise
            raise AttentionInputError(
                f"{name} selects positions 0..{self.num_heads - 1} among the extracted heads {self.head_numbers} "
                f"(model head {self.head_numbers[0]} is position 0), got {list(values)}"
            ) from err

    def _repr_mimebundle_(self, **kwargs: Any):
        """anywidget's bundle (the live view, which JupyterLab prefers) plus, for front ends without the
        widget manager, a summary, PNG thumbnails and offline HTML (:func:`attn_widget.export.fallback_bundle`)."""
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        from .export import fallback_bundle

        data, metadata = bundle
        return {**data, **fallback_bundle(self)}, metadata

    def save_image(self, path: str | pathlib.Path, timeout: float = 30.0):
        """Save the displayed view as PNG or SVG (by ``path``'s suffix); returns a ``concurrent.futures.Future``
        that gives ``path`` once a view has answered, which happens after the current cell finishes
        (see :mod:`attn_widget.images`)."""
        from .images import request_image

        return request_image(self, path, timeout)

    def to_html(self, title: str = "attn-widget") -> str:
        """One self-contained HTML page (renderer and data inline) that works offline."""
        from .export import widget_html

        return widget_html([self], title=title)

    def save_html(self, path: str | pathlib.Path, title: str = "attn-widget") -> pathlib.Path:
        """Write :meth:`to_html` to ``path`` and return the path."""
        path = pathlib.Path(path)
        path.write_text(self.to_html(title=title), encoding="utf-8")
        return path


def _tiled_state(source: Any) -> dict:
    """Block state of tiled transport: shape, no full layers, and max-pooled uint8 thumbnails per layer."""
    pooled, step = thumbnails(source, THUMBNAIL_SIZE)
    thumbs = quantize_attention(np.stack(pooled))
    return {
        "shape": list(source.shape), "dtype": "uint8", "scale": thumbs.scale.tolist(), "layers": [], "tiled": True,
        "thumbs": {"step": step, "shape": list(pooled[0].shape[1:]), "layers": thumbs.layers},
    }


def _tile_window(sources: dict, request: dict) -> np.ndarray:
    """Validate a tile request against the sources and compute it: float32 ``(heads, rows, cols)``."""
    source = sources[request["kind"]]
    layers, n_heads, nq, nk = source.shape
    layer, step = int(request["layer"]), int(request["step"])
    heads = check_indices(request["heads"], n_heads, "heads", "head")
    q0, q1, k0, k1 = (int(request[k]) for k in ("q0", "q1", "k0", "k1"))
    if not (0 <= layer < layers and 0 <= q0 < q1 <= nq and 0 <= k0 < k1 <= nk and 1 <= step <= max(q1 - q0, k1 - k0) and heads):
        raise AttentionInputError(f"window layer={layer} q={q0}:{q1} k={k0}:{k1} step={step} is outside {tuple(source.shape)}")
    if -(-(q1 - q0) // step) * -(-(k1 - k0) // step) > MAX_TILE_CELLS:
        raise AttentionInputError(f"window of {(q1 - q0) // step} × {(k1 - k0) // step} cells is larger than {MAX_TILE_CELLS}")
    return tile(source, layer, heads, q0, q1, k0, k1, step)


def _aggregations(
    source: Any, names: Sequence[str], value_weighted: Any, layer_numbers: list[int], head_numbers: Any, signed: bool
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Arrays of the aggregation blocks — rollout ``(layers, 1, q, k)``, flow ``(1, 1, q, k)``, value
    ``(layers, heads, q, k)`` — and ``{name: reason}`` for those asked for that cannot be computed."""
    unknown = set(names) - {"rollout", "flow", "value"}
    if unknown:
        raise ValueError(f"aggregations must be among 'rollout', 'flow', 'value'; got {sorted(unknown)}")
    if "value" in names and value_weighted is None:
        raise ValueError("value-weighted attention needs the model: from_model(..., aggregations=('value',)) or value_weighted=")
    if not (names or value_weighted is not None):
        return {}, {}
    if source is None or signed:
        raise AttentionInputError("aggregations apply to self-attention probabilities (not encoder-decoder models or diffs)")
    out: dict[str, np.ndarray] = {}
    notes: dict[str, str] = {}
    if value_weighted is not None:
        out["value"] = to_attention_array(value_weighted, name="value_weighted")
        if out["value"].shape != source.shape:
            raise AttentionInputError(f"value_weighted has shape {out['value'].shape}; the attention has {tuple(source.shape)}")
    whole = layer_numbers == list(range(source.shape[0])) and not head_numbers
    for name in (n for n in ("rollout", "flow") if n in names):
        if isinstance(source, LazyAttention) or not whole:
            notes[name] = f"{name} needs every layer and head of the model in memory"
        elif name == "rollout":
            out[name] = attention_rollout(source, per_layer=True)[:, None]
        else:
            try:
                out[name] = attention_flow(source)[None, None]
            except ValueError as err:
                notes[name] = str(err)
    return out, notes


def _collect_blocks(
    attention, tokens, encoder_attention, decoder_attention, cross_attention,
    encoder_tokens, decoder_tokens, batch_index, attention_mask, decoder_attention_mask, signed=False,
) -> tuple[dict[str, np.ndarray], list[str], list[str]]:
    """Validate inputs and return ({kind: (layers, heads, query, key)}, tokens, decoder tokens);
    ``signed`` admits negative self-attention values (differences)."""
    enc_dec = any(a is not None for a in (encoder_attention, decoder_attention, cross_attention))
    if enc_dec and attention is not None:
        raise AttentionInputError("pass either attention (self-attention) or encoder/decoder/cross attention, not both")
    if not enc_dec:
        if attention is None:
            raise AttentionInputError("no attention given: pass attention=, or encoder_attention=/decoder_attention=/cross_attention=")
        if isinstance(attention, LazyAttention):
            if attention_mask is not None:
                raise AttentionInputError("LazyAttention holds one unpadded sequence; attention_mask does not apply")
            a = attention
        else:
            a = to_attention_array(attention, batch_index=batch_index, query_mask=attention_mask, key_mask=attention_mask, signed=signed)
        if a.shape[2] != a.shape[3]:
            raise AttentionInputError(
                f"self-attention must be square (query == key), got {a.shape[2]} × {a.shape[3]}; "
                "for cross attention pass cross_attention= with encoder_tokens and decoder_tokens"
            )
        tokens = _unpad_tokens(tokens, attention_mask, batch_index, a.shape[3])
        return {"self": a}, check_tokens(tokens, a.shape[3], "key"), []

    blocks: dict[str, np.ndarray] = {}
    enc_tok = dec_tok = None
    if encoder_attention is not None:
        blocks["encoder"] = to_attention_array(
            encoder_attention, name="encoder_attention", batch_index=batch_index,
            query_mask=attention_mask, key_mask=attention_mask,
        )
        encoder_tokens = _unpad_tokens(encoder_tokens or tokens, attention_mask, batch_index, blocks["encoder"].shape[3])
        enc_tok = check_tokens(encoder_tokens, blocks["encoder"].shape[3], "encoder key", "encoder_tokens")
    if decoder_attention is not None:
        blocks["decoder"] = to_attention_array(
            decoder_attention, name="decoder_attention", batch_index=batch_index,
            query_mask=decoder_attention_mask, key_mask=decoder_attention_mask,
        )
        decoder_tokens = _unpad_tokens(decoder_tokens, decoder_attention_mask, batch_index, blocks["decoder"].shape[3])
        dec_tok = check_tokens(decoder_tokens, blocks["decoder"].shape[3], "decoder key", "decoder_tokens")
    if cross_attention is not None:
        blocks["cross"] = c = to_attention_array(
            cross_attention, name="cross_attention", batch_index=batch_index,
            query_mask=decoder_attention_mask, key_mask=attention_mask,
        )
        if enc_tok is None:
            enc_tok = check_tokens(_unpad_tokens(encoder_tokens or tokens, attention_mask, batch_index, c.shape[3]),
                                   c.shape[3], "cross-attention key (encoder)", "encoder_tokens")
        if dec_tok is None:
            dec_tok = check_tokens(_unpad_tokens(decoder_tokens, decoder_attention_mask, batch_index, c.shape[2]),
                                   c.shape[2], "cross-attention query (decoder)", "decoder_tokens")
        check_tokens(enc_tok, c.shape[3], "cross-attention key (encoder)", "encoder_tokens")
        check_tokens(dec_tok, c.shape[2], "cross-attention query (decoder)", "decoder_tokens")
    shapes = {k: a.shape[:2] for k, a in blocks.items()}
    if len(set(shapes.values())) > 1:
        raise AttentionInputError(f"encoder/decoder/cross attention differ in (layers, heads): {shapes}")
    return blocks, enc_tok or [], dec_tok or []


def _unpad_tokens(tokens, mask, batch_index: int, length: int):
    """Drop tokens at padding positions when tokens still include them (len(tokens) == mask length)."""
    if tokens is None or mask is None or len(tokens) == length:
        return tokens
    m = np.asarray(mask.detach().cpu() if hasattr(mask, "detach") else mask)
    if m.ndim == 2:
        m = m[batch_index]
    if len(tokens) == m.shape[0]:
        return [tok for tok, keep in zip(tokens, m) if keep]
    return tokens
