"""Read TensorBoard logdirs without TensorFlow or a TensorBoard process.

``list_runs(root)`` finds runs with TensorBoard's rule (each folder directly holding ``*tfevents*``
files; see :mod:`._runs`) and ``read_scalars(run_dir)`` returns ``{tag: ScalarSeries(steps,
wall_times, values)}`` numpy arrays. Files are read incrementally and checksum-verified with numpy
and ``protobuf`` only (no ``tensorboard`` import); see :mod:`._reader` for the format and the design.
"""

from ._downsample import downsample, keep_extremes
from ._json import downsampled_json, series_json
from ._reader import EventFileReader
from ._runs import LIVE_WINDOW_S, ReaderCache, RunInfo, RunScalars, list_runs, read_scalars
from ._series import ScalarSeries
from ._workers import ReadWorkers

__all__ = [
    "LIVE_WINDOW_S",
    "EventFileReader",
    "ReaderCache",
    "RunInfo",
    "ReadWorkers",
    "RunScalars",
    "ScalarSeries",
    "downsample",
    "downsampled_json",
    "keep_extremes",
    "list_runs",
    "read_scalars",
    "series_json",
]

# --- attention snapshots (attn_widget.tensorboard.snapshots, .callback): imported on first use, so that
# reading runs (the server) loads neither the model code nor transformers.
_SNAPSHOT_NAMES = {"log_attention": "snapshots", "read_attention": "snapshots", "AttentionSnapshots": "snapshots",
                   "Snapshot": "snapshots", "AttentionCallback": "callback"}  # fmt: skip
__all__ += list(_SNAPSHOT_NAMES)


def __getattr__(name: str):
    if name in _SNAPSHOT_NAMES:
        import importlib

        return getattr(importlib.import_module(f".{_SNAPSHOT_NAMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
