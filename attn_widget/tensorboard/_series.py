"""The scalar series type shared by the reader and the downsamplers."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class ScalarSeries(NamedTuple):
    """One tag's points in file order: ``steps`` int64 (n,), ``wall_times`` float64 (n,) unix
    seconds, ``values`` float64 (n,)."""

    steps: np.ndarray
    wall_times: np.ndarray
    values: np.ndarray
