"""What a training run reports to the window: the values its Qt signals carry (run info,
batch updates, the result) and the evaluation of a trained model on a split.

Pure data and numpy: nothing here knows Qt, so the types can be built and checked anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["BatchUpdate", "Evaluation", "RunInfo", "TrainingResult", "evaluate_model"]

_MAX_DISPLAY_SAMPLES = 5000  # the sample grid shows at most this many validation samples


@dataclass
class RunInfo:
    """A run about to start (``started``)."""

    project_name: str
    epochs: int
    steps_per_epoch: int
    batch_size: int
    train_samples: int
    validation_samples: int
    task: str
    class_names: list[str] | None
    input_shape: tuple[int, ...]
    metrics: list[str]
    parameters: int
    warnings: list[str] = field(default_factory=list)


@dataclass
class BatchUpdate:
    """Per-batch values since the previous update, and where the run stands.

    ``x`` are positions in epochs (batch ``b`` of epoch ``e`` ends at ``e + (b+1)/steps``);
    ``values["loss"]`` the loss of each of those batches, other keys running means of the
    metrics within the epoch.
    """

    x: list[float]
    values: dict[str, list[float]]
    epoch: int
    step: int
    steps: int
    epochs: int
    samples_done: int
    samples_total: int
    samples_per_second: float
    eta_seconds: float | None
    elapsed_seconds: float

    @property
    def fraction(self) -> float:
        return self.samples_done / self.samples_total if self.samples_total else 0.0


@dataclass
class Evaluation:
    """The trained model's answers on one split (``validation`` by default)."""

    split: str
    task: str
    x_display: np.ndarray  # inputs in their own units (normalisation undone)
    y_true: np.ndarray
    y_pred: np.ndarray  # class indices (classification) or values
    confidence: np.ndarray | None
    probabilities: np.ndarray | None
    class_names: list[str] | None
    texts: list[str] | None
    feature_names: list[str] | None
    logs: dict[str, float]
    total_samples: int

    @property
    def accuracy(self) -> float | None:
        if self.task != "classification" or not len(self.y_true):
            return None
        return float(np.mean(self.y_true.reshape(-1) == self.y_pred.reshape(-1)))

    @property
    def num_classes(self) -> int | None:
        if self.task != "classification":
            return None
        if self.class_names is not None:
            return len(self.class_names)
        if self.probabilities is not None and self.probabilities.ndim == 2:
            return max(2, self.probabilities.shape[1])
        return int(max(self.y_true.max(initial=0), self.y_pred.max(initial=0))) + 1


@dataclass
class TrainingResult:
    """A finished or stopped run: the trained model and what it did."""

    model: Any
    history: dict[str, list[float]]
    epochs_completed: int
    epochs_planned: int
    stopped: bool
    elapsed_seconds: float
    evaluation: Evaluation | None
    project_json: dict[str, Any]
    normalization: dict[str, Any] | None
    input_shape: tuple[int, ...]
    class_names: list[str] | None
    task: str
    data: Any = None  # the engine.data.PreparedData it trained on (for evaluation)
    note: str | None = None  # why training ended early (it diverged: which batch, what was kept)


def evaluate_model(model, data, split: str = "validation", batch_size: int = 256) -> Evaluation:
    """Predict one split of prepared data (``engine.data.PreparedData``) and compare.

    Runs the model, so call it in a worker thread (or when no worker runs). Multi-output
    models are judged on their first output.
    """
    from engine.data import invert_normalization  # noqa: PLC0415

    part = data.split(split) if split != "validation" or data.validation is not None else None
    if part is None:
        split, part = "train", data.train
    outputs = model.predict(part.x, batch_size=batch_size, verbose=0)
    out = np.asarray(outputs[0] if isinstance(outputs, list) else outputs, dtype=np.float64)
    logs: dict[str, float] = {}
    if getattr(model, "compiled", False):
        y = part.y if len(model.outputs) == 1 else [part.y] * len(model.outputs)
        try:
            logs = {
                k: float(v)
                for k, v in model.evaluate(
                    part.x, y, batch_size=batch_size, return_dict=True
                ).items()
            }
        except (ValueError, TypeError):
            logs = {}
    task = part.task
    probabilities = confidence = None
    y_true = np.asarray(part.y)
    if task == "classification":
        if out.ndim == 2 and out.shape[1] == 1:
            p = out[:, 0]
            if p.min() < 0 or p.max() > 1:  # logits of a binary classifier
                p = 1.0 / (1.0 + np.exp(-np.clip(p, -60, 60)))
            probabilities = np.column_stack([1.0 - p, p])
        else:
            flat = out.reshape(len(out), -1)
            sums = flat.sum(axis=1)
            if (flat >= 0).all() and np.allclose(sums, 1.0, atol=1e-3):
                probabilities = flat
            else:  # logits: softmax for the confidence shown to the user
                shifted = np.exp(flat - flat.max(axis=1, keepdims=True))
                probabilities = shifted / shifted.sum(axis=1, keepdims=True)
        y_pred = np.argmax(probabilities, axis=1).astype(np.int64)
        confidence = probabilities[np.arange(len(y_pred)), y_pred]
    else:
        y_pred = out.reshape(y_true.shape) if out.size == y_true.size else out
    n = min(len(part), _MAX_DISPLAY_SAMPLES)
    x_display = np.asarray(part.x[:n])
    if x_display.dtype.kind == "f":
        x_display = invert_normalization(x_display, data.normalization)
    return Evaluation(
        split=split,
        task=task,
        x_display=x_display,
        y_true=y_true,
        y_pred=y_pred,
        confidence=confidence,
        probabilities=probabilities,
        class_names=list(part.class_names) if part.class_names is not None else None,
        texts=list(part.texts[:n]) if part.texts is not None else None,
        feature_names=list(part.feature_names) if part.feature_names is not None else None,
        logs=logs,
        total_samples=len(part),
    )
