"""An engine experiment record as the view shows it.

:func:`shown_experiment` turns an :class:`engine.experiments.Experiment` and the run
records of its trials into a :class:`~widgets.experiments.view.ShownExperiment`: one
:class:`~widgets.experiments.trials_table.TrialRow` per trial (its run's name and curves
from the run record, or the epochs seen so far while it runs), and one
:class:`~widgets.experiments.param_plot.PlotParam` per swept parameter (logarithmic when
its values were given as a log range).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from engine.experiments import Experiment
from widgets.experiments.param_plot import PlotParam
from widgets.experiments.trials_table import TrialRow
from widgets.experiments.view import ShownExperiment

__all__ = ["chooser_label", "runner_of", "shown_experiment"]


def shown_experiment(
    experiment: Experiment,
    records: Mapping[str, Any],
    live: Mapping[str, dict[str, list[float]]] | None = None,
    skipping: Collection[str] = (),
    runner: str = "here",
) -> ShownExperiment:
    """``records`` maps run ids to ``engine.runs.RunRecord``; ``live`` maps trial ids to the
    history gathered from epoch events (for trials whose record is not read yet);
    ``skipping`` are the trials the user asked to skip. ``runner`` says who runs the
    experiment: ``"here"`` (this window, or nobody), ``"elsewhere"`` (another live process,
    e.g. ``layercanvas sweep``) or ``"dead"`` (a record left running by a process that died:
    its running trials are shown interrupted)."""
    live = live or {}
    rows = []
    for trial in experiment.trials:
        record = records.get(trial.run_id) if trial.run_id else None
        history = dict(record.history) if record is not None else {}
        if trial.id in live and len(live[trial.id].get("epoch", [])) > len(
            history.get("epoch", [])
        ):
            history = live[trial.id]
        rows.append(
            TrialRow(
                id=trial.id,
                status="interrupted"
                if runner == "dead" and trial.status == "running"
                else trial.status,
                values=dict(trial.values),
                metric=trial.metric,
                run_id=trial.run_id,
                run_name=record.name if record is not None else None,
                epochs=experiment.trial_epochs(trial),
                rung=trial.rung or None if experiment.strategy == "halving" else None,
                error=trial.error,
                history=history,
                skip_requested=trial.id in skipping,
            )
        )
    params = [
        PlotParam(
            p["name"],
            p.get("label") or p["name"],
            ":log:" in str(p.get("spec", "")).replace(" ", ""),
            list(p.get("values", [])),
        )
        for p in experiment.params
    ]
    return ShownExperiment(
        id=experiment.id,
        name=experiment.name,
        status=experiment.status,
        metric=experiment.metric,
        mode=experiment.mode,
        strategy=experiment.strategy,
        params=params,
        specs=[(p["name"], str(p.get("spec", ""))) for p in experiment.params],
        rows=rows,
        trials_requested=experiment.trials_requested,
        epochs=experiment.epochs,
        parallel=experiment.parallel,
        runner=runner,
    )


def chooser_label(experiment: Experiment, runner: str = "here") -> str:
    """``"lr sweep · 4/6 · stopped"`` (finished trials of all; the status unless the
    experiment is finished; ``runner`` as :func:`shown_experiment`): an experiment in the
    chooser."""
    done = sum(1 for t in experiment.trials if t.status == "finished")
    label = f"{experiment.name} · {done}/{len(experiment.trials)}"
    status = experiment.status
    if status == "running" and runner != "here":
        status = "interrupted" if runner == "dead" else "running elsewhere"
    return label if status == "finished" else f"{label} · {status}"


def runner_of(experiment: Experiment, running_here: bool) -> str:
    """Who runs ``experiment``: "here", "elsewhere" or "dead" (see :func:`shown_experiment`)."""
    from engine.experiments.runner import runner_alive  # noqa: PLC0415

    if running_here or experiment.status != "running":
        return "here"
    return "elsewhere" if runner_alive(experiment) else "dead"
