"""The pure build step of :class:`~attn_widget.AttentionWidget`: user inputs → synced trait values.

:func:`build` validates what users pass (attention in any form, tokens, masks, layer selections,
aggregations), encodes the blocks with :mod:`attn_widget.wire` and returns a :class:`Build`: the
trait values, the :class:`TileServer` of tiled transport, and what head statistics are computed from
when first asked for (:meth:`Build.head_stats`). No widget, no comm: it can be tested and timed alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .analysis import SPECIAL_TOKENS, attention_flow, attention_rollout, head_statistics
from .arrays import LazyAttention, check_indices, check_tokens, tile, to_attention_array
from .arrays import prettify_tokens as _prettify
from .errors import AttentionInputError
from .wire import SCHEMA, full_block, stats_payload, tile_message, tiled_block

FILTERS = tuple(SCHEMA["traits"]["attention_filter"]["values"])
#: What the head and model views draw: the weights, or rollout / flow / value-weighted attention
#: (attn_widget.analysis) computed in the kernel and sent as extra blocks (``aggregation_data``).
AGGREGATIONS = tuple(SCHEMA["traits"]["aggregation"]["values"])
TRANSPORTS = ("auto", "full", "tiles")
#: With transport="auto", attention larger than this (encoded) is sent as thumbnails + tiles on demand.
FULL_TRANSPORT_MAX_BYTES = 64 * 2**20
#: Largest tile the kernel computes for one request, in cells per head (a 2,048 × 2,048 window).
MAX_TILE_CELLS = 2048 * 2048
#: The parameters of a tile request (schema ``rpc.methods.tile.params``).
TILE_PARAMS = tuple(SCHEMA["rpc"]["methods"]["tile"]["params"])


class TileServer:
    """Full-resolution windows of tiled blocks, answered on request (the schema's ``tile`` method)."""

    def __init__(self, sources: dict[str, Any]) -> None:
        #: ``{kind: (layers, heads, query, key)}`` arrays or :class:`~attn_widget.arrays.LazyAttention`.
        self.sources = sources

    def window(self, params: dict) -> np.ndarray:
        """Validate a tile request and compute it: float32 ``(heads, rows, cols)``, max-pooled by ``step``.

        Every bad request raises :class:`~attn_widget.errors.AttentionInputError` with a message for people.
        """
        if not isinstance(params, dict):
            raise AttentionInputError(f"tile params must be an object with {list(TILE_PARAMS)}")
        missing = [k for k in TILE_PARAMS if k not in params]
        if missing:
            raise AttentionInputError(f"tile request lacks {missing}; it needs {list(TILE_PARAMS)}")
        if params["kind"] not in self.sources:
            raise AttentionInputError(f"tile kind {params['kind']!r} is not one of {list(self.sources)}")
        source = self.sources[params["kind"]]
        layers, n_heads, nq, nk = source.shape
        try:
            layer, step, q0, q1, k0, k1 = (int(params[k]) for k in ("layer", "step", "q0", "q1", "k0", "k1"))
            heads = check_indices(params["heads"], n_heads, "heads", "head")
        except (TypeError, ValueError) as err:
            raise AttentionInputError(f"tile params must be whole numbers and a list of heads: {err}") from None
        if not (
            0 <= layer < layers
            and 0 <= q0 < q1 <= nq
            and 0 <= k0 < k1 <= nk
            and 1 <= step <= max(q1 - q0, k1 - k0)
            and heads
        ):
            raise AttentionInputError(
                f"window layer={layer} q={q0}:{q1} k={k0}:{k1} step={step} is outside {tuple(source.shape)}"
            )
        if -(-(q1 - q0) // step) * -(-(k1 - k0) // step) > MAX_TILE_CELLS:
            raise AttentionInputError(
                f"window of {(q1 - q0) // step} × {(k1 - k0) // step} cells is larger than {MAX_TILE_CELLS}"
            )
        return tile(source, layer, heads, q0, q1, k0, k1, step)

    def __call__(self, params: dict) -> tuple[dict, list[bytes]]:
        """The RPC answer: ``{rows, cols, scale}`` and one uint8 buffer ``(heads, rows, cols)``."""
        result, buffer = tile_message(self.window(params))
        return result, [buffer]


@dataclass
class Build:
    """What :func:`build` gives the widget."""

    #: Synced trait values, ready for the widget's constructor.
    traits: dict[str, Any]
    #: Answers tile requests with tiled transport; ``None`` with full transport.
    tiles: TileServer | None
    #: Self-attention ``(layers, heads, query, key)`` and tokens head statistics are computed from;
    #: ``None`` where they are not offered (encoder-decoder, tiled transport, differences).
    stats_input: tuple[np.ndarray, list[str]] | None

    def head_stats(self) -> dict:
        """The ``head_stats`` trait value (:func:`attn_widget.analysis.head_statistics`), or ``{}``."""
        return {} if self.stats_input is None else stats_payload(head_statistics(*self.stats_input))


def build(
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
) -> Build:
    """Validate the inputs of :class:`~attn_widget.AttentionWidget` (see its docstring) and encode them.

    ``traits`` are further trait values (view, layer, heads, ...), returned with defaults filled in.
    """
    if transport not in TRANSPORTS:
        raise AttentionInputError(f"transport must be 'auto', 'full' or 'tiles', got {transport!r}")
    signed = bool(traits.get("signed", False))
    if signed and encoding != "float16":
        raise AttentionInputError("signed data (differences) are sent as float16; pass encoding='float16'")
    blocks, tok, dec_tok = _collect_blocks(
        attention,
        tokens,
        encoder_attention,
        decoder_attention,
        cross_attention,
        encoder_tokens,
        decoder_tokens,
        batch_index,
        attention_mask,
        decoder_attention_mask,
        signed,
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
        raise AttentionInputError("LazyAttention is sent as tiles; use transport='auto' or 'tiles'")
    if signed and tiled:
        raise AttentionInputError(
            f"a difference of {full_bytes / 2**20:.0f} MiB is sent whole (tiles are unsigned); "
            "pass include_layers= or transport='full'"
        )
    if tiled:
        notes |= {k: "not available with tiled transport (the attention is too large to send whole)" for k in extra}
        extra = {}
    source = blocks.get("self")
    traits.update(
        tokens=tok,
        decoder_tokens=dec_tok,
        sentence_b_start=sentence_b_start,
        layer_numbers=layer_numbers,
        head_numbers=list(head_numbers or []),
        attention_data={k: tiled_block(a) if tiled else full_block(a, encoding) for k, a in blocks.items()},
        aggregation_data={k: full_block(a, encoding) for k, a in extra.items()},
        aggregation_notes=notes,
    )
    return Build(
        traits,
        TileServer(blocks) if tiled else None,
        (source, tok) if source is not None and not tiled and not signed else None,
    )


def _aggregations(
    source: Any, names: Sequence[str], value_weighted: Any, layer_numbers: list[int], head_numbers: Any, signed: bool
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Arrays of the aggregation blocks — rollout ``(layers, 1, q, k)``, flow ``(1, 1, q, k)``, value
    ``(layers, heads, q, k)`` — and ``{name: reason}`` for those asked for that cannot be computed."""
    unknown = set(names) - {"rollout", "flow", "value"}
    if unknown:
        raise AttentionInputError(f"aggregations must be among 'rollout', 'flow', 'value'; got {sorted(unknown)}")
    if "value" in names and value_weighted is None:
        raise AttentionInputError(
            "value-weighted attention needs the model: from_model(..., aggregations=('value',)) or value_weighted="
        )
    if not (names or value_weighted is not None):
        return {}, {}
    if source is None or signed:
        raise AttentionInputError(
            "aggregations apply to self-attention probabilities (not encoder-decoder models or diffs)"
        )
    out: dict[str, np.ndarray] = {}
    notes: dict[str, str] = {}
    if value_weighted is not None:
        out["value"] = to_attention_array(value_weighted, name="value_weighted")
        if out["value"].shape != source.shape:
            raise AttentionInputError(
                f"value_weighted has shape {out['value'].shape}; the attention has {tuple(source.shape)}"
            )
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
    attention,
    tokens,
    encoder_attention,
    decoder_attention,
    cross_attention,
    encoder_tokens,
    decoder_tokens,
    batch_index,
    attention_mask,
    decoder_attention_mask,
    signed=False,
) -> tuple[dict[str, np.ndarray], list[str], list[str]]:
    """Validate inputs and return ({kind: (layers, heads, query, key)}, tokens, decoder tokens);
    ``signed`` admits negative self-attention values (differences)."""
    enc_dec = any(a is not None for a in (encoder_attention, decoder_attention, cross_attention))
    if enc_dec and attention is not None:
        raise AttentionInputError("pass either attention (self-attention) or encoder/decoder/cross attention, not both")
    if not enc_dec:
        if attention is None:
            raise AttentionInputError(
                "no attention given: pass attention=, or encoder_attention=/decoder_attention=/cross_attention="
            )
        if isinstance(attention, LazyAttention):
            if attention_mask is not None:
                raise AttentionInputError("LazyAttention holds one unpadded sequence; attention_mask does not apply")
            a = attention
        else:
            a = to_attention_array(
                attention, batch_index=batch_index, query_mask=attention_mask, key_mask=attention_mask, signed=signed
            )
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
            encoder_attention,
            name="encoder_attention",
            batch_index=batch_index,
            query_mask=attention_mask,
            key_mask=attention_mask,
        )
        encoder_tokens = _unpad_tokens(
            encoder_tokens or tokens, attention_mask, batch_index, blocks["encoder"].shape[3]
        )
        enc_tok = check_tokens(encoder_tokens, blocks["encoder"].shape[3], "encoder key", "encoder_tokens")
    if decoder_attention is not None:
        blocks["decoder"] = to_attention_array(
            decoder_attention,
            name="decoder_attention",
            batch_index=batch_index,
            query_mask=decoder_attention_mask,
            key_mask=decoder_attention_mask,
        )
        decoder_tokens = _unpad_tokens(decoder_tokens, decoder_attention_mask, batch_index, blocks["decoder"].shape[3])
        dec_tok = check_tokens(decoder_tokens, blocks["decoder"].shape[3], "decoder key", "decoder_tokens")
    if cross_attention is not None:
        blocks["cross"] = c = to_attention_array(
            cross_attention,
            name="cross_attention",
            batch_index=batch_index,
            query_mask=decoder_attention_mask,
            key_mask=attention_mask,
        )
        if enc_tok is None:
            enc_tok = check_tokens(
                _unpad_tokens(encoder_tokens or tokens, attention_mask, batch_index, c.shape[3]),
                c.shape[3],
                "cross-attention key (encoder)",
                "encoder_tokens",
            )
        if dec_tok is None:
            dec_tok = check_tokens(
                _unpad_tokens(decoder_tokens, decoder_attention_mask, batch_index, c.shape[2]),
                c.shape[2],
                "cross-attention query (decoder)",
                "decoder_tokens",
            )
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
