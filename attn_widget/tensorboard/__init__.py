"""Read TensorBoard logdirs without TensorFlow or a TensorBoard process.

``list_runs(root)`` finds runs with TensorBoard's rule (each folder directly holding ``*tfevents*``
files; see :mod:`._runs`) and ``read_scalars(run_dir)`` returns ``{tag: ScalarSeries(steps,
wall_times, values)}`` numpy arrays. Files are read incrementally and checksum-verified with numpy
and ``protobuf`` only (no ``tensorboard`` import); see :mod:`._reader` for the format and the design.
"""

from ._downsample import downsample, keep_extremes
from ._reader import EventFileReader
from ._runs import LIVE_WINDOW_S, ReaderCache, RunInfo, RunScalars, list_runs, read_scalars
from ._series import ScalarSeries

__all__ = [
    "LIVE_WINDOW_S",
    "EventFileReader",
    "ReaderCache",
    "RunInfo",
    "RunScalars",
    "ScalarSeries",
    "downsample",
    "keep_extremes",
    "list_runs",
    "read_scalars",
]
