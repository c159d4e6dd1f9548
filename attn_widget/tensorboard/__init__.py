"""Read TensorBoard logdirs without TensorFlow or a TensorBoard process.

``list_runs(root)`` finds runs (folders with ``*tfevents*`` files; torch ``add_scalars`` /
``add_hparams`` subfolders grouped under their run) and ``read_scalars(run_dir)`` returns
``{tag: ScalarSeries(steps, wall_times, values)}`` numpy arrays. Files are read incrementally and
checksum-verified; see :mod:`._reader` for the format and the design.
"""

from ._downsample import downsample
from ._reader import EventFileReader, ScalarSeries
from ._runs import LIVE_WINDOW_S, ReaderCache, RunInfo, RunScalars, list_runs, read_scalars

__all__ = [
    "LIVE_WINDOW_S",
    "EventFileReader",
    "ReaderCache",
    "RunInfo",
    "RunScalars",
    "ScalarSeries",
    "downsample",
    "list_runs",
    "read_scalars",
]
