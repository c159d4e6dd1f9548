"""Downsampling scalar series: LTTB that keeps the extremes (display), and min/max bucket
decimation (the bound on points held per series)."""

from __future__ import annotations

import numpy as np

from ._series import ScalarSeries


def _lttb(x: np.ndarray, y: np.ndarray, n_out: int) -> np.ndarray:
    """Largest-Triangle-Three-Buckets (Steinarsson 2013): ``n_out >= 3`` sorted indices into ``x``,
    first and last included; one point per bucket, the one spanning the largest triangle with the
    previous pick and the next bucket's mean."""
    n = x.size
    edges = np.linspace(1, n - 1, n_out - 1).astype(np.int64)  # n_out - 2 buckets in [1, n - 1)
    sums_x = np.concatenate([[0.0], np.cumsum(x)])
    sums_y = np.concatenate([[0.0], np.cumsum(y)])
    nxt_lo = np.append(edges[1:-1], n - 1)
    nxt_hi = np.append(edges[2:], n)
    avg_x = (sums_x[nxt_hi] - sums_x[nxt_lo]) / (nxt_hi - nxt_lo)
    avg_y = (sums_y[nxt_hi] - sums_y[nxt_lo]) / (nxt_hi - nxt_lo)
    out = np.empty(n_out, dtype=np.int64)
    out[0], out[-1] = 0, n - 1
    a = 0
    for b in range(n_out - 2):
        lo, hi = edges[b], edges[b + 1]
        xa, ya = x[a], y[a]
        area = np.abs((xa - avg_x[b]) * (y[lo:hi] - ya) - (xa - x[lo:hi]) * (avg_y[b] - ya))
        a = lo + int(np.argmax(area))
        out[b + 1] = a
    return out


def downsample(series: ScalarSeries, max_points: int) -> ScalarSeries:
    """At most ``max_points`` (>= 4) points of ``series`` for drawing.

    The global minimum and maximum of the finite values are kept (so spikes and the best/worst value
    always survive, NaN or not), and LTTB picks the rest of the budget (first and last point
    included). Non-finite values score as 0 when picking and are kept as they are. Series with
    ``<= max_points`` points are returned unchanged.
    """
    if max_points < 4:
        raise ValueError(f"max_points must be at least 4, got {max_points}")
    n = series.values.size
    if n <= max_points:
        return series
    y = series.values
    finite = np.isfinite(y)
    score = y if finite.all() else np.where(finite, y, 0.0)
    extremes: set[int] = set()
    if finite.any():
        extremes = {int(np.argmin(np.where(finite, y, np.inf))), int(np.argmax(np.where(finite, y, -np.inf)))}
    extremes -= {0, n - 1}  # first and last are always kept by LTTB
    budget = max_points - len(extremes)
    base = _lttb(series.steps.astype(np.float64), score, budget) if budget >= 3 else np.array([0, n - 1])
    keep = np.unique(np.concatenate([base, sorted(extremes)])).astype(np.int64)
    return ScalarSeries(series.steps[keep], series.wall_times[keep], series.values[keep])


def keep_extremes(series: ScalarSeries, budget: int) -> ScalarSeries:
    """At most ``budget`` (>= 5) points of ``series``: its first and last point and, in each of
    ``(budget - 2) // 3`` equal runs of points, the smallest and largest finite value and the first
    non-finite one. Applied again and again as a series grows, the global minimum and maximum and
    every stretch of NaN/±inf stay represented (TensorBoard's reservoir sampling can drop them)."""
    n = series.values.size
    if n <= budget:
        return series
    if budget < 5:
        raise ValueError(f"budget must be at least 5, got {budget}")
    buckets = (budget - 2) // 3
    width = -(-n // buckets)
    y = series.values
    finite = np.isfinite(y)
    pad = buckets * width - n
    low = np.concatenate([np.where(finite, y, np.inf), np.full(pad, np.inf)]).reshape(buckets, width)
    high = np.concatenate([np.where(finite, y, -np.inf), np.full(pad, -np.inf)]).reshape(buckets, width)
    odd = np.concatenate([~finite, np.zeros(pad, bool)]).reshape(buckets, width)
    offsets = np.arange(buckets) * width
    picks = [offsets + low.argmin(axis=1), offsets + high.argmax(axis=1)]
    has_odd = odd.any(axis=1)
    picks.append((offsets + odd.argmax(axis=1))[has_odd])
    keep = np.unique(np.concatenate([*picks, [0, n - 1]]))
    keep = keep[keep < n]
    return ScalarSeries(*(col[keep] for col in series))
