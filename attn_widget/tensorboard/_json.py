"""The JSON form of scalar series sent to the runs sidebar (encoded here, below the server, so the
reading processes of :mod:`._workers` can encode answers without importing Jupyter)."""

from __future__ import annotations

import json

import numpy as np

from ._downsample import downsample
from ._series import ScalarSeries

_NON_FINITE = {"nan": '"NaN"', "inf": '"Infinity"', "-inf": '"-Infinity"'}


def _json_values(values: np.ndarray) -> str:
    """JSON array of float64 ``values``, NaN/±inf as the strings ``"NaN"``, ``"Infinity"``,
    ``"-Infinity"`` (JSON has no such numbers; JavaScript's ``Number()`` reads these back)."""
    if np.isfinite(values).all():
        return json.dumps(values.tolist())
    parts = [repr(v) if np.isfinite(v) else _NON_FINITE[repr(v)] for v in values.tolist()]
    return "[" + ",".join(parts) + "]"


def series_json(series: ScalarSeries) -> str:
    """``{"steps": [...], "wall_times": [...], "values": [...]}`` of ``series``."""
    return (f'{{"steps":{json.dumps(series.steps.tolist())},"wall_times":{json.dumps(series.wall_times.tolist())},'
            f'"values":{_json_values(series.values)}}}')


def downsampled_json(many: list[ScalarSeries], max_points: int) -> list[str]:
    """:func:`series_json` of each series downsampled to ``max_points`` (:func:`._downsample.downsample`)."""
    return [series_json(downsample(series, max_points)) for series in many]
