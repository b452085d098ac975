"""Continuing a recorded run: its last weights *and* optimizer state, epochs counted on.

:func:`resume_setup` takes a run prepared from the record's own project (``prepare_training``
on ``record.project``: the same data, split and settings) and swaps in the model of the
run's ``last.lcmodel``, loaded with ``compile=True`` so the optimizer comes back with its
slots and step counter (and so its schedule position). ``fit`` then runs with
``initial_epoch`` = the epochs already done, as Keras resumes: a run of 5 epochs resumed
for 3 more trains epochs 6, 7 and 8, and its record names the run it continues
(``parent``).
"""

from __future__ import annotations

from engine.runs.store import RunRecord, RunRecordError

__all__ = ["resume_setup"]


def resume_setup(setup, record: RunRecord) -> None:
    """Make ``setup`` (an ``engine.graph.session.TrainingSetup``) continue ``record`` for
    ``setup.epochs`` more epochs. :class:`RunRecordError` when the run left no weights."""
    import engine  # noqa: PLC0415

    path = record.weights_path("last")
    if path is None:
        raise RunRecordError(
            f"run '{record.name}' has no last weights to resume from (it ended before its "
            "first epoch, or its files were removed)"
        )
    model = engine.load_model(path, compile=True)
    if getattr(model, "optimizer", None) is None:
        raise RunRecordError(f"{path}: holds no optimizer state to resume from")
    done = record.epochs_done
    setup.model = model
    setup.initial_epoch = done
    setup.epochs = done + setup.epochs
