"""The recurrent kernels' in-place (numpy) paths and the Embedding's sorted gradient, checked
against independent references: PyTorch's ``nn.LSTM`` / ``nn.GRU`` in float32 at a size
where every buffer is reused and written with ``out=``, ``numpy.add.at`` and finite
differences for the token lookup, and a calculation interleaved with inference (which takes
workspace buffers of the same shapes) against the same calculation alone."""

from __future__ import annotations

import array_api_strict
import numpy as np
import pytest

from engine import backend
from engine.autodiff import kernels_rnn
from engine.autodiff.gradcheck import check_gradients
from engine.autodiff.kernels_sequence import token_lookup
from engine.autodiff.tensor import Tensor, grad, no_grad

torch = pytest.importorskip("torch")

# Keras gate block j is PyTorch gate block TORCH_BLOCK[kind][j] (PyTorch GRU: r, z, n).
TORCH_BLOCK = {"LSTM": [0, 1, 2, 3], "GRU": [1, 0, 2]}


def _keras_blocks(matrix, order, units):
    return np.concatenate([matrix[..., k * units : (k + 1) * units] for k in order], axis=-1)


def _torch_case(kind, n=16, t=12, f=7, u=9, seed=0):
    """A PyTorch module in float32 and the same weights in Keras's layout."""
    torch.manual_seed(seed)
    module = {"LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}[kind](f, u, batch_first=True)
    w_ih, w_hh, b_ih, b_hh = (p.detach().numpy().astype(np.float32) for p in module.parameters())
    order = TORCH_BLOCK[kind]
    kernel = _keras_blocks(w_ih.T, order, u)
    recurrent = _keras_blocks(w_hh.T, order, u)
    if kind == "GRU":  # reset_after: one row for the input bias, one for the recurrent bias
        bias = np.stack([_keras_blocks(b_ih, order, u), _keras_blocks(b_hh, order, u)])
    else:
        bias = _keras_blocks(b_ih + b_hh, order, u)
    x = np.random.default_rng(seed).standard_normal((n, t, f)).astype(np.float32)
    return module, x, (kernel, recurrent, bias)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_float32_kernels_match_torch_values_and_gradients(kind, return_sequences):
    module, x, weights = _torch_case(kind)
    xt = torch.tensor(x, requires_grad=True)
    seq, state = module(xt)
    last = state[0][-1] if kind == "LSTM" else state[-1]
    out_t = seq if return_sequences else last
    seed = np.random.default_rng(1).standard_normal(tuple(out_t.shape)).astype(np.float32)
    (out_t * torch.tensor(seed)).sum().backward()
    w_ih, w_hh, b_ih, b_hh = (p.grad.numpy() for p in module.parameters())

    fn = kernels_rnn.lstm if kind == "LSTM" else kernels_rnn.gru
    ours = [Tensor(x, requires_grad=True)] + [Tensor(w, requires_grad=True) for w in weights]
    out = fn(*ours, return_sequences=return_sequences)
    grads = grad(out, ours, grad_output=seed)

    np.testing.assert_allclose(out.numpy(), out_t.detach().numpy(), rtol=1e-4, atol=1e-5)
    order, u = TORCH_BLOCK[kind], weights[1].shape[0]
    want = [xt.grad.numpy(), _keras_blocks(w_ih.T, order, u), _keras_blocks(w_hh.T, order, u)]
    if kind == "GRU":
        want.append(np.stack([_keras_blocks(b_ih, order, u), _keras_blocks(b_hh, order, u)]))
    else:
        want.append(_keras_blocks(b_ih, order, u))  # b_ih and b_hh get the same gradient
    for got, expected in zip(grads, want, strict=True):
        scale = np.abs(expected).max()
        np.testing.assert_allclose(np.asarray(got), expected, rtol=0, atol=2e-4 * scale)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_inference_between_forward_and_backward_leaves_the_gradients_alone(kind):
    _, x, weights = _torch_case(kind, seed=3)
    fn = kernels_rnn.lstm if kind == "LSTM" else kernels_rnn.gru

    def gradients(interleave: bool):
        ts = [Tensor(w, requires_grad=True) for w in weights]
        out = fn(Tensor(x), *ts, return_sequences=True)
        if interleave:  # same shapes: takes workspace buffers and writes them in place
            with no_grad():
                for _ in range(2):
                    fn(Tensor(x[::-1].copy()), *[Tensor(w * 0.5) for w in weights])
        return [np.asarray(g).copy() for g in grad(out, ts, grad_output=np.ones(out.shape))]

    for alone, interleaved in zip(gradients(False), gradients(True), strict=True):
        np.testing.assert_array_equal(alone, interleaved)


# -- token_lookup: the Embedding's gather and its sorted-segment gradient ----------------------


def test_token_lookup_gradient_matches_add_at_with_repeated_ids():
    rng = np.random.default_rng(0)
    table = rng.standard_normal((50, 6)).astype(np.float32)
    ids = rng.integers(0, 50, (8, 30))  # 240 draws from 50 rows: many repeats
    seed = rng.standard_normal((8, 30, 6)).astype(np.float32)
    t = Tensor(table, requires_grad=True)
    out = token_lookup(t, ids)
    np.testing.assert_array_equal(out.numpy(), table[ids])
    (got,) = grad(out, [t], grad_output=seed)
    want = np.zeros_like(table, dtype=np.float64)
    np.add.at(want, ids.reshape(-1), seed.reshape(-1, 6).astype(np.float64))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    untouched = np.setdiff1d(np.arange(50), ids)
    assert np.all(got[untouched] == 0)


def test_token_lookup_finite_differences_and_empty_batch():
    table = np.random.default_rng(2).standard_normal((7, 3))
    ids = np.array([[1, 4, 1], [6, 1, 0]])
    assert check_gradients(lambda w: token_lookup(w, ids), [table]) < 1e-8
    t = Tensor(table, requires_grad=True)
    (got,) = grad(token_lookup(t, np.zeros((0, 3), np.int64)), [t], grad_output=np.zeros((0, 3, 3)))
    assert got.shape == table.shape and not np.any(got)


def test_token_lookup_on_a_strict_namespace_scatters():
    table = np.random.default_rng(4).standard_normal((5, 2))
    ids = np.array([[0, 3, 3, 1]])
    want = np.zeros_like(table)
    np.add.at(want, ids.reshape(-1), np.ones((4, 2)))
    with backend.use_namespace(array_api_strict, "strict"):
        t = Tensor(backend.asarray(table), requires_grad=True)
        out = token_lookup(t, backend.asarray(ids))
        (got,) = grad(out, [t], grad_output=backend.asarray(np.ones((1, 4, 2))))
        got = backend.to_numpy(got)
    np.testing.assert_allclose(got, want)


# -- loop_threads: one BLAS thread inside small-step time loops ---------------------------------


def test_small_step_loops_run_on_one_blas_thread_and_put_the_count_back(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from engine.autodiff import kernels_rnn_threads  # noqa: PLC0415

    monkeypatch.delenv("LAYERCANVAS_BLAS_THREADS", raising=False)
    libraries = kernels_rnn_threads.blas_libraries()
    if not libraries:
        pytest.skip("no BLAS library that threadpoolctl can set")
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        before = [lib.num_threads for lib in libraries]
        with kernels_rnn_threads.loop_threads(kernels_rnn_threads.SMALL_STEP):
            with kernels_rnn_threads.loop_threads(10):  # nested: one save and restore
                assert all(lib.num_threads == 1 for lib in libraries)
            assert all(lib.num_threads == 1 for lib in libraries)
        assert [lib.num_threads for lib in libraries] == before
        with kernels_rnn_threads.loop_threads(kernels_rnn_threads.SMALL_STEP + 1):
            assert [lib.num_threads for lib in libraries] == before  # big steps: untouched
        monkeypatch.setenv("LAYERCANVAS_BLAS_THREADS", "2")
        with kernels_rnn_threads.loop_threads(10):
            assert [lib.num_threads for lib in libraries] == before  # the user's count wins


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_inference_path_matches_torch(kind, return_sequences):
    """Without a tape the LSTM keeps one step of gates and two cells: same values."""
    module, x, weights = _torch_case(kind, n=5, t=9, seed=7)
    with torch.no_grad():
        seq, state = module(torch.tensor(x))
    want = seq if return_sequences else (state[0][-1] if kind == "LSTM" else state[-1])
    fn = kernels_rnn.lstm if kind == "LSTM" else kernels_rnn.gru
    with no_grad():
        got = fn(Tensor(x), *[Tensor(w) for w in weights], return_sequences=return_sequences)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-5)
