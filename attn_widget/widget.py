"""``AttentionWidget``: attention of a transformer, drawn on canvas in the notebook.

A thin widget over the pure build step (:func:`attn_widget.build.build`): synced traits (declared in
``wire_schema.json``), the validation of selections, and the one RPC endpoint (tiles in, images out).
"""

from __future__ import annotations

import concurrent.futures
import pathlib
from collections.abc import Sequence
from typing import Any

import anywidget
import traitlets as t

from . import export
from .arrays import AttentionResult, LazyAttention, check_indices, to_attention_array
from .build import AGGREGATIONS, FILTERS, build
from .errors import AttentionInputError, SelectionError, check_keywords, parameter_names
from .rpc import RpcEndpoint, RpcError
from .tensorboard.snapshots import read_attention
from .wire import SCHEMA, STATIC, enum_values, neuron_block

#: save_image's file suffixes and the image formats the browser draws.
IMAGE_FORMATS = {".png": "png", ".svg": "svg"}


class _SelectionTrait(t.TraitType):
    """A two-way trait whose bad values raise :class:`~attn_widget.errors.SelectionError`, like the
    widget's own validators: one error type for every bad selection."""

    def error(self, obj: Any, value: Any, error: Exception | None = None, info: str | None = None) -> None:
        try:
            super().error(obj, value, error, info)
        except SelectionError:
            raise
        except t.TraitError as err:
            raise SelectionError(str(err)) from None


class Choice(_SelectionTrait, t.Enum):
    def error(self, obj: Any, value: Any, error: Exception | None = None, info: str | None = None) -> None:
        raise SelectionError(f"{self.name} {value!r} is not one of {list(self.values)}")


class Position(_SelectionTrait, t.Int):
    pass


class Positions(_SelectionTrait, t.List):
    pass


class Flag(_SelectionTrait, t.Bool):
    pass


