"""Keeping a training step from leaving NaN or infinite weights behind, cheaply.

A loss can still be finite (1e27, say) when the update computed from it overflows: an
infinite gradient turns Adam's ``m / sqrt(v)`` into ``inf / inf = NaN``, ``lr * g`` can
exceed float32's range, and a sample of 1e30 makes BatchNormalization's moving variance
infinite while the loss stays small. :class:`StepGuard` lets no such step through, and
puts the model back exactly as it was before it:

* :meth:`~StepGuard.begin` keeps references to every weight's array (the forward pass
  replaces a moving statistic's array with ``assign``; it never writes into one) and the
  optimizer's step counter: no copy;
* :meth:`~StepGuard.forward_finite` checks the weights the forward pass replaced (moving
  statistics; usually none), and :meth:`~StepGuard.gradients_finite` is one fused check
  of the gradients, both before the update: a NaN or infinity there stops the step while
  the trainable weights and the optimizer have not changed yet;
* :meth:`~StepGuard.protect` copies the trainable weights and the optimizer's slots (which
  the update changes in place) only when the update *could* overflow: for the built-in
  optimizers, whose update is bounded by ``lr × factor × the largest value``, that is when
  a weight, slot or gradient passes 1e15, or the bound passes 1e30 (a learning rate like
  1e6, a huge input); other optimizers always get the copy;
* :meth:`~StepGuard.finite` is one fused check of the weights after the update (and of the
  optimizer's slots too after an update that could overflow);
* :meth:`~StepGuard.restore` puts everything back (bit for bit: the same arrays, the same
  counter).

A fused check is the dot product of each array with itself (BLAS, or cuBLAS on a GPU),
added up and brought to the host once: NaN or infinity anywhere makes the total
non-finite, a finite total proves every value finite and bounds every magnitude by its
square root (which is what :meth:`~StepGuard.protect` needs), and only a non-finite total
(squares above float32's range can also give one) is looked at array by array.

Cost, measured with benchmarks/bench_step_guard.py on the MLP benchmark's shape
(784-512-512-10, batch 128, 0.67 M weights) on an idle 16-core x86 machine: the checks
take 0.30 ms of a 3.3 ms SGD step (9 %) and 0.36 ms of an Adam step (2-3 %); the copy,
made only for steps that could overflow, 0.5-0.9 ms more.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine import backend
from engine.autodiff.tensor import Tensor

__all__ = ["NonFiniteArray", "StepGuard", "describe_arrays"]

#: A value (weight, slot or gradient) above this makes the next update worth a copy.
SAFE_MAGNITUDE = 1e15
#: ... and so does an update bound ``lr × factor × magnitude`` above this.
SAFE_UPDATE = 1e30


@dataclass(frozen=True)
class NonFiniteArray:
    """One array that holds NaN or infinite values after a step."""

    layer: str  # the layer whose weight it is (or whose weight the optimizer slot follows)
    name: str  # "hidden1/kernel", or "v of hidden1/kernel" for an optimizer slot
    weights: bool  # a weight of the model (False: an optimizer slot)
    count: int  # how many of its values are not finite
    size: int  # how many values it has


def _layer_list(names: list[str], limit: int = 4) -> str:
    unique = list(dict.fromkeys(names))
    if len(unique) > limit:
        return ", ".join(unique[:limit]) + f" and {len(unique) - limit} more layers"
    return ", ".join(unique)


def describe_arrays(found: list[NonFiniteArray]) -> str:
    """``12 weights of hidden1, hidden2 and 420 values of the optimizer's state for hidden1``."""
    weights = [a for a in found if a.weights]
    state = [a for a in found if not a.weights]
    parts = []
    if weights:
        count = sum(a.count for a in weights)
        noun = "weight" if count == 1 else "weights"
        parts.append(f"{count:,} {noun} of {_layer_list([a.layer for a in weights])}")
    if state:
        count = sum(a.count for a in state)
        noun = "value" if count == 1 else "values"
        layers = _layer_list([a.layer for a in state])
        parts.append(f"{count:,} {noun} of the optimizer's state for {layers}")
    return " and ".join(parts) or "nothing"


def _layer_of(variable, fallback: str) -> tuple[str, str]:
    """``(layer name, weight name)`` of a variable named ``"layer/weight"``."""
    name = str(getattr(variable, "name", None) or fallback)
    return name.split("/", 1)[0], name


def _is_floating(array) -> bool:
    kind = getattr(array.dtype, "kind", None)
    if kind is not None:
        return kind in "fc"
    return bool(backend.xp.isdtype(array.dtype, ("real floating", "complex floating")))


def _self_dot(xp, array):
    """``sum(array * array)`` in one pass (a BLAS dot where the namespace has one)."""
    vdot = getattr(xp, "vdot", None)
    if vdot is not None:
        return vdot(array, array)
    return xp.sum(array * array)


