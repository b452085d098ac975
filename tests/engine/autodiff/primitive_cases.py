"""The table of primitive test cases shared by the gradient, reference and strict-namespace tests.

Each case names a function of engine tensors, how to draw its inputs (shape and kind), and an
independent numpy/scipy reference for the forward value. Inputs avoid the kinks of
non-smooth functions (relu at 0, abs at 0, ties in max) so central differences are exact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special

from engine import backend
from engine.autodiff import ops


@dataclass(frozen=True)
class Arg:
    """One input: its shape and how to draw it."""

    shape: tuple[int, ...]
    kind: str = "normal"  # normal | positive | away_from_zero | int:<high>

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        if self.kind == "normal":
            return rng.standard_normal(self.shape)
        if self.kind == "positive":
            return rng.uniform(0.5, 2.0, self.shape)
        if self.kind == "away_from_zero":
            return rng.uniform(0.2, 2.0, self.shape) * rng.choice([-1.0, 1.0], self.shape)
        if self.kind.startswith("int:"):
            return rng.integers(0, int(self.kind[4:]), self.shape, dtype=np.int64)
        raise AssertionError(self.kind)


@dataclass(frozen=True)
class Case:
    name: str
    fn: Callable  # engine tensors -> Tensor
    args: tuple[Arg, ...]
    reference: Callable  # numpy arrays -> numpy array

    def draw(self, seed: int = 0) -> list[np.ndarray]:
        # Offset from check_gradients's projection seed, so inputs and projection differ.
        rng = np.random.default_rng(seed + 100)
        return [a.draw(rng) for a in self.args]


def _a(*shape, kind="normal") -> Arg:
    return Arg(tuple(shape), kind)


CASES: list[Case] = []


def case(name, fn, args, reference) -> None:
    CASES.append(Case(name, fn, tuple(args), reference))


# -- arithmetic with broadcasting ----------------------------------------------------------------

BROADCAST_PAIRS = {
    "same": ((3, 4), (3, 4)),
    "row": ((3, 4), (4,)),
    "column": ((3, 4), (3, 1)),
    "left_row": ((4,), (3, 4)),
    "scalar_array": ((3, 4), ()),
    "batch1": ((1, 5), (5,)),
    "odd3d": ((2, 3, 5), (1, 3, 1)),
}
for label, (sa, sb) in BROADCAST_PAIRS.items():
    case(f"add-{label}", ops.add, [_a(*sa), _a(*sb)], np.add)
    case(f"sub-{label}", ops.sub, [_a(*sa), _a(*sb)], np.subtract)
    case(f"mul-{label}", ops.mul, [_a(*sa), _a(*sb)], np.multiply)
    case(f"div-{label}", ops.div, [_a(*sa), _a(*sb, kind="away_from_zero")], np.divide)
    case(f"maximum-{label}", ops.maximum, [_a(*sa), _a(*sb)], np.maximum)
    case(f"minimum-{label}", ops.minimum, [_a(*sa), _a(*sb)], np.minimum)

case("add-python_scalar", lambda a: ops.add(a, 2.5), [_a(3, 4)], lambda a: a + 2.5)
case("radd-python_scalar", lambda a: ops.add(2.5, a), [_a(3)], lambda a: 2.5 + a)
case("mul-python_scalar", lambda a: ops.mul(a, -1.5), [_a(2, 3)], lambda a: a * -1.5)
case("rsub-python_scalar", lambda a: ops.sub(1.0, a), [_a(5)], lambda a: 1.0 - a)
case("rdiv-python_scalar", lambda a: ops.div(1.0, a), [_a(4, kind="positive")], lambda a: 1 / a)
case(
    "operators",
    lambda a, b: (a * b - a / b + 2.0) ** 2.0,
    [_a(3, 2), _a(2, kind="positive")],
    lambda a, b: (a * b - a / b + 2.0) ** 2,
)
case("neg", ops.neg, [_a(3, 4)], np.negative)

# -- elementwise functions -----------------------------------------------------------------------

for exponent in (3.0, 0.5, -1.5):
    case(
        f"power-{exponent}",
        lambda a, e=exponent: ops.power(a, e),
        [_a(2, 3, kind="positive")],
        lambda a, e=exponent: a**e,
    )
case("square", ops.square, [_a(3, 5)], np.square)
case("sqrt", ops.sqrt, [_a(7, kind="positive")], np.sqrt)
case("exp", ops.exp, [_a(2, 3)], np.exp)
case("log", ops.log, [_a(1, 5, kind="positive")], np.log)
case("abs", ops.abs_, [_a(3, 4, kind="away_from_zero")], np.abs)
case("tanh", ops.tanh, [_a(3, 4)], np.tanh)
case("sigmoid", ops.sigmoid, [_a(3, 4)], special.expit)
case("relu", ops.relu, [_a(3, 5, kind="away_from_zero")], lambda a: np.maximum(a, 0))
case(
    "leaky_relu",
    ops.leaky_relu,
    [_a(3, 5, kind="away_from_zero")],
    lambda a: np.where(a > 0, a, 0.2 * a),
)
case(
    "leaky_relu-0.1",
    lambda a: ops.leaky_relu(a, 0.1),
    [_a(4, kind="away_from_zero")],
    lambda a: np.where(a > 0, a, 0.1 * a),
)
case("elu", ops.elu, [_a(3, 5, kind="away_from_zero")], lambda a: np.where(a > 0, a, np.expm1(a)))
case(
    "elu-alpha",
    lambda a: ops.elu(a, 0.5),
    [_a(6, kind="away_from_zero")],
    lambda a: np.where(a > 0, a, 0.5 * np.expm1(a)),
)
case("gelu", ops.gelu, [_a(3, 4)], lambda a: a * 0.5 * (1 + special.erf(a / np.sqrt(2))))
case(
    "gelu-tanh",
    lambda a: ops.gelu(a, approximate=True),
    [_a(3, 4)],
    lambda a: 0.5 * a * (1 + np.tanh(np.sqrt(2 / np.pi) * (a + 0.044715 * a**3))),
)
case("softplus", ops.softplus, [_a(3, 4)], lambda a: np.log1p(np.exp(a)))
case("clip", lambda a: ops.clip(a, -0.5, 0.5), [_a(4, 3)], lambda a: np.clip(a, -0.5, 0.5))
DROP_MASK = np.array([[2.0, 0.0, 2.0, 2.0], [0.0, 2.0, 0.0, 2.0], [2.0, 2.0, 2.0, 0.0]])
case(
    "dropout_mask_mul",
    lambda a: ops.dropout_mask_mul(a, backend.xp.astype(backend.asarray(DROP_MASK), a.dtype)),
    [_a(3, 4)],
    lambda a: a * DROP_MASK,
)

MASK = np.array([[True, False, True], [False, False, True]])
case(
    "where",
    lambda a, b: ops.where(MASK, a, b),
    [_a(2, 3), _a(2, 3)],
    lambda a, b: np.where(MASK, a, b),
)
case(
    "where-broadcast",
    lambda a, b: ops.where(MASK, a, b),
    [_a(2, 3), _a(3)],
    lambda a, b: np.where(MASK, a, b),
)

# -- softmax family ------------------------------------------------------------------------------

case("softmax", ops.softmax, [_a(3, 5)], lambda a: special.softmax(a, axis=-1))
case(
    "softmax-axis0",
    lambda a: ops.softmax(a, axis=0),
    [_a(3, 5)],
    lambda a: special.softmax(a, axis=0),
)
case("softmax-batch1", ops.softmax, [_a(1, 4)], lambda a: special.softmax(a, axis=-1))
case("log_softmax", ops.log_softmax, [_a(3, 5)], lambda a: special.log_softmax(a, axis=-1))
case(
    "log_softmax-3d",
    lambda a: ops.log_softmax(a, axis=1),
    [_a(2, 3, 3)],
    lambda a: special.log_softmax(a, axis=1),
)

# -- linear algebra ------------------------------------------------------------------------------

MATMUL_SHAPES = {
    "2d": ((3, 4), (4, 5)),
    "batch1": ((1, 4), (4, 1)),
    "batched_left": ((2, 3, 4), (4, 5)),
    "batched_left_4d": ((2, 3, 2, 4), (4, 5)),
    "batched_both": ((2, 3, 4), (2, 4, 5)),
    "broadcast_left": ((3, 4), (2, 4, 5)),
    "vector_left": ((4,), (4, 5)),
    "vector_right": ((3, 4), (4,)),
    "vector_vector": ((5,), (5,)),
}
for label, (sa, sb) in MATMUL_SHAPES.items():
    case(f"matmul-{label}", ops.matmul, [_a(*sa), _a(*sb)], np.matmul)

# -- reductions ----------------------------------------------------------------------------------

for axis, keepdims in ((None, False), (0, False), (1, True), ((0, 2), False), (-1, True)):
    label = f"{axis}-{'keep' if keepdims else 'drop'}"
    case(
        f"sum-{label}",
        lambda a, ax=axis, k=keepdims: ops.sum_(a, ax, k),
        [_a(2, 3, 5)],
        lambda a, ax=axis, k=keepdims: np.sum(a, axis=ax, keepdims=k),
    )
    case(
        f"mean-{label}",
        lambda a, ax=axis, k=keepdims: ops.mean(a, ax, k),
        [_a(2, 3, 5)],
        lambda a, ax=axis, k=keepdims: np.mean(a, axis=ax, keepdims=k),
    )
    case(
        f"max-{label}",
        lambda a, ax=axis, k=keepdims: ops.max_(a, ax, k),
        [_a(2, 3, 5)],
        lambda a, ax=axis, k=keepdims: np.max(a, axis=ax, keepdims=k),
    )
case("sum-batch1", lambda a: ops.sum_(a, 0), [_a(1, 3)], lambda a: np.sum(a, axis=0))

# -- shapes --------------------------------------------------------------------------------------

case("reshape", lambda a: ops.reshape(a, (3, -1)), [_a(2, 3, 2)], lambda a: a.reshape(3, -1))
case("reshape-batch1", lambda a: ops.reshape(a, (1, 6)), [_a(1, 2, 3)], lambda a: a.reshape(1, 6))
case("transpose", ops.transpose, [_a(2, 3, 5)], np.transpose)
case(
    "transpose-axes",
    lambda a: ops.transpose(a, (1, 0, 2)),
    [_a(2, 3, 5)],
    lambda a: np.transpose(a, (1, 0, 2)),
)
case("transpose-property", lambda a: a.T, [_a(3, 4)], lambda a: a.T)
case(
    "concat-last",
    lambda a, b: ops.concat([a, b]),
    [_a(2, 3), _a(2, 1)],
    lambda a, b: np.concatenate([a, b], axis=-1),
)
case(
    "concat-axis0-three",
    lambda a, b, c: ops.concat([a, b, c], axis=0),
    [_a(1, 3), _a(2, 3), _a(3, 3)],
    lambda a, b, c: np.concatenate([a, b, c], axis=0),
)
case(
    "concat-channels",
    lambda a, b: ops.concat([a, b], axis=1),
    [_a(1, 2, 3, 3), _a(1, 1, 3, 3)],
    lambda a, b: np.concatenate([a, b], axis=1),
)
for label, index in {
    "int": (1,),
    "slice": (slice(0, 2), slice(1, None)),
    "step": (slice(None, None, 2),),
    "negative": (-1, slice(None, -1)),
    "newaxis": (slice(None), None, 1),
    "ellipsis": (Ellipsis, 0),
}.items():
    case(
        f"getitem-{label}",
        lambda a, i=index: ops.getitem(a, i),
        [_a(3, 4, 2)],
        lambda a, i=index: a[i],
    )

# -- embedding -----------------------------------------------------------------------------------

case(
    "embedding_lookup",
    ops.embedding_lookup,
    [_a(5, 3), _a(2, 4, kind="int:5")],
    lambda table, ids: table[ids],
)
case(
    "embedding_lookup-repeats",
    ops.embedding_lookup,
    [_a(3, 2), _a(7, kind="int:3")],
    lambda table, ids: table[ids],
)

CASE_IDS = [c.name for c in CASES]
assert len(set(CASE_IDS)) == len(CASE_IDS), "case names must be unique"
