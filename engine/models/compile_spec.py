"""What ``model.compile(loss=..., metrics=..., loss_weights=...)`` means for each output.

Keras accepts one loss for every output, a list in output order, or a dict by output name
(the name of the layer that produces it); the same for metrics and loss weights. This
module resolves those forms once into one loss, one weight and a list of metric objects per
output, computes the weighted total loss, and names what is logged: ``loss`` and the
metric names for one output; ``loss``, ``<output>_loss`` and ``<output>_<metric>`` for
several.
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

    @property
    def several(self) -> bool:
        return len(self.output_names) > 1

    def loss_names(self) -> list[str]:
        """Log keys of the per-output losses (empty for one output)."""
        if not self.several:
            return []
        return [f"{n}_loss" for n, loss in zip(self.output_names, self.losses) if loss is not None]

    def compute_loss(self, y_true: Sequence, y_pred: Sequence[Tensor]):
        """The weighted total loss (a scalar Tensor) and each output's own loss."""
        total = None
        parts = []
        for loss, weight, t, p in zip(self.losses, self.loss_weights, y_true, y_pred):
            if loss is None:
                continue
            value = loss(t, p)
            parts.append(value)
            term = value if weight == 1.0 else ops.mul(value, weight)
            total = term if total is None else ops.add(total, term)
        return total, parts

    def update_metrics(self, y_true: Sequence, y_pred: Sequence[Tensor]) -> None:
        for metrics, t, p in zip(self.metrics, y_true, y_pred):
            for metric in metrics:
                metric.update_state(t, p)

    def reset_metrics(self) -> None:
        for metrics in self.metrics:
            for metric in metrics:
                metric.reset_state()

    def metric_results(self) -> dict[str, float]:
        """Each metric's current value (one device-to-host sync per value)."""
        return {
            name: float(metric.result())
            for metrics, names in zip(self.metrics, self.metric_names)
            for metric, name in zip(metrics, names)
        }


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


def resolve(output_names: list[str], loss, metrics, loss_weights) -> CompileSpec:
    """Turn compile's arguments into a :class:`CompileSpec` (fresh objects per output)."""
    from engine import losses as losses_module  # noqa: PLC0415 - families load lazily
    from engine import metrics as metrics_module  # noqa: PLC0415

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

    if metrics is None:
        metric_lists = [[] for _ in range(n)]
    elif isinstance(metrics, dict) and not _is_config(metrics, output_names):
        metric_lists = _per_output(metrics, output_names, "metrics", allow_missing=True)
    elif (
        isinstance(metrics, list | tuple)
        and n > 1
        and len(metrics) == n
        and all(isinstance(m, list | tuple) or m is None for m in metrics)
    ):
        metric_lists = list(metrics)  # one list per output
    elif isinstance(metrics, list | tuple | dict):
        items = [metrics] if isinstance(metrics, dict) else list(metrics)
        metric_lists = [list(items) for _ in range(n)]  # the same metrics on every output
    else:
        raise ValueError(
            f"metrics must be a list (e.g. ['accuracy']) or a dict by output name, got {metrics!r}"
        )
    metric_objects = []
    metric_names = []
    taken: set[str] = {"loss", *(f"{name}_loss" for name in output_names)}
    used: set[int] = set()
    for out_name, items, loss_obj in zip(output_names, metric_lists, losses):
        items = [] if items is None else items
        items = items if isinstance(items, list | tuple) else [items]
        objects, names = [], []
        for identifier in items:
            metric = metrics_module.get(identifier, loss=loss_obj)
            if id(metric) in used:
                raise ValueError(
                    f"the metric object {metric!r} is given for two outputs; a metric keeps "
                    "running totals, so give each output its own (or use names like 'mae')"
                )
            used.add(id(metric))
            name = metric.name if n == 1 else f"{out_name}_{metric.name}"
            base, k = name, 1
            while name in taken:
                name = f"{base}_{k}"
                k += 1
            taken.add(name)
            objects.append(metric)
            names.append(name)
        metric_objects.append(objects)
        metric_names.append(names)
    return CompileSpec(output_names, losses, weights, metric_objects, metric_names)
