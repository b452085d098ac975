"""What ``model.compile(loss=..., metrics=..., loss_weights=..., weighted_metrics=...)``
means for each output.

Keras accepts one loss for every output, a list in output order, or a dict by output name
(the name of the layer that produces it); the same for metrics and loss weights. This
module resolves those forms once into one loss, one weight and a list of metric objects per
output, computes the weighted total loss, and names what is logged: ``loss`` and the
metric names for one output; ``loss``, ``<output>_loss`` and ``<output>_<metric>`` for
several.

Sample weights (``fit(sample_weight=...)`` or ``class_weight``) weight each output's loss
(Keras's ``sum(loss * w) / n``) and the ``weighted_metrics``; ``metrics`` stay unweighted,
as in Keras. A weighted metric whose name is taken by an unweighted one is logged as
``weighted_<name>`` (Keras's rule).

A metric whose result has one value per class, threshold or output (``F1Score(average=None)``,
``Precision(thresholds=[...])``, ``R2Score(class_aggregation=None)``) is logged as the
scalars ``<name>_0``, ``<name>_1``, ... (indices: the engine knows no class names here), so
that logs, history, ``evaluate(return_dict=True)`` and the CLI's history files hold numbers
only. ``metrics_names`` lists those keys once a result has been computed (Keras's
``metrics_names`` is also only complete after the model has run).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from engine.autodiff import ops
from engine.autodiff.tensor import Tensor

__all__ = ["CompileSpec", "resolve"]


@dataclass
class CompileSpec:
    """The resolved compile arguments of a model with ``len(output_names)`` outputs."""

    output_names: list[str]
    losses: list  # one Loss per output, or None for an output that is not trained
    loss_weights: list[float]
    metrics: list[list]  # Metric objects per output
    metric_names: list[list[str]] = field(default_factory=list)  # as logged
    weighted_metrics: list[list] = field(default_factory=list)  # get the sample weights
    weighted_metric_names: list[list[str]] = field(default_factory=list)
    # logged name -> how many values its last result had (only for per-value results)
    widths: dict[str, int] = field(default_factory=dict)

    @property
    def several(self) -> bool:
        return len(self.output_names) > 1

    def loss_names(self) -> list[str]:
        """Log keys of the per-output losses (empty for one output)."""
        if not self.several:
            return []
        return [f"{n}_loss" for n, loss in zip(self.output_names, self.losses) if loss is not None]

    def compute_loss(self, y_true: Sequence, y_pred: Sequence[Tensor], sample_weights=None):
        """The weighted total loss (a scalar Tensor) and each output's own loss;
        ``sample_weights`` is None or one array (or None) per output."""
        total = None
        parts = []
        weights = sample_weights if sample_weights is not None else [None] * len(self.losses)
        for loss, weight, t, p, w in zip(self.losses, self.loss_weights, y_true, y_pred, weights):
            if loss is None:
                continue
            value = loss(t, p) if w is None else loss(t, p, w)
            parts.append(value)
            term = value if weight == 1.0 else ops.mul(value, weight)
            total = term if total is None else ops.add(total, term)
        return total, parts

    def update_metrics(self, y_true: Sequence, y_pred: Sequence[Tensor], sample_weights=None):
        for metrics, t, p in zip(self.metrics, y_true, y_pred):
            for metric in metrics:
                metric.update_state(t, p)
        weights = sample_weights if sample_weights is not None else [None] * len(y_true)
        for metrics, t, p, w in zip(self.weighted_metrics, y_true, y_pred, weights):
            for metric in metrics:
                metric.update_state(t, p, w)

    def reset_metrics(self) -> None:
        for metrics in (*self.metrics, *self.weighted_metrics):
            for metric in metrics:
                metric.reset_state()

    def all_metric_names(self) -> list[str]:
        """Every logged metric name: the unweighted metrics, then the weighted ones."""
        groups = (*self.metric_names, *self.weighted_metric_names)
        return [key for names in groups for name in names for key in self._keys(name)]

    def _keys(self, name: str) -> list[str]:
        width = self.widths.get(name)
        return [f"{name}_{i}" for i in range(width)] if width else [name]

    def metric_results(self) -> dict[str, float]:
        """Each metric's current value (one device-to-host sync per metric); a result with
        several values gives one scalar per value (see the module docstring)."""
        objects = (*self.metrics, *self.weighted_metrics)
        names = (*self.metric_names, *self.weighted_metric_names)
        out: dict[str, float] = {}
        for group, group_names in zip(objects, names):
            for metric, name in zip(group, group_names):
                value = metric.result()
                size = getattr(value, "size", 1)
                if getattr(value, "ndim", 0) == 0 or size == 1:
                    self.widths.pop(name, None)
                    out[name] = float(value)
                    continue
                self.widths[name] = int(size)
                for i, item in enumerate(value.reshape(-1).tolist()):
                    out[f"{name}_{i}"] = float(item)
        return out


def _is_config(value, names: list[str]) -> bool:
    """A dict that configures one object (``{"name": "huber", "delta": 2.0}`` or Keras's
    ``{"class_name": ..., "config": ...}``) rather than mapping output names."""
    return (
        isinstance(value, dict)
        and bool({"name", "class_name"} & set(value))
        and not set(value) <= set(names)
    )


def _per_output(value, names: list[str], what: str, allow_missing: bool) -> list:
    """Spread a compile argument over the outputs: single, list, or dict by name."""
    n = len(names)
    if isinstance(value, dict) and not _is_config(value, names):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(
                f"{what} names an output {unknown[0]!r}, but the model's outputs are: "
                f"{', '.join(names)}"
            )
        if not allow_missing:
            missing = [name for name in names if name not in value]
            if missing:
                raise ValueError(f"{what} has no entry for output {missing[0]!r}")
        return [value.get(name) for name in names]
    if isinstance(value, list | tuple):
        if len(value) != n:
            raise ValueError(f"{what} has {len(value)} entries, but the model has {n} outputs")
        return list(value)
    return [value] * n


def resolve(
    output_names: list[str], loss, metrics, loss_weights, weighted_metrics=None
) -> CompileSpec:
    """Turn compile's arguments into a :class:`CompileSpec` (fresh objects per output)."""
    from engine import losses as losses_module  # noqa: PLC0415 - families load lazily

    n = len(output_names)
    if loss is None:
        loss_list = [None] * n
    elif n == 1 and isinstance(loss, list | tuple) and len(loss) == 1:
        loss_list = list(loss)
    else:
        loss_list = _per_output(loss, output_names, "loss", allow_missing=True)
    losses = [None if item is None else losses_module.get(item) for item in loss_list]

    if loss_weights is None:
        weights = [1.0] * n
    else:
        weights = _per_output(loss_weights, output_names, "loss_weights", allow_missing=True)
        weights = [1.0 if w is None else float(w) for w in weights]

    taken: set[str] = {"loss", *(f"{name}_loss" for name in output_names)}
    used: set[int] = set()
    lists = _metric_lists(metrics, output_names, "metrics")
    objects, names = _make_metrics(lists, output_names, losses, taken, used, weighted=False)
    lists = _metric_lists(weighted_metrics, output_names, "weighted_metrics")
    w_objects, w_names = _make_metrics(lists, output_names, losses, taken, used, weighted=True)
    return CompileSpec(output_names, losses, weights, objects, names, w_objects, w_names)