class AttentionWidget(anywidget.AnyWidget):
    """Head, model and neuron views of transformer attention.

    Attention tensors travel to the browser as binary buffers (see :mod:`attn_widget.wire`),
    one per layer, in ``attention_data``; everything else is small JSON. Selection is two-way:
    clicks in the browser update ``layer``/``heads``/``view`` here, and setting them here redraws.
    """

    _esm = STATIC / "widget.js"
    _css = STATIC / "widget.css"

    # --- data (set once, by the constructor) ---
    tokens = t.List(t.Unicode(), help="Tokens of the (encoder) input, one per key position.").tag(sync=True)
    decoder_tokens = t.List(t.Unicode(), help="Decoder tokens of an encoder-decoder model; else empty.").tag(sync=True)
    sentence_b_start = t.Int(None, allow_none=True, help="Index of the first token of sentence B, if a pair.").tag(
        sync=True
    )
    attention_data = t.Dict(
        help="{kind: {shape: [layers, heads, query, key], dtype, scale: (layers, heads), layers: [bytes]}}; "
        "kind is 'self', or 'encoder'/'decoder'/'cross'."
    ).tag(sync=True)
    layer_numbers = t.List(t.Int(), help="Model layer number of each stored layer (include_layers).").tag(sync=True)
    head_numbers = t.List(
        t.Int(), help="Model head number of each stored head when only some were extracted; empty: 0, 1, ..."
    ).tag(sync=True)
    num_kv_heads = t.Int(
        0,
        help="KV heads of a grouped-query model (query head h reads KV head h // (heads / num_kv_heads)); 0: not grouped.",
    ).tag(sync=True)
    neuron_data = t.Dict(
        help="Queries/keys for the neuron view: attn_widget.wire.neuron_payload (float16 buffers, one per layer) "
        "plus causal (bool); empty without q/k."
    ).tag(sync=True)
    aggregation_data = t.Dict(
        help="Blocks like attention_data's, by name: 'rollout' (layers, 1, q, k) cumulative rollout up to each layer, "
        "'flow' (1, 1, q, k) flow through all layers, 'value' (layers, heads, q, k) value-weighted norms (rows sum 1)."
    ).tag(sync=True)
    aggregation_notes = t.Dict(
        t.Unicode(), help="{name: why it is not available} for aggregations asked for but not computed."
    ).tag(sync=True)
    special_positions = t.List(t.Int(), help="Positions of special tokens in tokens (hidden by hide_special).").tag(
        sync=True
    )
    decoder_special_positions = t.List(t.Int(), help="Positions of special tokens in decoder_tokens.").tag(sync=True)
    head_stats = t.Dict(
        help="attn_widget.analysis.head_statistics of the self-attention: {names, shape: [layers, heads], values: "
        "float32 little-endian bytes (names, layers, heads)}; filled when stats_requested becomes true; "
        "stays empty for encoder-decoder, tiled or signed data."
    ).tag(sync=True)
    signed = t.Bool(
        False,
        help="attention_data holds signed differences (AttentionWidget.diff), float16, drawn with a diverging palette.",
    ).tag(sync=True)

    steps = t.List(t.Int(), help="Training steps with an attention snapshot (from_run); empty otherwise.").tag(
        sync=True
    )

    # --- view state (two-way) ---
    step = Position(0, help="Training step shown, one of steps (from_run): the toolbar's step slider sets it.").tag(
        sync=True
    )
    stats_requested = Flag(
        False, help="Set (by the browser's summary view or 'Colour by') to have the kernel fill head_stats."
    ).tag(sync=True)
    view = Choice(enum_values("view"), "head", help="Which view is shown ('summary': table of head_stats).").tag(
        sync=True
    )
    aggregation = Choice(
        AGGREGATIONS, "raw", help="What the head and model views draw (one of 'raw' and the keys of aggregation_data)."
    ).tag(sync=True)
    hide_special = Flag(
        False, help="Drop special-token rows/columns and renormalise rows (exBERT), in the browser."
    ).tag(sync=True)
    layer = Position(0, help="Model layer number shown in the head view (one of layer_numbers).").tag(sync=True)
    heads = Positions(t.Int(), help="Heads selected in the head view (empty: none).").tag(sync=True)
    head = Position(0, help="Head shown in the neuron view.").tag(sync=True)
    include_heads = Positions(t.Int(), help="Heads shown in the model view (empty: all).").tag(sync=True)
    attention_filter = Choice(FILTERS, "all", help="Which block of a sentence pair or encoder-decoder is shown.").tag(
        sync=True
    )
    mode = Choice(
        SCHEMA["traits"]["mode"]["values"],
        "auto",
        help="Head view drawing: lines, heatmap, or auto (heatmap above 96 tokens).",
    ).tag(sync=True)
    theme = Choice(
        SCHEMA["traits"]["theme"]["values"], "auto", help="'auto' follows JupyterLab's light/dark theme."
    ).tag(sync=True)

    def __init__(self, attention: Any = None, tokens: Sequence[str] | None = None, **options: Any) -> None:
        """Build the widget from attention tensors.

        ``attention``: self-attention as transformers returns it (tuple of per-layer
        ``(batch, heads, query, key)``), or an array ``(layers, [batch,] heads, query, key)``.
        For encoder-decoder models pass ``encoder_attention``/``decoder_attention``/``cross_attention``
        with ``encoder_tokens``/``decoder_tokens`` instead. ``attention_mask`` (and
        ``decoder_attention_mask``) remove padding; ``encoding`` is ``"uint8"`` or ``"float16"``.

        ``transport``: ``"full"`` sends every weight; ``"tiles"`` sends max-pooled thumbnails
        (``THUMBNAIL_SIZE``² per head) and serves full-resolution windows on demand through custom
        messages; ``"auto"`` picks tiles above ``FULL_TRANSPORT_MAX_BYTES`` or for a
        :class:`~attn_widget.arrays.LazyAttention`.

        ``aggregations``: any of ``"rollout"``, ``"flow"`` (self-attention of every layer and head, full
        transport; flow up to ``analysis.FLOW_MAX_TOKENS`` tokens, else it is listed in
        ``aggregation_notes`` with the reason). ``value_weighted``: per-head value-weighted attention
        ``(layers, heads, query, key)`` (``from_model(..., aggregations=("value",))`` computes it).
        ``special_tokens`` (default :data:`attn_widget.analysis.SPECIAL_TOKENS`) mark the positions
        ``hide_special`` hides. ``signed=True`` (see :meth:`diff`) takes differences, sent as float16.

        Options are the keyword arguments of :func:`attn_widget.build.build` (``sentence_b_start``,
        ``encoder_attention``, ``include_layers``, ``encoding``, ``transport``, ``aggregations``, ...)
        and trait values (``view``, ``layer``, ``heads``, ...); others raise ``TypeError``.
        """
        check_keywords(type(self).__name__, options, self.keywords())
        self._build = build(attention, tokens, **options)
        self._tile_server = self._build.tiles
        super().__init__(**self._build.traits)
        self._rpc = RpcEndpoint(self, {"tile": self._tile_server} if self._tile_server else {})

    @classmethod
    def keywords(cls) -> set[str]:
        """Every keyword the constructor takes: the build step's options and the public traits."""
        return parameter_names(build) | {name for name in cls.class_trait_names() if not name.startswith("_")}

    @classmethod
    def from_result(cls, result: AttentionResult, **options: Any) -> AttentionWidget:
        """Widget showing ``result``; with queries/keys (``extract_attention(..., with_qk=True)``) it
        also has the neuron view (``view="neuron"``). ``options`` go to the constructor."""
        if result.queries is not None:
            include = options.get("include_layers")
            stored = result.layer_numbers or list(range(len(result.queries)))
            missing = [n for n in include or [] if n not in stored]
            if missing:
                raise AttentionInputError(
                    f"include_layers has layer {missing[0]}, but the extracted layers are {stored}"
                )
            layers = None if include is None else [stored.index(n) for n in include]
            options["neuron_data"] = neuron_block(result, layers)
        return cls(**result.widget_kwargs(), **options)

    @classmethod
    def diff(cls, a: Any, b: Any, tokens: Sequence[str] | None = None, **options: Any) -> AttentionWidget:
        """Widget of ``a − b`` per head: two inputs of equal length, or two checkpoints of one architecture.

        ``a``, ``b``: :class:`~attn_widget.arrays.AttentionResult` or self-attention as the constructor
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
                raise AttentionInputError(
                    f"{name} is computed on demand (too large to hold); diff needs attention that fits in memory"
                )
            arrays.append(to_attention_array(x, name=name))
        if arrays[0].shape != arrays[1].shape:
            raise AttentionInputError(
                f"a has shape {arrays[0].shape} and b {arrays[1].shape}; diff needs equal (layers, heads, query, key): "
                "one architecture and inputs of the same length"
            )
        if tokens is None and not token_lists:
            raise AttentionInputError("tokens are required when a and b are arrays")
        if tokens is None:
            tokens = (
                token_lists[0] if len(token_lists) == 1 else [x if x == y else f"{x}|{y}" for x, y in zip(*token_lists)]
            )
        for fixed in ("encoding", "signed"):  # the difference is signed: always float16
            options.pop(fixed, None)
        if isinstance(a, AttentionResult):  # keep the model's layer/head numbers
            options.setdefault("layer_numbers", a.layer_numbers)
            options.setdefault("head_numbers", a.head_numbers)
        return cls(arrays[0] - arrays[1], tokens, encoding="float16", signed=True, **options)

    @classmethod
    def from_run(
        cls, run_dir: str | pathlib.Path, text: str | int | None = None, *, step: int | None = None, **options: Any
    ) -> AttentionWidget:
        """Widget over the attention snapshots of a TensorBoard run (:func:`attn_widget.tensorboard.log_attention`).

        ``text``: the probe text (or its index; default the first); ``step``: the training step shown first
        (default the last). Setting ``step`` (or the toolbar's step slider) shows another snapshot: head and
        model views, statistics and aggregations follow. ``options`` go to the constructor; each step is sent
        whole (``transport="full"``).
        """
        if options.get("transport", "full") != "full":
            raise AttentionInputError("from_run sends each step's snapshot whole: transport must be 'full'")
        snapshots = read_attention(run_dir)
        series = {s.step: s for s in snapshots.series(text)}
        first = series[max(series) if step is None else snapshots.get(step, text).step]
        kwargs = {**first.widget_kwargs(), **options, "transport": "full"}
        widget = cls(**kwargs, steps=list(series), step=first.step)
        widget._run_steps = series, {k: v for k, v in kwargs.items() if k in parameter_names(build)}
        return widget

    @t.validate("step")
    def _valid_step(self, proposal: dict) -> int:
        value = proposal["value"]
        if not self.steps and value != 0:
            raise SelectionError("this widget shows no training run: AttentionWidget.from_run(run_dir) has steps")
        if self.steps and value not in self.steps:
            raise SelectionError(f"step {value} has no snapshot; the steps are {self.steps}")
        return value

    @t.observe("step")
    def _show_step(self, change: dict) -> None:
        """Swap in the snapshot of the new step (widgets from :meth:`from_run`; a no-op otherwise)."""
        run = getattr(self, "_run_steps", None)
        if run is None or change["new"] not in run[0]:
            return
        snapshot, options = run[0][change["new"]], run[1]
        self._build = build(snapshot.attention, snapshot.tokens, **{k: v for k, v in options.items() if k not in (
            "attention", "tokens")})  # fmt: skip
        with self.hold_sync():
            for name in ("attention_data", "aggregation_data", "aggregation_notes"):
                setattr(self, name, self._build.traits[name])
            self.head_stats = self._build.head_stats() if self.head_stats or self.stats_requested else {}

    @property
    def num_layers(self) -> int:
        return len(self.layer_numbers)

    @property
    def num_heads(self) -> int:
        return next(iter(self.attention_data.values()))["shape"][1]

    @t.validate("layer")
    def _valid_layer(self, proposal: dict) -> int:
        if self.layer_numbers and proposal["value"] not in self.layer_numbers:
            raise SelectionError(f"layer {proposal['value']} is not shown; choose one of {self.layer_numbers}")
        return proposal["value"]

    @t.validate("head")
    def _valid_head(self, proposal: dict) -> int:
        if self.attention_data and not 0 <= proposal["value"] < self.num_heads:
            where = f"the extracted heads {self.head_numbers}" if self.head_numbers else "the model's heads"
            raise SelectionError(f"head {proposal['value']} is outside {where}: positions 0..{self.num_heads - 1}")
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
            raise SelectionError(f"attention_filter {value!r} does not apply here; choose one of {list(allowed)}")
        return value

    @t.validate("view")
    def _valid_view(self, proposal: dict) -> str:
        if proposal["value"] == "neuron" and not self.neuron_data:
            raise SelectionError(
                "the neuron view needs queries and keys: use from_model(..., view='neuron') or "
                "AttentionWidget.from_result(extract_attention(..., with_qk=True))"
            )
        if proposal["value"] == "summary" and not self._provide_stats():
            raise SelectionError(
                "the summary view needs head statistics, computed for self-attention held in memory (not diffs)"
            )
        return proposal["value"]

    @t.validate("aggregation")
    def _valid_aggregation(self, proposal: dict) -> str:
        name = proposal["value"]
        if name != "raw" and name not in self.aggregation_data:
            why = self.aggregation_notes.get(name, f"pass aggregations=({name!r},) to the constructor or from_model")
            raise SelectionError(f"aggregation {name!r} is not available: {why}")
        return name

    @t.validate("hide_special")
    def _valid_hide_special(self, proposal: dict) -> bool:
        if proposal["value"] and self._tile_server is not None:
            raise SelectionError(
                "hiding special tokens renormalises rows in the browser, which holds only thumbnails with tiled transport"
            )
        return proposal["value"]

    @t.validate("heads", "include_heads")
    def _valid_heads(self, proposal: dict) -> list[int]:
        if self.attention_data:
            self._check_head_positions(proposal["value"], proposal["trait"].name)
        return sorted(set(proposal["value"]))

    @t.observe("stats_requested")
    def _stats_requested(self, change: dict) -> None:
        if change["new"]:
            self._provide_stats()

    def _provide_stats(self) -> bool:
        """Fill ``head_stats`` if it is empty and can be computed; whether it is filled now."""
        if not self.head_stats and self._build.stats_input is not None:
            self.head_stats = self._build.head_stats()
        return bool(self.head_stats)

    def _check_head_positions(self, values: Sequence[int], name: str) -> None:
        """Head selections are positions 0..num_heads-1 in the stored heads; say so when only some model
        heads were extracted (``head_numbers``)."""
        try:
            check_indices(values, self.num_heads, name, "head")
        except AttentionInputError as err:
            if not self.head_numbers:
                raise SelectionError(str(err)) from None
            raise SelectionError(
                f"{name} selects positions 0..{self.num_heads - 1} among the extracted heads {self.head_numbers} "
                f"(model head {self.head_numbers[0]} is position 0), got {list(values)}"
            ) from err

    def wire_state(self) -> dict[str, Any]:
        """The synced trait values (schema ``traits``): what the browser gets, and what pages export."""
        return {name: getattr(self, name) for name in SCHEMA["traits"] if self.has_trait(name)}

    def _export_state(self) -> dict[str, Any]:
        """:meth:`wire_state` with head statistics computed from the attention (exact, not the wire's bytes)."""
        self._provide_stats()
        return self._page_state()

    def _page_state(self) -> dict[str, Any]:
        """:meth:`wire_state` for pages and saved outputs: the step shown, no slider (no kernel sends other steps)."""
        return {**self.wire_state(), "steps": []}

    def _repr_mimebundle_(self, **kwargs: Any):
        """anywidget's bundle (the live view, which JupyterLab prefers) plus, for front ends without the
        widget manager, a summary, PNG thumbnails and offline HTML (:func:`attn_widget.export.fallback_bundle`)."""
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, metadata = bundle
        return {**data, **export.fallback_bundle(self._page_state())}, metadata

    def save_image(self, path: str | pathlib.Path, timeout: float = 30.0) -> concurrent.futures.Future:
        """Save the displayed view as PNG or SVG (by ``path``'s suffix); returns a ``concurrent.futures.Future``
        that gives ``path`` once a view has answered.

        The kernel asks every displayed view (the schema's ``image`` method); the first answer is written.
        A kernel reads comm messages only between cells, so the answer arrives after the cell that asked
        has finished: ``future.result()`` in a later cell returns the path or raises the error
        (``TimeoutError`` when no view answered in ``timeout`` seconds). Calling ``.result()`` in a cell
        that starts before the answer came (e.g. "Run All") blocks that cell, and with it the answer,
        until ``result``'s own timeout.
        """
        path = pathlib.Path(path)
        fmt = IMAGE_FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise ValueError(f"save_image writes .png or .svg files, got {path.name!r}")
        if self.comm is None:
            raise RuntimeError("the widget is closed: display a new one to save an image")
        saved: concurrent.futures.Future = concurrent.futures.Future()
        answer = self._rpc.request("image", {"format": fmt}, timeout, (
            f"no view of this widget answered in {timeout:g} s: display the widget, and call save_image in a cell "
            "of its own (the kernel receives the answer only after that cell has finished)"
        ))  # fmt: skip

        def write(done: concurrent.futures.Future) -> None:
            try:
                _result, buffers = done.result()
                if not buffers:
                    raise RpcError("no data")
                path.write_bytes(buffers[0])
            except RpcError as err:
                saved.set_exception(RuntimeError(f"the view could not draw the image: {err}"))
            except Exception as err:  # the timeout, or the file could not be written
                saved.set_exception(err)
            else:
                saved.set_result(path)

        answer.add_done_callback(write)
        return saved

    def to_html(self, title: str = "attn-widget") -> str:
        """One self-contained HTML page (renderer and data inline) that works offline."""
        return export.widget_html([self._export_state()], title=title)

    def save_html(self, path: str | pathlib.Path, title: str = "attn-widget") -> pathlib.Path:
        """Write :meth:`to_html` to ``path`` and return the path."""
        path = pathlib.Path(path)
        path.write_text(self.to_html(title=title), encoding="utf-8")
        return path
