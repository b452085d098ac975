"""The eager Tensor API: ``backward``, ``GradientTape``, ``no_grad``, ``constant``, ``Variable``."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine.autodiff import ops
from engine.autodiff.tensor import (
    GradientTape,
    Tensor,
    Variable,
    constant,
    enable_grad,
    grad,
    is_grad_enabled,
    no_grad,
)


def test_backward_accumulates_into_grad():
    x = Variable(np.array([1.0, -2.0, 3.0]), dtype=np.float64)
    y = ops.sum_(x * x)
    y.backward()
    np.testing.assert_array_equal(x.grad, 2 * x.numpy())
    ops.sum_(x * x).backward()
    np.testing.assert_array_equal(x.grad, 4 * x.numpy())


def test_backward_with_an_explicit_output_gradient():
    x = Variable(np.array([[1.0, 2.0], [3.0, 4.0]]), dtype=np.float64)
    (x * 3.0).backward(np.array([[1.0, 0.0], [0.5, 2.0]]))
    np.testing.assert_array_equal(x.grad, [[3.0, 0.0], [1.5, 6.0]])


def test_backward_sums_over_every_path():
    # z = x * y + x uses x twice; dz/dx = y + 1, dz/dy = x.
    x = Variable(np.array([2.0, -1.0]), dtype=np.float64)
    y = Variable(np.array([5.0, 7.0]), dtype=np.float64)
    shared = x * y
    z = ops.sum_(shared + x + shared * 0.0)
    z.backward()
    np.testing.assert_array_equal(x.grad, [6.0, 8.0])
    np.testing.assert_array_equal(y.grad, [2.0, -1.0])


def test_backward_needs_a_differentiable_result():
    with pytest.raises(RuntimeError, match="does not depend on any Variable"):
        ops.sum_(constant([1.0, 2.0])).backward()


def test_grad_leaves_dot_grad_alone_and_reports_unconnected_sources():
    x = Variable(np.array([1.0, 2.0]), dtype=np.float64)
    unused = Variable(np.array([3.0]), dtype=np.float64)
    gx, gu = grad(ops.sum_(ops.exp(x)), [x, unused])
    np.testing.assert_allclose(gx, np.exp([1.0, 2.0]))
    assert gu is None
    assert x.grad is None


def test_gradient_tape_watches_variables_and_watched_constants():
    v = Variable(np.array([1.0, 2.0]), dtype=np.float64)
    c = constant(np.array([3.0, 4.0]), dtype="float64")
    other = constant(np.array([1.0, 1.0]), dtype="float64")
    with GradientTape() as tape:
        tape.watch(c)
        y = ops.sum_(v * c * c + other)
    gv, gc, go = tape.gradient(y, [v, c, other])
    np.testing.assert_array_equal(gv.numpy(), [9.0, 16.0])
    np.testing.assert_array_equal(gc.numpy(), [6.0, 16.0])  # 2 * v * c
    assert go is None  # never watched
    assert isinstance(gv, Tensor)


def test_gradient_tape_single_source_returns_a_single_gradient():
    v = Variable(np.array(3.0), dtype=np.float64)
    with GradientTape() as tape:
        y = v * v * v
    assert tape.gradient(y, v).item() == pytest.approx(27.0)


def test_non_persistent_tape_gives_gradients_once():
    v = Variable(np.array([1.0]), dtype=np.float64)
    with GradientTape() as tape:
        y = ops.sum_(v * 2.0)
    tape.gradient(y, [v])
    with pytest.raises(RuntimeError, match="persistent"):
        tape.gradient(y, [v])


def test_persistent_tape_gives_gradients_repeatedly():
    v = Variable(np.array([1.0, 2.0]), dtype=np.float64)
    with GradientTape(persistent=True) as tape:
        y = ops.sum_(v * v)
        z = ops.sum_(v * 3.0)
    np.testing.assert_array_equal(tape.gradient(y, [v])[0].numpy(), [2.0, 4.0])
    np.testing.assert_array_equal(tape.gradient(z, [v])[0].numpy(), [3.0, 3.0])


def test_gradient_tape_records_inside_no_grad():
    v = Variable(np.array([2.0]), dtype=np.float64)
    with no_grad(), GradientTape() as tape:
        y = v * v
    np.testing.assert_array_equal(tape.gradient(y, [v])[0].numpy(), [4.0])
    assert is_grad_enabled()  # both contexts restored the flag


def test_no_grad_records_nothing():
    v = Variable(np.array([1.0, 2.0]))
    with no_grad():
        assert not is_grad_enabled()
        y = ops.sum_(ops.tanh(v * v))
        with enable_grad():
            recorded = v * 2.0
    assert is_grad_enabled()
    assert not y.requires_grad and y._parents == () and y._vjp is None
    assert recorded.requires_grad and recorded._parents[0] is v


def test_constant_dtypes():
    assert constant([1.0, 2.0]).dtype == np.float32  # Python floats become float32
    assert constant(1.5).dtype == np.float32
    assert constant([1, 2]).dtype == np.int64
    assert constant([1, 2], dtype="float64").dtype == np.float64
    assert constant(np.zeros(2, dtype=np.float64)).dtype == np.float64  # explicit float64 stays
    c = constant([[1.0, 2.0]], name="c")
    assert not c.requires_grad and c.name == "c" and c.shape == (1, 2)
    np.testing.assert_array_equal(c.numpy(), [[1.0, 2.0]])


def test_public_api_names():
    assert engine.constant is constant
    assert engine.Variable is Variable
    assert engine.GradientTape is GradientTape
    assert engine.no_grad is no_grad


def test_variable_assign_and_trainable_flag():
    v = engine.Variable([[0.0, 0.0], [0.0, 0.0]], name="w")
    assert v.trainable and v.requires_grad and v.name == "w"
    assert v.dtype == np.float32
    assert engine.Variable(np.zeros(2)).dtype == np.float64  # float64 arrays stay, as in TF
    v.assign([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(v.numpy(), [[1, 2], [3, 4]])
    assert v.dtype == np.float32  # assign keeps the variable's dtype
    v.assign_add(np.ones((2, 2)))
    v.assign_sub(np.full((2, 2), 0.5))
    np.testing.assert_array_equal(v.numpy(), [[1.5, 2.5], [3.5, 4.5]])
    with pytest.raises(ValueError, match=r"cannot assign shape \(3,\)"):
        v.assign([1.0, 2.0, 3.0])

    frozen = engine.Variable([1.0, 2.0], trainable=False)
    assert not frozen.trainable and not frozen.requires_grad
    with GradientTape() as tape:
        y = ops.sum_(frozen * v[0])
    g_frozen, g_v = tape.gradient(y, [frozen, v])
    assert g_frozen is None
    np.testing.assert_array_equal(g_v.numpy(), [[1.0, 2.0], [0.0, 0.0]])
    assert engine.Variable([1.0]).name != engine.Variable([1.0]).name  # unique default names


def test_operators_on_tensors_and_numpy_arrays():
    x = Variable(np.array([[1.0, 2.0], [3.0, 4.0]]), dtype=np.float64)
    host = np.array([10.0, 20.0])
    y = host * x + x @ x - 1.0 / x + (-x) ** 2.0  # numpy on the left defers to Tensor
    assert isinstance(y, Tensor)
    xv = x.numpy()
    np.testing.assert_allclose(y.numpy(), host * xv + xv @ xv - 1.0 / xv + xv**2)
    r = x.reshape(4).sum() + x.reshape(1, 4).mean() + x.T[0, 1]
    assert r.shape == ()
    assert r.item() == pytest.approx(10.0 + 2.5 + 3.0)
    assert len(x) == 2 and x.ndim == 2 and x.size == 4
    assert "requires_grad=True" in repr(x * 1.0) and "Variable(" in repr(x)
    assert not x.detach().requires_grad
