"""The eager ``Tensor``, trainable ``Variable``, and the reverse pass over recorded operations.

A tensor made by a primitive while gradients are enabled keeps its parents and a VJP
closure; nothing else is recorded, so inference (``no_grad``) builds no graph at all.
This is the seeds' *eager execution*: every operation runs at once and its result is an
ordinary array you can print.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence

from engine import backend

_grad_enabled = True
_name_counter = itertools.count()


def is_grad_enabled() -> bool:
    """Whether new operations are being recorded for differentiation."""
    return _grad_enabled


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Run operations without recording them (inference, optimizer updates)."""
    global _grad_enabled
    saved, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = saved


@contextlib.contextmanager
def enable_grad() -> Iterator[None]:
    """Record operations even inside a ``no_grad`` block."""
    global _grad_enabled
    saved, _grad_enabled = _grad_enabled, True
    try:
        yield
    finally:
        _grad_enabled = saved


def _default_float():
    return backend.xp.float32


def _as_array(value, dtype=None):
    """Accept arrays of the current namespace, numpy arrays, lists and Python scalars."""
    xp = backend.xp
    if isinstance(value, Tensor):
        return value.data
    if hasattr(value, "__array_namespace__") and value.__array_namespace__() is xp:
        return value if dtype is None or value.dtype == dtype else xp.astype(value, dtype)
    arr = backend.asarray(value)
    if dtype is not None:
        return xp.astype(arr, dtype) if arr.dtype != dtype else arr
    # Python floats and lists become float32, as in TensorFlow; an array that already is
    # float64 stays float64 (gradient checks run in double precision).
    if arr.dtype == xp.float64 and not _explicit_float64(value):
        arr = xp.astype(arr, xp.float32)
    return arr


def _explicit_float64(value) -> bool:
    dtype = getattr(value, "dtype", None)
    return dtype is not None and str(dtype) == "float64"


