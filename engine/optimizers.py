"""Optimizers by Keras name (``keras.optimizers``): SGD (with momentum / Nesterov), Adam,
AdamW and RMSprop, with Keras's update formulas, gradient clipping and decoupled weight decay.

``optimizer.apply_gradients([(grad, var), ...])`` does one step, in Keras's order:

1. clip the gradients (``clipnorm`` each gradient's norm, ``global_clipnorm`` their joint
   norm, ``clipvalue`` each element — at most one of the three);
2. decay the weights, ``w -= w * weight_decay * lr`` (decoupled, as in Keras and AdamW);
3. apply the optimizer's own rule with ``lr`` evaluated at ``iterations`` (a float, or a
   :class:`~engine.schedules.LearningRateSchedule` of the step);
4. ``iterations += 1``.

Weights and slot arrays (momenta, moving averages) are updated in place on the device
under ``no_grad``; the only host work is a handful of Python floats per step.

Slots are kept per variable, in the order the variables were first seen, and
``get_state()`` names them ``"<slot>/<index>"`` (``"m/0"``, ``"v/0"``, ...) beside
``"iterations"`` (and ``"learning_rate"`` when it is a float), all numpy arrays, so a
checkpoint can be written without pickle and ``set_state(state, var_list)`` resumes training
bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

import numpy as np

from engine import backend, schedules
from engine.autodiff.tensor import GradientTape, Tensor, grad, no_grad
from engine.identifiers import from_identifier

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "get", "OPTIMIZER_NAMES"]


def _subtract_in_place(var: Tensor, delta) -> None:
    """``var.data -= delta`` without a new array where the array allows it."""
    data = var.data
    flags = getattr(data, "flags", None)
    if flags is not None and not flags.writeable:
        var.data = data - delta
        return
    data -= delta
    var.data = data  # namespaces whose in-place operators return a new array


class Optimizer:
    """Base class; subclasses declare ``slot_names()`` and implement ``update_step``."""

    # The name used by :func:`get` and in project files ("adam").
    type_name: ClassVar[str] = ""

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
    ):
        given = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
        clips = [label for label, value in given.items() if value is not None]
        if len(clips) > 1:
            raise ValueError(
                f"only one of clipnorm, clipvalue and global_clipnorm can be set, got "
                f"{' and '.join(clips)}"
            )
        for label, value in (
            ("clipnorm", clipnorm),
            ("clipvalue", clipvalue),
            ("global_clipnorm", global_clipnorm),
            ("weight_decay", weight_decay),
        ):
            if value is not None and not value >= 0:
                raise ValueError(f"{label} must be >= 0, got {value}")
        self.name = name or self.type_name
        self.weight_decay = None if weight_decay is None else float(weight_decay)
        self.clipnorm = None if clipnorm is None else float(clipnorm)
        self.clipvalue = None if clipvalue is None else float(clipvalue)
        self.global_clipnorm = None if global_clipnorm is None else float(global_clipnorm)
        self.learning_rate = learning_rate
        self.iterations = 0
        self._variables: list[Tensor] = []
        self._index: dict[int, int] = {}  # id(variable) -> index (we hold the variable)
        self._slots: dict[str, list] = {slot: [] for slot in self.slot_names()}

    # -- learning rate ------------------------------------------------------------------------

    @property
    def learning_rate(self):
        """A float, or a :class:`~engine.schedules.LearningRateSchedule`; setting a number
        replaces a schedule (``ReduceLROnPlateau`` does this)."""
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        if isinstance(value, dict):
            value = schedules.get(value)
        if isinstance(value, schedules.LearningRateSchedule) or (
            callable(value) and not isinstance(value, int | float)
        ):
            self._learning_rate = value
            return
        value = float(value)
        if not value >= 0 or math.isinf(value):
            raise ValueError(f"learning_rate must be a finite number >= 0, got {value}")
        self._learning_rate = value

    def current_learning_rate(self) -> float:
        """The learning rate the next step will use."""
        lr = self._learning_rate
        return float(lr(self.iterations)) if callable(lr) else lr

    # -- variables and slots -------------------------------------------------------------------

    def slot_names(self) -> tuple[str, ...]:
        """The per-variable state this optimizer keeps (depends on its options)."""
        return ()

    @property
    def variables(self) -> list[Tensor]:
        """The variables seen so far, in index order."""
        return list(self._variables)

    def build(self, var_list: Iterable[Tensor]) -> None:
        """Register variables (and create their zero slots) in this order."""
        for var in var_list:
            if getattr(var, "trainable", True) and id(var) not in self._index:
                self._register(var)

    def _register(self, var: Tensor) -> int:
        index = len(self._variables)
        self._variables.append(var)
        self._index[id(var)] = index
        xp = backend.xp
        for slot in self.slot_names():
            self._slots[slot].append(xp.zeros(var.data.shape, dtype=var.data.dtype))
        return index

    # -- one step ------------------------------------------------------------------------------

    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, Tensor]]) -> None:
        """One optimisation step; ``None`` gradients and frozen variables are skipped."""
        xp = backend.xp
        active = []
        for g, var in grads_and_vars:
            if not getattr(var, "trainable", True):
                continue
            index = self._index.get(id(var))
            if index is None:
                index = self._register(var)
            if g is None:
                continue
            g = g.data if isinstance(g, Tensor) else g
            if g.dtype != var.data.dtype:
                g = xp.astype(g, var.data.dtype)
            if tuple(g.shape) != tuple(var.data.shape):
                raise ValueError(
                    f"gradient of shape {tuple(g.shape)} for {getattr(var, 'name', 'a variable')}"
                    f" of shape {tuple(var.data.shape)}"
                )
            active.append((g, var, index))
        with no_grad():
            grads = self._clip([g for g, _, _ in active])
            lr = self.current_learning_rate()
            for g, (_, var, index) in zip(grads, active):
                if self.weight_decay:
                    _subtract_in_place(var, var.data * (self.weight_decay * lr))
                self.update_step(g, var, index, lr)
        self.iterations += 1

    def update_step(self, gradient, var: Tensor, index: int, lr: float) -> None:
        raise NotImplementedError

    def _clip(self, grads: list) -> list:
        xp = backend.xp
        if self.clipnorm is not None:
            c = self.clipnorm
            return [g * (c / xp.clip(xp.sqrt(xp.sum(g * g)), c, None)) for g in grads]
        if self.global_clipnorm is not None and grads:
            c = self.global_clipnorm
            total = None
            for g in grads:
                s = xp.astype(xp.sum(g * g), xp.float64)
                total = s if total is None else total + s
            scale = c / xp.clip(xp.sqrt(total), c, None)
            return [g * xp.astype(scale, g.dtype) for g in grads]
        if self.clipvalue is not None:
            v = self.clipvalue
            return [xp.clip(g, -v, v) for g in grads]
        return grads

    def minimize(self, loss_fn: Callable[[], Tensor], var_list) -> Tensor:
        """Compute ``loss_fn()`` under a GradientTape and apply its gradients; returns the loss."""
        if callable(var_list):
            var_list = var_list()
        var_list = list(var_list)
        with GradientTape():
            loss = loss_fn()
        grads = grad(loss, var_list)
        self.apply_gradients(zip(grads, var_list))
        return loss

    # -- configuration and checkpoint state ----------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            lr = lr.get_config()
        return {
            "name": self.name,
            "learning_rate": lr,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "clipvalue": self.clipvalue,
            "global_clipnorm": self.global_clipnorm,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Optimizer:
        return cls(**config)

    def get_state(self) -> dict[str, np.ndarray]:
        """Everything needed to resume: slot arrays ``"<slot>/<index>"``, ``"iterations"``,
        and ``"learning_rate"`` when it is a plain float (it may have been reduced)."""
        state = {"iterations": np.asarray(self.iterations, dtype=np.int64)}
        if not callable(self._learning_rate):
            state["learning_rate"] = np.asarray(self._learning_rate, dtype=np.float64)
        for slot, arrays in self._slots.items():
            for index, array in enumerate(arrays):
                state[f"{slot}/{index}"] = np.array(backend.to_numpy(array), copy=True)
        return state

    def set_state(self, state: dict[str, Any], var_list: Sequence[Tensor]) -> None:
        """Restore ``get_state()``'s output; ``var_list`` lists the variables in the order
        they had then (the model's trainable weights), frozen ones being skipped as before."""
        self._variables, self._index = [], {}
        self._slots = {slot: [] for slot in self.slot_names()}
        self.build(var_list)
        for key, value in state.items():
            if key == "iterations":
                self.iterations = int(np.asarray(value))
                continue
            if key == "learning_rate":
                self.learning_rate = float(np.asarray(value))
                continue
            slot, _, index_text = key.partition("/")
            if slot not in self._slots or not index_text.isdigit():
                raise ValueError(
                    f"optimizer state key {key!r} does not belong to {type(self).__name__} "
                    f"with these options (slots: {', '.join(self._slots) or 'none'})"
                )
            index = int(index_text)
            if index >= len(self._variables):
                raise ValueError(
                    f"optimizer state {key!r} refers to variable {index}, but only "
                    f"{len(self._variables)} trainable variables were given"
                )
            var = self._variables[index]
            host = np.asarray(value)
            if tuple(host.shape) != tuple(var.data.shape):
                raise ValueError(
                    f"optimizer state {key!r} has shape {host.shape}, but variable "
                    f"{getattr(var, 'name', index)} has shape {tuple(var.data.shape)}"
                )
            array = backend.asarray(np.array(host, copy=True))
            if array.dtype != var.data.dtype:
                array = backend.xp.astype(array, var.data.dtype)
            self._slots[slot][index] = array

    def __repr__(self) -> str:
        return f"<{type(self).__name__} lr={self._learning_rate!r}>"


class SGD(Optimizer):
    """Gradient descent (the seeds' ``tf.train.GradientDescentOptimizer``), with Keras's
    momentum: ``v = momentum * v - lr * g; w += v``, or with ``nesterov``
    ``w += momentum * v - lr * g``. Slot: ``momentum`` (when ``momentum > 0``)."""

    type_name = "sgd"

    def __init__(
        self,
        learning_rate=0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str = "SGD",
    ):
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1], got {momentum}")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)

    def slot_names(self) -> tuple[str, ...]:
        return ("momentum",) if self.momentum > 0 else ()

    def update_step(self, gradient, var, index, lr) -> None:
        if self.momentum == 0:
            _subtract_in_place(var, gradient * lr)
            return
        velocity = self._slots["momentum"][index]
        velocity *= self.momentum
        velocity -= gradient * lr
        if self.nesterov:
            _subtract_in_place(var, gradient * lr - velocity * self.momentum)
        else:
            _subtract_in_place(var, -velocity)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam with Keras's formula: ``m += (g - m)(1 - beta_1)``, ``v += (g^2 - v)(1 - beta_2)``,
    ``w -= lr * sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)`` at step
    ``t = iterations + 1``; ``amsgrad`` uses the running maximum of ``v``.
    Slots: ``m``, ``v`` (and ``vhat`` with amsgrad)."""

    type_name = "adam"

    def __init__(
        self,
        learning_rate=0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str = "adam",
    ):
        for label, beta in (("beta_1", beta_1), ("beta_2", beta_2)):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"{label} must be in [0, 1), got {beta}")
        if not epsilon >= 0:
            raise ValueError(f"epsilon must be >= 0, got {epsilon}")
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.amsgrad = bool(amsgrad)
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)

    def slot_names(self) -> tuple[str, ...]:
        return ("m", "v", "vhat") if self.amsgrad else ("m", "v")

    def update_step(self, gradient, var, index, lr) -> None:
        xp = backend.xp
        step = self.iterations + 1
        alpha = lr * math.sqrt(1.0 - self.beta_2**step) / (1.0 - self.beta_1**step)
        m = self._slots["m"][index]
        v = self._slots["v"][index]
        if xp is np and not self.amsgrad:
            self._numpy_step(gradient, var, m, v, alpha)
            return
        m += (gradient - m) * (1.0 - self.beta_1)
        v += (gradient * gradient - v) * (1.0 - self.beta_2)
        if self.amsgrad:
            v = xp.maximum(self._slots["vhat"][index], v)
            self._slots["vhat"][index] = v
        _subtract_in_place(var, (m * alpha) / (xp.sqrt(v) + self.epsilon))

    def _numpy_step(self, gradient, var, m, v, alpha) -> None:
        """The generic step's arithmetic, operation for operation, in two scratch arrays
        (``out=``) instead of one new array per operation."""
        t = np.subtract(gradient, m)
        t *= 1.0 - self.beta_1
        m += t
        np.multiply(gradient, gradient, out=t)
        t -= v
        t *= 1.0 - self.beta_2
        v += t
        np.sqrt(v, out=t)
        t += self.epsilon
        step = np.multiply(m, alpha)
        step /= t
        _subtract_in_place(var, step)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
        }


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): before each Adam step,
    ``w -= w * weight_decay * lr``."""

    type_name = "adamw"

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay: float = 0.004,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str = "adamw",
    ):
        if weight_decay is None:
            raise ValueError("AdamW needs a weight_decay (use Adam for none)")
        super().__init__(
            learning_rate,
            beta_1,
            beta_2,
            epsilon,
            amsgrad,
            weight_decay,
            clipnorm,
            clipvalue,
            global_clipnorm,
            name,
        )