def _metric_lists(metrics, output_names: list[str], what: str) -> list[list]:
    """A compile metrics argument as one list of identifiers per output."""
    n = len(output_names)
    if metrics is None:
        return [[] for _ in range(n)]
    if isinstance(metrics, dict) and not _is_config(metrics, output_names):
        return _per_output(metrics, output_names, what, allow_missing=True)
    if (
        isinstance(metrics, list | tuple)
        and n > 1
        and len(metrics) == n
        and all(isinstance(m, list | tuple) or m is None for m in metrics)
    ):
        return list(metrics)  # one list per output
    if isinstance(metrics, list | tuple | dict):
        items = [metrics] if isinstance(metrics, dict) else list(metrics)
        return [list(items) for _ in range(n)]  # the same metrics on every output
    raise ValueError(
        f"{what} must be a list (e.g. ['accuracy']) or a dict by output name, got {metrics!r}"
    )


def _make_metrics(lists, output_names, losses, taken: set, used: set, weighted: bool):
    """Metric objects and their logged names per output (names unique across ``taken``)."""
    from engine import metrics as metrics_module  # noqa: PLC0415

    n = len(output_names)
    metric_objects = []
    metric_names = []
    for out_name, items, loss_obj in zip(output_names, lists, losses):
        items = [] if items is None else items
        items = items if isinstance(items, list | tuple) else [items]
        objects, names = [], []
        for identifier in items:
            metric = metrics_module.get(identifier, loss=loss_obj)
            if id(metric) in used:
                raise ValueError(
                    f"the metric object {metric!r} is given twice; a metric keeps "
                    "running totals, so give each output its own (or use names like 'mae')"
                )
            used.add(id(metric))
            prefix = "" if n == 1 else f"{out_name}_"
            name = prefix + metric.name
            if weighted and name in taken:
                name = f"{prefix}weighted_{metric.name}"  # Keras's name for the weighted twin
            base, k = name, 1
            while name in taken:
                name = f"{base}_{k}"
                k += 1
            taken.add(name)
            objects.append(metric)
            names.append(name)
        metric_objects.append(objects)
        metric_names.append(names)
    return metric_objects, metric_names