def _fused_total(arrays: list) -> float:
    """The sum of the squares of every value of ``arrays``: one device sync. Its square
    root bounds every value's magnitude; NaN or infinity anywhere makes it non-finite."""
    xp = backend.xp
    arrays = [a for a in arrays if _is_floating(a) and math.prod(a.shape)]
    if xp.__name__ == "numpy":
        return math.fsum(float(_self_dot(xp, a)) for a in arrays)
    total = None
    for a in arrays:
        part = xp.astype(_self_dot(xp, a), xp.float64)
        total = part if total is None else total + part
    return 0.0 if total is None else float(backend.to_numpy(total))


def _all_finite(arrays: list) -> tuple[bool, float]:
    """``(every value finite, the sum of squares)``; exact even when the sum overflows
    (values above ~1.8e19 in float32), which an array-by-array look then decides."""
    total = _fused_total(arrays)
    if math.isfinite(total):
        return True, total
    xp = backend.xp
    return all(bool(xp.all(xp.isfinite(a))) for a in arrays if _is_floating(a)), total


def _copy(xp, source, buffer):
    """``source`` copied into ``buffer`` when it fits (no allocation), else a new copy."""
    copyto = getattr(xp, "copyto", None)
    if copyto is None:
        return xp.asarray(source, copy=True)
    if buffer is None or buffer.shape != source.shape or buffer.dtype != source.dtype:
        buffer = xp.empty_like(source)
    copyto(buffer, source)
    return buffer


def _put_back(xp, current, saved):
    """``saved``'s values in ``current`` when it can take them in place, else ``saved``."""
    flags = getattr(current, "flags", None)
    if (
        hasattr(xp, "copyto")
        and current is not saved
        and current.shape == saved.shape
        and current.dtype == saved.dtype
        and getattr(flags, "writeable", True)
    ):
        xp.copyto(current, saved)
        return current
    return saved


def _slot_lists(optimizer) -> list[tuple[str, list]]:
    """The optimizer's per-variable state lists (``[("m", [...]), ("v", [...])]``)."""
    slots = getattr(optimizer, "_slots", None)
    if not isinstance(slots, dict):
        return []
    return [(name, arrays) for name, arrays in slots.items() if isinstance(arrays, list)]


def _update_factor(optimizer) -> float | None:
    """For the built-in optimizers, how many times ``lr × the largest value`` (weight,
    slot or gradient) one update can change a value by; ``None`` when it is unbounded (an
    epsilon of 0, centered RMSprop's root of a difference) or the optimizer is another."""
    from engine import optimizers  # noqa: PLC0415 - families load lazily

    kind = type(optimizer)
    if getattr(optimizer, "loss_scale_factor", None) is not None:
        return None  # the gradients are divided by it: no bound from their size
    decay = float(getattr(optimizer, "weight_decay", None) or 0.0)
    if kind is optimizers.SGD:
        if optimizer.momentum >= 1.0:
            return None  # the velocity can grow without bound
        return 2.0 / (1.0 - optimizer.momentum) + decay
    if kind in (optimizers.Adam, optimizers.AdamW):
        if optimizer.epsilon <= 0:
            return None
        # alpha <= lr / (1 - beta_1^t) <= lr / (1 - beta_1); |m| / (sqrt(v) + eps) <= |m| / eps
        return 1.0 / ((1.0 - optimizer.beta_1) * optimizer.epsilon) + decay
    if kind is optimizers.RMSprop:
        if optimizer.centered or optimizer.epsilon <= 0:
            return None
        return 1.0 / math.sqrt(optimizer.epsilon) + decay
    return None


def _learning_rate(optimizer) -> float:
    current = getattr(optimizer, "current_learning_rate", None)
    try:
        return abs(float(current() if callable(current) else optimizer.learning_rate))
    except (TypeError, ValueError, AttributeError):
        return math.inf


