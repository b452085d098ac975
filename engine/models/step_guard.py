"""Keeping a training step from leaving NaN or infinite weights behind.

A loss can still be finite (1e27, say) when the update computed from it overflows: an
infinite gradient turns Adam's ``m / sqrt(v)`` into ``inf / inf = NaN``, ``lr * g`` can
exceed float32's range. Checking the loss alone therefore lets garbage into the weights,
and from there into every checkpoint. :class:`StepGuard` closes that gap:

* :meth:`StepGuard.save`, before the step, copies every weight of the model (the trainable
  ones and the others: BatchNormalization's moving statistics change in the forward pass)
  and the optimizer's slot arrays and step counter into buffers kept from step to step;
* :meth:`StepGuard.finite`, after the update, is one fused check over all of them: the
  sum of each array's dot product with itself, brought to the host once. NaN or infinity
  anywhere makes that sum non-finite, and a finite sum proves every value finite. Only
  when the sum is not finite (which squares above ~1.8e19 can also cause) does an exact
  per-array ``isfinite`` pass decide;
* :meth:`StepGuard.restore` copies the buffers back, so the model and its optimizer are
  exactly as they were before the step (bit for bit: the same arrays, the same counter).

Cost, per step: one copy of the weights and optimizer slots (memory bandwidth, no
arithmetic) and one BLAS dot per array. On the MLP benchmark (784-512-512-10, batch 128,
SGD with momentum: 0.67 M weights plus as many slot values) that is about 0.5 ms of a
step, measured in benchmarks/bench_step_guard.py. The buffers double the memory of the
weights and optimizer state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine import backend

__all__ = ["NonFiniteArray", "StepGuard", "describe_arrays"]


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


def _copy(xp, source, buffer):
    """``source`` copied into ``buffer`` when it fits (no allocation), else a new copy."""
    copyto = getattr(xp, "copyto", None)
    if (
        copyto is not None
        and buffer is not None
        and buffer.shape == source.shape
        and buffer.dtype == source.dtype
    ):
        copyto(buffer, source)
        return buffer
    if copyto is not None:
        fresh = xp.empty_like(source)
        copyto(fresh, source)
        return fresh
    return xp.asarray(source, copy=True)


def _writable_like(xp, target, saved) -> bool:
    flags = getattr(target, "flags", None)
    return (
        hasattr(xp, "copyto")
        and target.shape == saved.shape
        and target.dtype == saved.dtype
        and getattr(flags, "writeable", True)
    )


def _slot_lists(optimizer) -> list[tuple[str, list]]:
    """The optimizer's per-variable state lists (``[("m", [...]), ("v", [...])]``)."""
    slots = getattr(optimizer, "_slots", None)
    if not isinstance(slots, dict):
        return []  # an optimizer of another kind: only its weights' effect is guarded
    return [(name, arrays) for name, arrays in slots.items() if isinstance(arrays, list)]


class StepGuard:
    """Snapshot before a step, fused finiteness check after it, exact restore on failure.

    One guard serves one model and optimizer for many steps; its buffers are reused (and
    reallocated only when a weight's shape or dtype changes)."""

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self._variables: list = []
        self._weights: list = []
        self._slots: list = []  # one buffer per (slot list, index), in _slot_lists order
        self._iterations = None
        self._saved = False

    def save(self, variables: list, trainable: list) -> None:
        """Copy ``variables`` (every weight of the model) and the optimizer's state.

        ``trainable`` are first registered with the optimizer (as its first update would
        register them), so that every slot the step can touch exists and is saved."""
        xp = backend.xp
        optimizer = self.optimizer
        build = getattr(optimizer, "build", None)
        if callable(build):
            build(trainable)
        self._variables = list(variables)
        weights = self._weights + [None] * (len(self._variables) - len(self._weights))
        self._weights = [_copy(xp, v.data, b) for v, b in zip(self._variables, weights)]
        arrays = [a for _, lst in _slot_lists(optimizer) for a in lst]
        slots = self._slots + [None] * (len(arrays) - len(self._slots))
        self._slots = [_copy(xp, a, b) for a, b in zip(arrays, slots)]
        self._iterations = getattr(optimizer, "iterations", None)
        self._saved = True

    def _arrays(self) -> list:
        weights = [v.data for v in self._variables]
        slots = [a for _, lst in _slot_lists(self.optimizer) for a in lst]
        return [a for a in weights + slots if _is_floating(a)]

    def finite(self) -> bool:
        """Whether every weight and optimizer slot is finite now (one host sync)."""
        xp = backend.xp
        arrays = self._arrays()
        if not arrays:
            return True
        if xp.__name__ == "numpy":
            total = math.fsum(float(_self_dot(xp, a)) for a in arrays)
        else:  # sum on the device, one transfer
            total = None
            for a in arrays:
                part = xp.astype(_self_dot(xp, a), xp.float64)
                total = part if total is None else total + part
            total = float(backend.to_numpy(total))
        if math.isfinite(total):
            return True
        # NaN or infinity somewhere, or only squares too large for float32: look exactly.
        return all(bool(xp.all(xp.isfinite(a))) for a in arrays)

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

    def restore(self) -> None:
        """Put back what :meth:`save` copied: the model and optimizer as before the step."""
        if not self._saved:
            raise RuntimeError("StepGuard.restore() before save()")
        xp = backend.xp
        for i, (var, saved) in enumerate(zip(self._variables, self._weights)):
            if _writable_like(xp, var.data, saved):
                xp.copyto(var.data, saved)
            else:
                var.data = saved
                self._weights[i] = None  # now the variable's own array; copy afresh next time
        flat = [(lst, index) for _, lst in _slot_lists(self.optimizer) for index in range(len(lst))]
        for k, ((lst, index), saved) in enumerate(zip(flat, self._slots)):
            if _writable_like(xp, lst[index], saved):
                xp.copyto(lst[index], saved)
            else:
                lst[index] = saved
                self._slots[k] = None
        if self._iterations is not None:
            self.optimizer.iterations = self._iterations
