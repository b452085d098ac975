"""The run store: every training run of a project, recorded beside the project file.

A project ``X.lcproj`` keeps its runs in the folder ``X.runs/`` next to it, one sub-folder
per run::

    X.runs/20261204-153012-417a1/run.json      the record (:class:`RunRecord`)
                                 last.lcmodel  the weights after the last completed epoch
                                 best.lcmodel  the weights of the best epoch (val_loss, or
                                               loss without validation)

:mod:`engine.runs.store` reads and writes records (versioned, bounded reads, atomic
writes); :mod:`engine.runs.record` is the ``fit`` callback that records a run as it goes;
:mod:`engine.runs.resume` continues a recorded run from its last weights and optimizer state.
Both ``layercanvas train`` and the app record through these, so headless runs show up in the
window's Runs panel.
"""

from engine.runs.record import RunRecorder
from engine.runs.resume import resume_setup
from engine.runs.store import (
    RUN_FORMAT,
    RUN_VERSION,
    RunRecord,
    RunRecordError,
    RunStore,
    runs_dir_for,
)

__all__ = [
    "RUN_FORMAT",
    "RUN_VERSION",
    "RunRecord",
    "RunRecordError",
    "RunRecorder",
    "RunStore",
    "resume_setup",
    "runs_dir_for",
]
