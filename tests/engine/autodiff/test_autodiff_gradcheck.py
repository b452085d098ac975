"""The gradient checker itself: it must pass right VJPs and catch wrong ones."""

from __future__ import annotations

import numpy as np

from engine.autodiff import ops
from engine.autodiff.gradcheck import check_gradients, numerical_gradient
from engine.autodiff.tensor import Tensor, Variable


def _cube_with_vjp_factor(factor: float):
    """x ** 3 whose VJP is multiplied by ``factor`` (1.0 = correct)."""

    def fn(x):
        return Tensor.from_op(x.data**3, (x,), lambda g: (factor * 3.0 * g * x.data**2,))

    return fn


def test_numerical_gradient_of_a_known_function():
    x = np.array([[0.5, -1.0], [2.0, 3.0]])
    got = numerical_gradient(lambda: float(np.sum(x**3)), x)
    np.testing.assert_allclose(got, 3 * x**2, rtol=1e-8)
    np.testing.assert_array_equal(x, [[0.5, -1.0], [2.0, 3.0]])  # restored


def test_a_right_vjp_passes_and_a_wrong_one_fails():
    x = np.random.default_rng(0).standard_normal((3, 4))
    assert check_gradients(_cube_with_vjp_factor(1.0), [x]) < 1e-8
    assert check_gradients(_cube_with_vjp_factor(1.01), [x]) > 5e-3


def test_a_missing_gradient_fails():
    def drops_second(a, b):
        return Tensor.from_op(a.data * b.data, (a, b), lambda g: (g * b.data, None))

    rng = np.random.default_rng(1)
    assert check_gradients(drops_second, [rng.standard_normal(3), rng.standard_normal(3)]) > 0.5


def test_integer_inputs_are_not_differentiated():
    table = np.random.default_rng(2).standard_normal((4, 3))
    ids = np.array([0, 3, 3, 1])
    assert check_gradients(ops.embedding_lookup, [table, ids]) < 1e-8


def test_variables_are_checked_and_restored():
    rng = np.random.default_rng(3)
    w = Variable(rng.standard_normal((3, 2)), dtype=np.float64)
    saved = w.numpy().copy()
    x = rng.standard_normal((4, 3))

    def right(t):
        return ops.tanh(ops.matmul(t, w))

    def wrong(t):
        # A VJP that forgets the variable's gradient.
        product = ops.matmul(t, ops.stop_gradient(w))
        return ops.tanh(product)

    assert check_gradients(right, [x], variables=[w]) < 1e-7
    assert check_gradients(wrong, [x], variables=[w]) > 0.5
    np.testing.assert_array_equal(w.numpy(), saved)