class Tensor:
    """An array on the current device plus what is needed to differentiate through it."""

    __slots__ = (
        "data",
        "grad",
        "requires_grad",
        "_parents",
        "_vjp",
        "name",
        "logits",
        "logits_activation",
        "__weakref__",
    )
    __array_priority__ = 100  # numpy defers ``ndarray * Tensor`` to Tensor.__rmul__

    def __init__(self, data, requires_grad: bool = False, name: str | None = None, dtype=None):
        self.data = _as_array(data, dtype)
        self.grad = None
        self.requires_grad = requires_grad
        self._parents: tuple[Tensor, ...] = ()
        self._vjp: Callable | None = None
        self.name = name
        # Set on the output of softmax/sigmoid to the tensor before it, so cross-entropy can
        # use the fused, numerically exact kernel on logits (as Keras does).
        self.logits: Tensor | None = None
        # Which activation ("softmax" or "sigmoid") turned ``logits`` into this tensor, so a
        # loss uses the fused kernel only when it matches (softmax output + BCE must not).
        self.logits_activation: str | None = None

    # -- construction by primitives ---------------------------------------------------------

    @classmethod
    def from_op(cls, data, parents: Sequence[Tensor], vjp: Callable) -> Tensor:
        """Wrap a primitive's result; record ``vjp`` only if a parent needs gradients.

        ``vjp(g)`` returns one gradient (or ``None``) per parent, each of that parent's shape.
        """
        out = cls.__new__(cls)
        out.data = data
        out.grad = None
        out.name = None
        out.logits = None
        out.logits_activation = None
        if _grad_enabled and any(p.requires_grad for p in parents):
            out.requires_grad = True
            out._parents = tuple(parents)
            out._vjp = vjp
        else:
            out.requires_grad = False
            out._parents = ()
            out._vjp = None
        return out

    # -- array-like properties ----------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return len(self.data.shape)

    @property
    def size(self) -> int:
        n = 1
        for d in self.data.shape:
            n *= d
        return n

    def numpy(self):
        """The value as a host numpy array."""
        return backend.to_numpy(self.data)

    def item(self) -> float:
        return float(self.numpy().reshape(-1)[0])

    def __len__(self) -> int:
        return self.data.shape[0]

    def __repr__(self) -> str:
        flag = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({self.numpy()!r}, shape={self.shape}{flag})"

    def detach(self) -> Tensor:
        return Tensor(self.data)

    # -- differentiation ------------------------------------------------------------------------

    def backward(self, grad_output=None) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad."""
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not depend on any Variable")
        grads = _reverse_pass(self, grad_output)
        for tensor, g in grads.items():
            if tensor._vjp is None and tensor.requires_grad:
                tensor.grad = g if tensor.grad is None else tensor.grad + g

    # -- operators (defined in ops; bound at the end of ops.py) -----------------------------


class Variable(Tensor):
    """A mutable, trainable tensor: the weights of a layer (``tf.Variable``)."""

    __slots__ = ("trainable", "constraint")

    def __init__(self, initial_value, trainable: bool = True, name: str | None = None, dtype=None):
        super().__init__(initial_value, requires_grad=trainable, dtype=dtype)
        self.trainable = trainable
        # A projection the optimizer applies after each update (``var.assign(
        # var.constraint(var))``), as Keras does; set by layers (engine.constraints).
        self.constraint = None
        self.name = name or f"Variable:{next(_name_counter)}"

    def assign(self, value) -> Variable:
        """Replace the value (same shape) without recording anything."""
        new = _as_array(value, self.data.dtype)
        if tuple(new.shape) != self.shape:
            raise ValueError(
                f"cannot assign shape {tuple(new.shape)} to {self.name} of {self.shape}"
            )
        self.data = new
        return self

    def assign_add(self, delta) -> Variable:
        self.data = self.data + _as_array(delta, self.data.dtype)
        return self

    def assign_sub(self, delta) -> Variable:
        self.data = self.data - _as_array(delta, self.data.dtype)
        return self

    def __repr__(self) -> str:
        return f"Variable({self.name}, shape={self.shape}, trainable={self.trainable})"


def constant(value, dtype=None, name: str | None = None) -> Tensor:
    """An immutable tensor (``tf.constant``); floats default to float32."""
    if isinstance(dtype, str):
        dtype = getattr(backend.xp, dtype)
    return Tensor(value, requires_grad=False, name=name, dtype=dtype)


def _topological_order(root: Tensor) -> list[Tensor]:
    """Tensors reachable from ``root`` through recorded ops, parents before children."""
    order: list[Tensor] = []
    visited: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for parent in node._parents:
            if parent.requires_grad and id(parent) not in visited:
                stack.append((parent, False))
    return order


def _reverse_pass(root: Tensor, grad_output=None) -> dict[Tensor, object]:
    xp = backend.xp
    if grad_output is None:
        seed = xp.ones(root.data.shape, dtype=root.data.dtype)
    else:
        seed = _as_array(grad_output, root.data.dtype)
    grads: dict[int, object] = {id(root): seed}
    by_id: dict[int, Tensor] = {}
    for node in reversed(_topological_order(root)):
        by_id[id(node)] = node
        g = grads.get(id(node))
        if g is None or node._vjp is None:
            continue
        parent_grads = node._vjp(g)
        for parent, pg in zip(node._parents, parent_grads, strict=True):
            if pg is None or not parent.requires_grad:
                continue
            key = id(parent)
            grads[key] = pg if key not in grads else grads[key] + pg
    return {by_id[k]: v for k, v in grads.items() if k in by_id}


def grad(target: Tensor, sources: Iterable[Tensor], grad_output=None) -> list:
    """d(target)/d(source) for each source, as arrays (``None`` where unconnected).

    Unlike ``backward`` this leaves ``.grad`` untouched, so it is what optimizers use.
    """
    sources = list(sources)
    if not target.requires_grad:
        return [None] * len(sources)
    grads = _reverse_pass(target, grad_output)
    return [grads.get(s) for s in sources]


class GradientTape:
    """``with GradientTape() as tape: ...; tape.gradient(loss, variables)`` as in TensorFlow.

    Variables are always watched; ``tape.watch(t)`` makes a constant differentiable too.
    Gradients come back as :class:`Tensor` objects (or ``None`` for an unconnected source).
    """

    def __init__(self, persistent: bool = False):
        self.persistent = persistent
        self._watched: list[Tensor] = []
        self._used = False
        self._saved_flag = True

    def __enter__(self) -> GradientTape:
        global _grad_enabled
        self._saved_flag, _grad_enabled = _grad_enabled, True
        return self

    def __exit__(self, *exc) -> None:
        global _grad_enabled
        _grad_enabled = self._saved_flag

    def watch(self, tensor: Tensor) -> None:
        if not tensor.requires_grad:
            tensor.requires_grad = True
            self._watched.append(tensor)

    def gradient(self, target: Tensor, sources):
        if self._used and not self.persistent:
            raise RuntimeError("a non-persistent GradientTape can compute gradients only once")
        self._used = True
        single = isinstance(sources, Tensor)
        src = [sources] if single else list(sources)
        arrays = grad(target, src)
        result = [None if a is None else Tensor(a) for a in arrays]
        return result[0] if single else result
