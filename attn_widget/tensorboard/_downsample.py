"""Downsampling scalar series for display: LTTB that keeps the extremes."""

from __future__ import annotations

import numpy as np

from ._reader import ScalarSeries


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

    LTTB picks ``max_points - 2`` points (first and last included), then the global minimum and
    maximum are added, so spikes and the best/worst value always survive. Non-finite values score
    as 0 when picking and are kept as they are. Series with ``<= max_points`` points are returned
    unchanged.
    """
    if max_points < 4:
        raise ValueError(f"max_points must be at least 4, got {max_points}")
    n = series.values.size
    if n <= max_points:
        return series
    y = series.values
    finite = np.isfinite(y)
    score = y if finite.all() else np.where(finite, y, 0.0)
    base = _lttb(series.steps.astype(np.float64), score, max_points - 2) if max_points >= 5 else np.array([0, n - 1])
    keep = np.unique(np.concatenate([base, [int(np.argmin(score)), int(np.argmax(score))]]))
    return ScalarSeries(series.steps[keep], series.wall_times[keep], series.values[keep])
