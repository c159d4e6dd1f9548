"""Attention analytics beyond raw weights: head statistics, rollout, flow, value-weighted norms.

Every function takes attention as :func:`~attn_widget.arrays.to_attention_array` accepts it and
works on float32 ``(layers, heads, query, key)``; below, ``A`` is that array, ``α_ij`` one head's
weight from query ``i`` to key ``j``, ``n`` the sequence length. Pure numpy: nothing here runs a
model (that is :mod:`attn_widget.models`: ``value_weighted_attention``, ``induction_scores``).
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np

from .arrays import check_tokens, to_attention_array
from .errors import AttentionInputError

CLS_TOKENS = ("[CLS]", "<s>", "<|begin_of_text|>", "<bos>")
SEP_TOKENS = ("[SEP]", "</s>", "<|endoftext|>", "<|end_of_text|>", "<|eot_id|>", "<eos>")
SPECIAL_TOKENS = CLS_TOKENS + SEP_TOKENS + ("[PAD]", "<pad>", "[MASK]", "<mask>", "<unk>", "[UNK]")
FLOW_MAX_TOKENS = 32
_EPS = 1e-12


def _self_attention(attention: Any) -> np.ndarray:
    a = to_attention_array(attention)
    if a.shape[2] != a.shape[3]:
        raise AttentionInputError(
            f"attention has {a.shape[2]} queries and {a.shape[3]} keys; this measure needs self-attention "
            "(query and key positions are the same tokens)"
        )
    return a


def _is_punctuation(token: str) -> bool:
    core = token.replace("Ġ", "").replace("▁", "").replace("##", "").strip()
    return bool(core) and all(c in string.punctuation or unicodedata.category(c).startswith("P") for c in core)


# --------------------------------------------------------------------------- detection patterns


def previous_token_pattern(n: int) -> np.ndarray:
    """TransformerLens' previous-token detection pattern: ``P[i, i-1] = 1``, shape ``(n, n)``."""
    return np.eye(n, k=-1, dtype=bool)


def induction_pattern(token_ids: Sequence[Any]) -> np.ndarray:
    """TransformerLens' induction detection pattern, shape ``(n, n)``.

    ``P[i, j] = 1`` iff ``1 ≤ j ≤ i`` and ``t[j-1] = t[i]`` with ``j-1 ≠ i``: query ``i`` looks at the
    token that followed an earlier occurrence of its own token (the duplicate-token pattern shifted
    one key to the right, lower triangle kept). Tokens may be ids or strings.
    """
    t = np.asarray(token_ids)
    duplicate = np.tril(t[:, None] == t[None, :], k=-1)
    pattern = np.zeros_like(duplicate)
    pattern[:, 1:] = duplicate[:, :-1]
    return np.tril(pattern)


def detection_score(
    attention: Any, pattern: np.ndarray, *, exclude_bos: bool = False, exclude_current_token: bool = False
) -> np.ndarray:
    """Share of each head's attention on a 0/1 ``pattern``: TransformerLens ``detect_head``, "mul".

    ``score = Σ_ij α_ij P_ij / Σ_ij α_ij`` per ``(layer, head)``; ``exclude_bos`` zeroes key 0 and
    ``exclude_current_token`` the diagonal of ``α`` first (numerator and denominator), as there.
    Returns ``(layers, heads)``; with rows summing to 1 the denominator is ``n`` (all rows count).
    """
    return _detection_score(_self_attention(attention), pattern, exclude_bos, exclude_current_token)


def _detection_score(
    a: np.ndarray, pattern: np.ndarray, exclude_bos: bool = False, exclude_current_token: bool = False
) -> np.ndarray:
    """:func:`detection_score` of already validated float32 attention."""
    n = a.shape[-1]
    pattern = np.asarray(pattern, dtype=bool)
    if pattern.shape != (n, n):
        raise AttentionInputError(f"detection pattern has shape {pattern.shape}; expected ({n}, {n})")
    drop = np.zeros((n, n), dtype=bool)
    if exclude_bos:
        drop[:, 0] = True
    if exclude_current_token:
        np.fill_diagonal(drop, True)
    qi, kj = np.nonzero(pattern & ~drop)
    di, dj = np.nonzero(drop)
    total = a.sum(axis=(2, 3), dtype=np.float64) - a[:, :, di, dj].sum(-1, dtype=np.float64)
    hits = a[:, :, qi, kj].sum(-1, dtype=np.float64)
    return (hits / np.where(total > 0, total, 1.0)).astype(np.float32)


def previous_token_score(attention: Any, **exclude: bool) -> np.ndarray:
    """Previous-token score ``Σ_i α_i,i-1 / Σ_ij α_ij`` (TransformerLens ``detect_head``), ``(layers, heads)``."""
    a = _self_attention(attention)
    return detection_score(a, previous_token_pattern(a.shape[-1]), **exclude)