class StepGuard:
    """References before a step, fused checks around the update, a copy only when the
    update could overflow, and an exact restore when the step must be undone.

    One guard serves one optimizer for many steps; its copy buffers are reused."""

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self._variables: list = []
        self._trainable: list = []
        self._references: list = []
        self._weight_copies: list = []
        self._slot_copies: list = []
        self._copied = False
        self._iterations = None
        self._counter = "iterations"
        self._state_total: float | None = None  # sum of |weights and slots|, last step
        self._gradient_total = 0.0

    def stale(self) -> None:
        """Weights may have been set from outside (a callback, the user): measure them
        again before the next update instead of trusting the last step's check."""
        self._state_total = None

    def begin(self, variables: list, trainable: list) -> None:
        """Note the arrays of ``variables`` (every weight of the model) and the optimizer's
        counter; ``trainable`` are registered with the optimizer first (as its first
        update would register them), so every slot the step can touch exists."""
        build = getattr(self.optimizer, "build", None)
        if callable(build):
            build(trainable)
        self._variables = list(variables)
        self._trainable = list(trainable)
        self._references = [v.data for v in self._variables]
        # The raw counter of calls where there is one (with gradient accumulation
        # ``iterations`` counts updates and cannot be set back to a call in between).
        self._counter = "_iterations" if hasattr(self.optimizer, "_iterations") else "iterations"
        self._iterations = getattr(self.optimizer, self._counter, None)
        self._copied = False

    def _state_arrays(self) -> list:
        weights = [v.data for v in self._trainable]
        return weights + [a for _, arrays in _slot_lists(self.optimizer) for a in arrays]

    def forward_finite(self) -> bool:
        """Whether the weights the forward pass replaced (moving statistics) are finite;
        no work at all when it replaced none."""
        changed = [v.data for v, r in zip(self._variables, self._references) if v.data is not r]
        return not changed or _all_finite(changed)[0]

    def gradients_finite(self, gradients: list) -> bool:
        """One fused check of the gradients, before they are applied."""
        arrays = [g.data if isinstance(g, Tensor) else g for g in gradients if g is not None]
        finite, total = _all_finite(arrays)
        self._gradient_total = total if math.isfinite(total) else math.inf
        return finite

    def protect(self) -> None:
        """Copy what the update changes in place, if the update could overflow."""
        if self._state_total is None:
            finite, total = _all_finite(self._state_arrays())
            self._state_total = total if finite and math.isfinite(total) else math.inf
        factor = _update_factor(self.optimizer)
        magnitude = math.sqrt(max(self._state_total, self._gradient_total))
        risky = (
            factor is None
            or magnitude > SAFE_MAGNITUDE
            or _learning_rate(self.optimizer) * factor * max(magnitude, 1.0) > SAFE_UPDATE
        )
        if not risky:
            return
        xp = backend.xp
        weights = self._pad(self._weight_copies, self._trainable)
        self._weight_copies = [_copy(xp, v.data, b) for v, b in zip(self._trainable, weights)]
        slots = self._state_arrays()[len(self._trainable) :]
        copies = self._pad(self._slot_copies, slots)
        self._slot_copies = [_copy(xp, a, b) for a, b in zip(slots, copies)]
        self._copied = True

    @staticmethod
    def _pad(buffers: list, like: list) -> list:
        return buffers + [None] * (len(like) - len(buffers))

    def finite(self) -> bool:
        """Whether every weight and optimizer slot is finite after the update (one fused
        check); remembers their size for the next step's :meth:`protect`."""
        arrays = [v.data for v in self._variables]
        if self._copied:
            # Slots are looked at only after an update that could overflow: in the others
            # they stay within the bound protect() checked (and Adam's tiny second moments
            # would make a pass over them slow).
            arrays += [a for _, lst in _slot_lists(self.optimizer) for a in lst]
        finite, total = _all_finite(arrays)
        self._state_total = total if finite and math.isfinite(total) else None
        return finite

    def nonfinite(self) -> list[NonFiniteArray]:
        """The weights and optimizer slots that hold NaN or infinite values now."""
        named = []
        for i, var in enumerate(self._variables):
            layer, name = _layer_of(var, f"weight {i}")
            named.append((layer, name, True, var.data))
        variables = list(getattr(self.optimizer, "variables", []) or [])
        for slot, arrays in _slot_lists(self.optimizer):
            for index, array in enumerate(arrays):
                owner = variables[index] if index < len(variables) else None
                layer, name = _layer_of(owner, f"weight {index}")
                named.append((layer, f"{slot} of {name}", False, array))
        xp = backend.xp
        found = []
        for layer, name, is_weight, array in named:
            if not _is_floating(array):
                continue
            bad = int(backend.to_numpy(xp.sum(xp.astype(~xp.isfinite(array), xp.int64))))
            if bad:
                size = int(math.prod(array.shape))
                found.append(NonFiniteArray(layer, name, is_weight, bad, size))
        return found

    def restore(self, updated: bool) -> bool:
        """Put back the model and optimizer as :meth:`begin` found them; ``updated`` says
        whether the optimizer ran. Returns False when that cannot be exact (the update ran
        without a copy, which :meth:`protect` makes only when it could overflow)."""
        xp = backend.xp
        # Arrays replaced since begin() (moving statistics, read-only weights) come back.
        for var, reference in zip(self._variables, self._references):
            if var.data is not reference:
                var.data = reference
        exact = not updated or self._copied
        if updated and self._copied:
            for var, saved in zip(self._trainable, self._weight_copies):
                var.data = _put_back(xp, var.data, saved)
            flat = [(lst, i) for _, lst in _slot_lists(self.optimizer) for i in range(len(lst))]
            for (lst, i), saved in zip(flat, self._slot_copies):
                lst[i] = _put_back(xp, lst[i], saved)
            # A copy that became the live array must not be overwritten by the next save.
            self._weight_copies = [None] * len(self._weight_copies)
            self._slot_copies = [None] * len(self._slot_copies)
        if self._iterations is not None:
            setattr(self.optimizer, self._counter, self._iterations)
        self.stale()
        return exact