class RMSprop(Optimizer):
    """RMSprop with Keras's formula: ``v = rho v + (1 - rho) g^2``;
    ``w -= lr * g / sqrt(v + epsilon)`` (``centered`` subtracts the squared running mean of
    ``g`` inside the root; ``momentum`` accumulates the increments first).
    Slots: ``velocity`` (and ``average_gradient``, ``momentum`` when used)."""

    type_name = "rmsprop"

    def __init__(
        self,
        learning_rate=0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str = "rmsprop",
    ):
        if not 0.0 <= rho < 1.0:
            raise ValueError(f"rho must be in [0, 1), got {rho}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1], got {momentum}")
        self.rho = float(rho)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.centered = bool(centered)
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)

    def slot_names(self) -> tuple[str, ...]:
        names = ("velocity",)
        if self.centered:
            names += ("average_gradient",)
        if self.momentum > 0:
            names += ("momentum",)
        return names

    def update_step(self, gradient, var, index, lr) -> None:
        xp = backend.xp
        rho = self.rho
        velocity = self._slots["velocity"][index]
        velocity *= rho
        velocity += (1.0 - rho) * (gradient * gradient)
        if self.centered:
            average = self._slots["average_gradient"][index]
            average *= rho
            average += (1.0 - rho) * gradient
            denominator = velocity - average * average + self.epsilon
        else:
            denominator = velocity + self.epsilon
        increment = (lr * gradient) / xp.sqrt(denominator)
        if self.momentum > 0:
            buffer = self._slots["momentum"][index]
            buffer *= self.momentum
            buffer += increment
            _subtract_in_place(var, buffer)
        else:
            _subtract_in_place(var, increment)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }


_OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.type_name: cls for cls in (SGD, Adam, AdamW, RMSprop)
}
OPTIMIZER_NAMES: tuple[str, ...] = tuple(_OPTIMIZERS)


def _class_for(name: str) -> type[Optimizer]:
    cls = _OPTIMIZERS.get(str(name).lower())
    if cls is None:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZER_NAMES)}")
    return cls


def get(identifier) -> Optimizer:
    """An optimizer from a name (``"adam"``), a project-file dict ``{"name": "adam",
    "learning_rate": 0.01, ...}`` (or Keras's ``{"class_name": "Adam", "config": {...}}``),
    or an instance (returned as is)."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str | dict):
        return from_identifier(identifier, _class_for, "optimizer")
    raise ValueError(f"cannot interpret {identifier!r} as an optimizer")
