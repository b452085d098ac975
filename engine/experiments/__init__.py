"""Experiments: sweeps of training settings and node parameters, each trial a recorded run.

* :mod:`~engine.experiments.params`: ``NAME=VALUES`` parsed and bound to what it changes
  (:func:`parse_param`, :func:`resolve_params`, :class:`SweepParam`), every value checked
  before anything starts;
* :mod:`~engine.experiments.apply`: a trial's values applied to a project JSON
  (:func:`apply_values`) and, for "Apply best", what changes (:func:`changes_for`);
* :mod:`~engine.experiments.plan`: grid, random and successive-halving trials;
* :mod:`~engine.experiments.experiment`: the record (:class:`Experiment`, :class:`Trial`)
  and :class:`ExperimentStore` (``X.runs/experiments/<id>/experiment.json``);
* :mod:`~engine.experiments.runner`: :class:`ExperimentRunner` runs the remaining trials,
  each in its own process (:mod:`~engine.experiments.trial`), recording each as a run in
  the project's run store, tagged with the experiment.

Every user mistake is a :class:`SweepError` with one clear message. Pure Python: no Qt.
"""

from engine.experiments.apply import apply_values, changes_for
from engine.experiments.errors import SweepError
from engine.experiments.experiment import (
    TRIAL_STATUSES,
    Experiment,
    ExperimentStore,
    Trial,
    default_mode,
)
from engine.experiments.params import SweepParam, parse_param, resolve_params
from engine.experiments.plan import STRATEGIES

__all__ = [
    "STRATEGIES",
    "TRIAL_STATUSES",
    "Experiment",
    "ExperimentStore",
    "SweepError",
    "SweepParam",
    "Trial",
    "apply_values",
    "changes_for",
    "default_mode",
    "parse_param",
    "resolve_params",
]
