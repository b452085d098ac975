"""Mean intersection over union of classes (``keras.metrics.MeanIoU``), for segmentation.

As in Keras, ``update_state`` takes class ids by default (``sparse_y_true=True``,
``sparse_y_pred=True``): give it ``argmax`` of the scores yourself, or set
``sparse_y_pred=False`` to let the metric take the argmax over ``axis`` (channels-first
segmentation maps ``(N, C, H, W)`` use ``axis=1``). A confusion matrix of
``num_classes x num_classes`` weighted counts is summed over every batch; ids outside
``[0, num_classes)`` and ``ignore_class`` are left out. The result is the mean IoU of the
classes that occur in the targets or predictions.
"""

from __future__ import annotations

from typing import Any

from engine import backend
from engine.metrics._confusion_counts import EPSILON
from engine.metrics.base import Metric, _array, _to_host

__all__ = ["MeanIoU"]


class MeanIoU(Metric):
    """``IoU = tp / (tp + fp + fn)`` per class, averaged over the classes present."""

    def __init__(
        self,
        num_classes,
        name=None,
        dtype=None,
        ignore_class=None,
        sparse_y_true=True,
        sparse_y_pred=True,
        axis=-1,
    ):
        if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
            raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
        if ignore_class is not None and (
            not isinstance(ignore_class, int) or isinstance(ignore_class, bool)
        ):
            raise ValueError(f"ignore_class must be an integer or None, got {ignore_class!r}")
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise ValueError(f"axis must be an integer, got {axis!r}")
        self.num_classes = num_classes
        self.ignore_class = ignore_class
        self.sparse_y_true = bool(sparse_y_true)
        self.sparse_y_pred = bool(sparse_y_pred)
        self.axis = axis
        super().__init__(name)

    def reset_state(self) -> None:
        self._matrix = None  # float64 device array (num_classes, num_classes) once updated

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        xp = backend.xp
        true, pred = _array(y_true), _array(y_pred)
        if not self.sparse_y_true:
            true = xp.argmax(true, axis=self.axis)
        if not self.sparse_y_pred:
            pred = xp.argmax(pred, axis=self.axis)
        # Keras casts the ids to int: fractional ids are truncated toward zero.
        true = xp.reshape(xp.astype(true, xp.int64), (-1,))
        pred = xp.reshape(xp.astype(pred, xp.int64), (-1,))
        if true.shape != pred.shape:
            raise ValueError(
                f"MeanIoU got {true.shape[0]} target ids but {pred.shape[0]} predicted ids; "
                "with scores rather than ids, set sparse_y_pred=False (or sparse_y_true=False)"
            )
        k = self.num_classes
        valid = (true >= 0) & (true < k) & (pred >= 0) & (pred < k)
        if self.ignore_class is not None:
            valid = valid & (true != self.ignore_class)
        if sample_weight is None:
            weight = xp.ones(true.shape, dtype=xp.float64)
        else:
            weight = xp.reshape(xp.astype(_array(sample_weight), xp.float64), (-1,))
            weight = xp.broadcast_to(weight, true.shape)
        weight = xp.where(valid, weight, xp.zeros_like(weight))
        # One-hot rows and columns: matrix[i, j] = sum of weights with true i, predicted j.
        classes = xp.reshape(xp.arange(k, dtype=xp.int64), (1, k))
        rows = xp.astype(xp.reshape(true, (-1, 1)) == classes, xp.float64) * xp.reshape(
            weight, (-1, 1)
        )
        cols = xp.astype(xp.reshape(pred, (-1, 1)) == classes, xp.float64)
        matrix = xp.matmul(backend.permute_dims(rows, (1, 0)), cols)
        self._matrix = matrix if self._matrix is None else self._matrix + matrix

    def result(self) -> float:
        if self._matrix is None:
            return 0.0
        xp = backend.xp
        m = self._matrix
        predicted = xp.sum(m, axis=0)
        actual = xp.sum(m, axis=1)
        tp = xp.sum(m * xp.eye(self.num_classes, dtype=xp.float64), axis=1)  # the diagonal
        denominator = predicted + actual - tp
        valid = denominator > 1e-9
        iou = xp.where(valid, tp / (denominator + EPSILON), xp.zeros_like(tp))
        count = xp.sum(xp.astype(valid, xp.float64))
        return _to_host(xp.sum(iou) / (count + EPSILON), self.name)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "ignore_class": self.ignore_class,
            "sparse_y_true": self.sparse_y_true,
            "sparse_y_pred": self.sparse_y_pred,
            "axis": self.axis,
        }
