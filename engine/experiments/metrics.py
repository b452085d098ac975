"""Which value ranks an experiment's trials: the choices a project's runs log, the default.

A run logs ``loss`` and each metric of ``training.metrics`` under its name (Keras's rule:
``metrics=["mse"]`` logs ``mse``), and the same with ``val_`` in front when it has
validation data. :func:`metric_choices` lists them, :func:`default_metric` picks the first
metric's validation value (else ``val_loss``), and :func:`check_metric` refuses a name the
runs will not log, before anything starts.
"""

from __future__ import annotations

from typing import Any

from engine.experiments.errors import SweepError

__all__ = ["check_metric", "default_metric", "metric_choices"]


def _metric_names(training: dict[str, Any]) -> list[str] | None:
    """Logged names of the project's metrics; None when the graph has several outputs'
    metrics (names then carry output ids, known only once the model is built)."""
    metrics = training.get("metrics") or []
    if isinstance(metrics, dict):
        return None
    names = []
    for metric in metrics:
        if isinstance(metric, str):
            names.append(metric)
        elif isinstance(metric, dict):
            try:
                from engine import metrics as registry  # noqa: PLC0415

                names.append(registry.get(metric).name)
            except (ValueError, TypeError, KeyError):
                names.append(str(metric.get("name")))
    return names


def metric_choices(project_json: dict[str, Any]) -> list[str]:
    """``val_<metric>`` for each metric, ``val_loss``, each ``<metric>``, ``loss``."""
    training = project_json.get("training") or {}
    names = _metric_names(training) or []
    return [f"val_{n}" for n in names] + ["val_loss"] + names + ["loss"]


def default_metric(project_json: dict[str, Any]) -> str:
    return metric_choices(project_json)[0]


def check_metric(project_json: dict[str, Any], metric: str) -> None:
    """:class:`SweepError` when the project's runs will not log ``metric``."""
    training = project_json.get("training") or {}
    if _metric_names(training) is None:
        return  # per-output metrics: the run says what it logged if this is not among them
    choices = metric_choices(project_json)
    if metric not in choices:
        raise SweepError(
            f"metric {metric!r}: the project's runs do not log it; choose one of "
            f"{', '.join(choices)} (add a metric to the project's training.metrics for more)"
        )