def induction_score(attention: Any, token_ids: Sequence[Any], **exclude: bool) -> np.ndarray:
    """Induction head score on ``token_ids`` (TransformerLens ``detect_head``, see :func:`induction_pattern`).

    On ``[bos] + r + r`` for random ``r`` of length ``m`` a perfect induction head scores
    ``m / (2m + 1)`` (only the second copy has targets); compare heads with each other.
    """
    return detection_score(attention, induction_pattern(token_ids), **exclude)


# --------------------------------------------------------------------------- per-head statistics


def is_causal(attention: Any) -> bool:
    """Whether every head puts all its weight on keys ``j ≤ i`` (attention given as arrays; a model's
    own flag is read by :mod:`attn_widget.models.families`)."""
    return _is_causal(_self_attention(attention))


def _is_causal(a: np.ndarray) -> bool:
    layers, heads, n, _ = a.shape
    upper = np.flatnonzero(np.triu(np.ones((n, n), dtype=bool), 1))
    return not any(a[layer].reshape(heads, -1)[:, upper].any() for layer in range(layers))


def head_statistics(
    attention: Any,
    tokens: Sequence[str] | None = None,
    *,
    causal: bool | None = None,
    cls_tokens: Iterable[str] = CLS_TOKENS,
    sep_tokens: Iterable[str] = SEP_TOKENS,
) -> dict[str, np.ndarray]:
    """Per-head summary statistics of self-attention, each a float32 ``(layers, heads)`` array.

    Means are over query rows ``i`` (rows are probabilities, summing to 1):

    - ``entropy``: ``-(1/n) Σ_i Σ_j α_ij log α_ij`` (Clark et al. 2019, nats).
    - ``entropy_ratio``: ``Σ_i H_i / Σ_i log k_i`` with ``k_i`` the keys row ``i`` may attend to
      (``n``, or ``i + 1`` when ``causal``): 1 = uniform, 0 = one key.
    - ``distance``: ``(1/n) Σ_i Σ_j α_ij |i-j| / Σ_j α_ij`` (Vig & Belinkov 2019).
    - ``first``, ``self``: mean ``α_i0``, ``α_ii``; ``previous``/``next``: mean ``α_i,i-1``/``α_i,i+1``
      over the rows that have that neighbour (Clark et al. 2019).
    - ``confidence``: mean ``max_j α_ij`` (Voita et al. 2019).
    - ``previous_token_score``: :func:`previous_token_score`.
    - With ``tokens``: ``cls``, ``sep``, ``punctuation``: mean ``Σ_{j∈S} α_ij`` over keys whose token is
      in ``cls_tokens``/``sep_tokens``/is punctuation (Clark et al. 2019), and ``induction_score``
      (:func:`induction_score` on the token strings).

    ``causal=None`` detects causal attention (all weight on ``j ≤ i`` in every head).
    """
    a = _self_attention(attention)
    layers, heads, n, _ = a.shape
    if tokens is not None:
        tokens = check_tokens(tokens, n, "query/key")
    pos = np.arange(n)
    distance = np.abs(pos[:, None] - pos[None, :]).astype(np.float32)
    if causal is None:
        causal = _is_causal(a)
    allowed = pos + 1.0 if causal else np.full(n, float(n))
    uniform = np.log(allowed).sum()

    columns = {"first": pos == 0}
    if tokens is not None:
        cls_set, sep_set = set(cls_tokens), set(sep_tokens)
        columns |= {
            "cls": np.array([t in cls_set for t in tokens]),
            "sep": np.array([t in sep_set for t in tokens]),
            "punctuation": np.array([_is_punctuation(t) for t in tokens]),
        }
    indicator = np.stack(list(columns.values()), axis=1).astype(np.float32)  # (key, stats)

    out = {
        name: np.empty((layers, heads), np.float32)
        for name in ("entropy", "entropy_ratio", "distance", "self", "previous", "next", "confidence", *columns)
    }
    for layer in range(layers):
        al = a[layer]
        plogp = al * np.log(np.maximum(al, np.float32(1e-30)))
        entropy = -plogp.sum(-1)  # (heads, query)
        out["entropy"][layer] = entropy.mean(-1)
        out["entropy_ratio"][layer] = entropy.sum(-1) / uniform if uniform > 0 else 0.0
        row_sum = al.sum(-1)
        dist = np.einsum("hqk,qk->hq", al, distance) / np.where(row_sum > 0, row_sum, 1)
        out["distance"][layer] = dist.mean(-1)
        out["self"][layer] = np.diagonal(al, 0, 1, 2).mean(-1)
        out["previous"][layer] = np.diagonal(al, -1, 1, 2).mean(-1) if n > 1 else 0.0
        out["next"][layer] = np.diagonal(al, 1, 1, 2).mean(-1) if n > 1 else 0.0
        out["confidence"][layer] = al.max(-1).mean(-1)
        to_columns = (al.reshape(-1, n) @ indicator).reshape(heads, n, -1).mean(1)
        for c, name in enumerate(columns):
            out[name][layer] = to_columns[:, c]
    out["previous_token_score"] = _detection_score(a, previous_token_pattern(n))
    if tokens is not None:
        out["induction_score"] = _detection_score(a, induction_pattern(tokens))
    return out


# --------------------------------------------------------------------------- rollout and flow


def _residual_layers(a: np.ndarray, add_residual: bool) -> Iterable[np.ndarray]:
    """Yield ``Â_l = ½·mean_h(A_l) + ½·I`` (or ``mean_h(A_l)``), rows normalised to sum 1."""
    eye = np.eye(a.shape[-1], dtype=np.float32)
    for layer in a:
        m = layer.mean(0)
        if add_residual:
            m = 0.5 * m + 0.5 * eye
        s = m.sum(-1, keepdims=True)
        yield m / np.where(s > 0, s, 1)


def attention_rollout(attention: Any, add_residual: bool = True, *, per_layer: bool = False) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema 2020): ``R = Â_L ⋯ Â_1``, ``Â_l = ½·mean_h(A_l) + ½·I`` rows normalised.

    ``R[i, j]`` is how much output position ``i`` draws on input token ``j``. Returns ``(query, key)``,
    or with ``per_layer`` the cumulative ``R_l = Â_l ⋯ Â_1`` as ``(layers, query, key)``.
    ``add_residual=False`` uses ``Â_l = mean_h(A_l)``.
    """
    a = _self_attention(attention)
    steps = _residual_layers(a, add_residual)
    r = next(steps)
    out = [r] if per_layer else None
    for m in steps:
        r = m @ r
        if per_layer:
            out.append(r)
    return np.stack(out) if per_layer else r


def _max_flow(adj: list[list[int]], to: list[int], cap: list[float], s: int, t: int) -> float:
    """Dinic's max-flow on a residual graph (edge ``e``'s reverse is ``e ^ 1``); ``cap`` is consumed."""
    flow = 0.0
    n = len(adj)
    while True:
        level = [-1] * n
        level[s] = 0
        queue = [s]
        for u in queue:
            for e in adj[u]:
                if cap[e] > _EPS and level[to[e]] < 0:
                    level[to[e]] = level[u] + 1
                    queue.append(to[e])
        if level[t] < 0:
            return flow
        it = [0] * n
        path: list[int] = []
        u = s
        while True:
            if u == t:
                f = min(cap[e] for e in path)
                for e in path:
                    cap[e] -= f
                    cap[e ^ 1] += f
                flow += f
                path, u = [], s
                continue
            edges = adj[u]
            while it[u] < len(edges):
                e = edges[it[u]]
                if cap[e] > _EPS and level[to[e]] == level[u] + 1:
                    break
                it[u] += 1
            if it[u] < len(edges):
                path.append(edges[it[u]])
                u = to[edges[it[u]]]
            elif u == s:
                break
            else:
                level[u] = -1  # dead end for this phase
                u = to[path.pop() ^ 1]
                it[u] += 1


def attention_flow(
    attention: Any, add_residual: bool = True, *, max_tokens: int = FLOW_MAX_TOKENS, normalize: bool = True
) -> np.ndarray:
    """Attention flow (Abnar & Zuidema 2020), exact, for inputs of at most ``max_tokens`` tokens.

    The graph has a node per (layer ``0..L``, token); node ``(l, i)`` has an edge to ``(l-1, j)`` of
    capacity ``Â_l[i, j]`` (the rollout matrices). ``F[i, j]`` = max-flow from ``(L, i)`` to ``(0, j)``
    (Dinic's algorithm), each row divided by its sum when ``normalize``, as the paper's code does.
    With one layer there is one path per pair, so flow equals rollout. Cost: ``n²`` max-flows on
    ``L·n²`` edges, ~seconds at 12 layers × 32 tokens; longer inputs raise ``ValueError``.
    Returns ``(query, key)``.
    """
    a = _self_attention(attention)
    n = a.shape[-1]
    if n > max_tokens:
        raise ValueError(
            f"attention flow is exact max-flow ({n}² flows over {a.shape[0]}·{n}² edges) and is limited to "
            f"max_tokens={max_tokens} tokens; this input has {n}. Use attention_rollout, or pass a "
            "larger max_tokens and expect minutes."
        )
    mats = [m.astype(np.float64) for m in _residual_layers(a, add_residual)]
    layers = len(mats)
    # node (l, k) for l = 1..L is (l-1)*n + k; the sink (0, j) is node L*n (one sink per run).
    adj: list[list[int]] = [[] for _ in range(layers * n + 1)]
    to: list[int] = []
    base: list[float] = []

    def add(u: int, v: int, c: float) -> None:
        adj[u].append(len(to))
        to.append(v)
        base.append(c)
        adj[v].append(len(to))
        to.append(u)
        base.append(0.0)

    for l in range(2, layers + 1):
        for i, j in zip(*np.nonzero(mats[l - 1])):
            add((l - 1) * n + i, (l - 2) * n + j, float(mats[l - 1][i, j]))
    sink_edges = len(to)
    for k in range(n):
        add(k, layers * n, 0.0)
    flows = np.zeros((n, n))
    for j in range(n):
        base[sink_edges::2] = mats[0][:, j].tolist()
        for i in range(n):
            flows[i, j] = _max_flow(adj, to, list(base), (layers - 1) * n + i, layers * n)
    if normalize:
        s = flows.sum(-1, keepdims=True)
        flows /= np.where(s > 0, s, 1)
    return flows.astype(np.float32)


# --------------------------------------------------------------------------- special tokens


class HiddenTokens(NamedTuple):
    attention: np.ndarray
    tokens: list[str]
    positions: np.ndarray


def hide_special_tokens(
    attention: Any, tokens: Sequence[str], special: Iterable[str] = SPECIAL_TOKENS, *, renormalize: bool = True
) -> HiddenTokens:
    """Drop the rows and columns of ``special`` tokens and renormalise rows (exBERT).

    ``α'_ij = α_ij / Σ_{k kept} α_ik`` over kept ``i, j`` (rows with no kept weight stay 0).
    ``attention`` is ``(layers, heads, query, key)`` in any form :func:`to_attention_array` takes, or
    an array whose last two axes are ``(query, key)`` (a rollout, flow or value-weighted result).
    Returns ``(attention, kept tokens, kept positions)``. Pass ``tokenizer.all_special_tokens`` as
    ``special`` for an exact list.
    """
    if isinstance(attention, np.ndarray) and attention.ndim in (2, 3):
        arr = attention.astype(np.float32, copy=False)
    else:
        arr = to_attention_array(attention)
    tokens = check_tokens(tokens, arr.shape[-1], "key")
    if arr.shape[-2] != arr.shape[-1]:
        raise AttentionInputError(
            f"attention has {arr.shape[-2]} queries and {arr.shape[-1]} keys; expected self-attention"
        )
    special = set(special)
    keep = np.array([t not in special for t in tokens])
    positions = np.flatnonzero(keep)
    out = arr[..., positions[:, None], positions]
    if renormalize:
        s = out.sum(-1, keepdims=True)
        out = out / np.where(s > 0, s, 1)
    return HiddenTokens(np.ascontiguousarray(out, dtype=np.float32), [tokens[p] for p in positions], positions)


# --------------------------------------------------------------------------- value-weighted (norm-based)


def value_weighted_layer(
    attention: np.ndarray, values: np.ndarray, out_weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Norm-based attention of one layer (Kobayashi et al. 2020).

    ``f_h(x_j) = v_g(h),j W_O^h`` with ``v = x W_V + b_V``; per head ``‖α^h_ij f_h(x_j)‖`` and per layer
    ``‖Σ_h α^h_ij f_h(x_j)‖``. Shapes: ``attention (heads, query, key)``, ``values (kv_heads, key,
    d_head)``, ``out_weight (heads, d_head, d_model)`` (``W_O`` rows of each head). With grouped
    queries, query head ``h`` reads KV head ``h // (heads / kv_heads)``. Returns
    ``(per_head (heads, query, key), per_layer (query, key))``.
    """
    heads, kv_heads = attention.shape[0], values.shape[0]
    if heads % kv_heads:
        raise AttentionInputError(f"{heads} attention heads cannot share {kv_heads} key/value heads")
    f = np.einsum("hkd,hdm->hkm", np.repeat(values, heads // kv_heads, axis=0), out_weight)  # (heads, key, d_model)
    per_head = attention * np.linalg.norm(f, axis=-1)[:, None, :]
    gram = np.einsum("hkm,gkm->hgk", f, f)
    squared = np.einsum("hqk,hqk->qk", attention, np.einsum("hgk,gqk->hqk", gram, attention))
    return per_head.astype(np.float32), np.sqrt(np.maximum(squared, 0)).astype(np.float32)
