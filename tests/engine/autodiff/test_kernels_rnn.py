"""The fused recurrent kernels against step-by-step numpy references and finite differences.

The references below are the per-step formulas from the Keras documentation written as
plainly as possible (one timestep, one gate at a time, float64, Keras gate order), so they
share nothing with the kernels' time-major buffers, gate reordering or hand-written BPTT.
"""

import array_api_strict
import numpy as np
import pytest

from engine import backend
from engine.autodiff import kernels_rnn
from engine.autodiff.gradcheck import check_gradients
from engine.autodiff.tensor import Tensor, grad

# -- independent references ------------------------------------------------------------------

ACTS = {
    "tanh": np.tanh,
    "sigmoid": lambda a: 1.0 / (1.0 + np.exp(-a)),
    "relu": lambda a: np.maximum(a, 0.0),
    "linear": lambda a: a,
    "elu": lambda a: np.where(a > 0, a, np.exp(np.minimum(a, 0.0)) - 1.0),
    "leaky_relu": lambda a: np.where(a > 0, a, 0.2 * a),
    "softplus": lambda a: np.log(1.0 + np.exp(a)),
}


def ref_simple_rnn(x, kernel, rec, bias, activation="tanh", return_sequences=False):
    act = ACTS[activation]
    n, t, _ = x.shape
    h = np.zeros((n, rec.shape[0]))
    outs = []
    for s in range(t):
        h = act(x[:, s] @ kernel + h @ rec + (0.0 if bias is None else bias))
        outs.append(h)
    return np.stack(outs, axis=1) if return_sequences else h


def ref_lstm(x, kernel, rec, bias, activation="tanh", recurrent_activation="sigmoid",
             return_sequences=False):  # fmt: skip
    act, ract = ACTS[activation], ACTS[recurrent_activation]
    n, t, _ = x.shape
    u = rec.shape[0]
    b = np.zeros(4 * u) if bias is None else bias
    h, c = np.zeros((n, u)), np.zeros((n, u))
    outs = []
    for s in range(t):
        xt = x[:, s]

        def gate(k, xt=xt, h=h):
            cols = slice(k * u, (k + 1) * u)
            return xt @ kernel[:, cols] + h @ rec[:, cols] + b[cols]

        i, f, cand, o = ract(gate(0)), ract(gate(1)), act(gate(2)), ract(gate(3))
        c = f * c + i * cand
        h = o * act(c)
        outs.append(h)
    return np.stack(outs, axis=1) if return_sequences else h


def ref_gru(x, kernel, rec, bias, activation="tanh", recurrent_activation="sigmoid",
            return_sequences=False, reset_after=True):  # fmt: skip
    act, ract = ACTS[activation], ACTS[recurrent_activation]
    n, t, _ = x.shape
    u = rec.shape[0]
    if bias is None:
        b_x = b_h = np.zeros(3 * u)
    elif reset_after:
        b_x, b_h = bias[0], bias[1]
    else:
        b_x, b_h = bias, np.zeros(3 * u)
    wz, wr, wh = kernel[:, :u], kernel[:, u : 2 * u], kernel[:, 2 * u :]
    uz, ur, uh = rec[:, :u], rec[:, u : 2 * u], rec[:, 2 * u :]
    h = np.zeros((n, u))
    outs = []
    for s in range(t):
        xt = x[:, s]
        z = ract(xt @ wz + b_x[:u] + h @ uz + b_h[:u])
        r = ract(xt @ wr + b_x[u : 2 * u] + h @ ur + b_h[u : 2 * u])
        if reset_after:
            cand = act(xt @ wh + b_x[2 * u :] + r * (h @ uh + b_h[2 * u :]))
        else:
            cand = act(xt @ wh + (r * h) @ uh + b_x[2 * u :])
        h = z * h + (1.0 - z) * cand
        outs.append(h)
    return np.stack(outs, axis=1) if return_sequences else h


# -- cases -----------------------------------------------------------------------------------


def make_case(kind, n, t, f, u, use_bias=True, reset_after=True, seed=0, scale=0.6):
    rng = np.random.default_rng(seed)
    k = {"simple": 1, "lstm": 4, "gru": 3}[kind]
    x = rng.standard_normal((n, t, f))
    kernel = rng.standard_normal((f, k * u)) * scale
    rec = rng.standard_normal((u, k * u)) * scale
    bias = None
    if use_bias:
        shape = (2, 3 * u) if kind == "gru" and reset_after else (k * u,)
        bias = rng.standard_normal(shape) * scale
    return x, kernel, rec, bias


def run_kernel(kind, x, kernel, rec, bias, **options):
    fn = {"simple": kernels_rnn.simple_rnn, "lstm": kernels_rnn.lstm, "gru": kernels_rnn.gru}
    tensors = [Tensor(backend.asarray(a)) for a in (x, kernel, rec)]
    b = None if bias is None else Tensor(backend.asarray(bias))
    return fn[kind](*tensors, b, **options)


REFERENCES = {"simple": ref_simple_rnn, "lstm": ref_lstm, "gru": ref_gru}
KINDS = ["simple", "lstm", "gru"]


# -- forward values --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize(("n", "t"), [(1, 1), (3, 5), (2, 7)])
def test_forward_matches_reference(kind, return_sequences, n, t):
    x, kernel, rec, bias = make_case(kind, n, t, f=4, u=5)
    got = run_kernel(kind, x, kernel, rec, bias, return_sequences=return_sequences)
    want = REFERENCES[kind](x, kernel, rec, bias, return_sequences=return_sequences)
    assert got.shape == want.shape
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12)


def test_gru_reset_before_matches_reference():
    x, kernel, rec, bias = make_case("gru", 3, 4, f=2, u=3, reset_after=False)
    for seqs in (False, True):
        got = run_kernel("gru", x, kernel, rec, bias, return_sequences=seqs, reset_after=False)
        want = ref_gru(x, kernel, rec, bias, return_sequences=seqs, reset_after=False)
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_forward_without_bias(kind):
    x, kernel, rec, _ = make_case(kind, 2, 3, f=3, u=4, use_bias=False)
    got = run_kernel(kind, x, kernel, rec, None, return_sequences=True)
    want = REFERENCES[kind](x, kernel, rec, None, return_sequences=True)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("activation", sorted(kernels_rnn.RNN_ACTIVATIONS))
def test_every_activation_matches_reference(activation):
    # Small weights keep relu/linear/elu recurrences bounded over a few steps.
    for kind in KINDS:
        x, kernel, rec, bias = make_case(kind, 2, 3, f=3, u=3, scale=0.3)
        got = run_kernel(kind, x, kernel, rec, bias, activation=activation)
        want = REFERENCES[kind](x, kernel, rec, bias, activation=activation)
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)
    for kind in ("lstm", "gru"):
        x, kernel, rec, bias = make_case(kind, 2, 3, f=3, u=3, scale=0.3)
        got = run_kernel(kind, x, kernel, rec, bias, recurrent_activation=activation)
        want = REFERENCES[kind](x, kernel, rec, bias, recurrent_activation=activation)
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)


def test_float32_stays_float32_and_large_inputs_do_not_overflow():
    x, kernel, rec, bias = (a.astype(np.float32) for a in make_case("lstm", 2, 3, f=3, u=2))
    x = x * 200.0  # saturates every gate: the sigmoid must not overflow (warnings are errors)
    for kind in KINDS:
        x_, kernel, rec, bias = (a.astype(np.float32) for a in make_case(kind, 2, 3, f=3, u=2))
        out = run_kernel(kind, x, kernel, rec, bias)
        assert out.dtype == np.float32
        assert np.all(np.isfinite(out.numpy()))


# -- gradients -------------------------------------------------------------------------------


def _check(kind, n, t, u, return_sequences, use_bias=True, **options):
    reset_after = options.get("reset_after", True)
    x, kernel, rec, bias = make_case(kind, n, t, f=3, u=u, use_bias=use_bias,
                                     reset_after=reset_after, seed=n * 10 + t)  # fmt: skip
    fn = {"simple": kernels_rnn.simple_rnn, "lstm": kernels_rnn.lstm, "gru": kernels_rnn.gru}[kind]
    inputs = [x, kernel, rec] + ([bias] if use_bias else [])

    def f(*ts):
        b = ts[3] if use_bias else None
        return fn(ts[0], ts[1], ts[2], b, return_sequences=return_sequences, **options)

    return check_gradients(f, inputs)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize(("n", "t", "u"), [(1, 1, 3), (3, 5, 3), (1, 5, 1), (3, 1, 5)])
def test_gradients_match_finite_differences(kind, return_sequences, n, t, u):
    assert _check(kind, n, t, u, return_sequences) < 1e-6


@pytest.mark.parametrize("return_sequences", [False, True])
def test_gru_reset_before_gradients(return_sequences):
    assert _check("gru", 3, 5, 3, return_sequences, reset_after=False) < 1e-6
    assert _check("gru", 2, 3, 3, return_sequences, use_bias=False, reset_after=False) < 1e-6


@pytest.mark.parametrize("kind", KINDS)
def test_gradients_without_bias(kind):
    assert _check(kind, 2, 4, 3, True, use_bias=False) < 1e-6


@pytest.mark.parametrize("activation", ["relu", "linear", "elu", "leaky_relu", "softplus"])
def test_gradients_with_other_activations(activation):
    for kind in KINDS:
        assert _check(kind, 2, 4, 3, True, activation=activation) < 1e-6
    for kind in ("lstm", "gru"):
        assert _check(kind, 2, 4, 3, False, recurrent_activation=activation) < 1e-6


def test_only_requested_gradients_are_computed():
    x, kernel, rec, bias = make_case("lstm", 2, 3, f=3, u=2)
    xt = Tensor(x)  # data, not a Variable: no input gradient wanted
    wt, rt, bt = (Tensor(a, requires_grad=True) for a in (kernel, rec, bias))
    out = kernels_rnn.lstm(xt, wt, rt, bt)
    assert len(out._parents) == 4
    grads = out._vjp(np.ones(out.shape))
    assert grads[0] is None
    assert [g.shape for g in grads[1:]] == [kernel.shape, rec.shape, bias.shape]


def test_no_tape_without_gradients():
    x, kernel, rec, bias = make_case("gru", 2, 3, f=3, u=2)
    out = run_kernel("gru", x, kernel, rec, bias)
    assert not out.requires_grad and out._vjp is None


# -- input validation ------------------------------------------------------------------------


def test_bad_shapes_are_reported():
    x, kernel, rec, bias = make_case("lstm", 2, 3, f=3, u=2)
    with pytest.raises(ValueError, match="kernel must be"):
        run_kernel("lstm", x, kernel[:2], rec, bias)
    with pytest.raises(ValueError, match="recurrent_kernel"):
        run_kernel("lstm", x, kernel, rec[:, :4], bias)
    with pytest.raises(ValueError, match=r"\(N, T, F\)"):
        run_kernel("lstm", x[0], kernel, rec, bias)
    _, kernel, rec, bias = make_case("gru", 2, 3, f=3, u=2)
    with pytest.raises(ValueError, match="GRU bias"):
        run_kernel("gru", x, kernel, rec, bias[0])
    with pytest.raises(ValueError, match="unsupported recurrent activation"):
        run_kernel("gru", x, kernel, rec, bias, activation="softmax")


# -- a namespace that is not numpy -----------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("simple", {}),
        ("lstm", {}),
        ("gru", {}),
        ("gru", {"reset_after": False}),
        ("lstm", {"activation": "relu", "recurrent_activation": "linear"}),
        ("simple", {"activation": "elu"}),
        ("gru", {"activation": "leaky_relu", "recurrent_activation": "softplus"}),
    ],
)
@pytest.mark.parametrize("return_sequences", [False, True])
def test_array_api_strict_namespace(kind, options, return_sequences):
    reset_after = options.get("reset_after", True)
    x, kernel, rec, bias = make_case(kind, 2, 4, f=3, u=3, reset_after=reset_after)
    fn = {"simple": kernels_rnn.simple_rnn, "lstm": kernels_rnn.lstm, "gru": kernels_rnn.gru}[kind]
    weights = np.random.default_rng(1).standard_normal((2, 4, 3) if return_sequences else (2, 3))

    def forward_and_grads():
        ts = [Tensor(backend.asarray(a), requires_grad=True) for a in (x, kernel, rec, bias)]
        out = fn(*ts, return_sequences=return_sequences, **options)
        grads = grad(out, ts, grad_output=backend.asarray(weights))
        return out.numpy(), [backend.to_numpy(g) for g in grads]

    want_out, want_grads = forward_and_grads()
    with backend.use_namespace(array_api_strict, "strict"):
        got_out, got_grads = forward_and_grads()
    np.testing.assert_allclose(got_out, want_out, rtol=1e-12, atol=1e-12)
    for got, want in zip(got_grads, want_grads, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


# -- scratch buffers reused between calls ----------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_overlapping_graphs_do_not_share_buffers(kind):
    """Two recorded calls alive at once (as in a training loop, where the next forward runs
    before the last graph is dropped) must keep separate buffers: backpropagating the
    first after the second ran gives the same gradients as backpropagating it alone."""
    fn = {"simple": kernels_rnn.simple_rnn, "lstm": kernels_rnn.lstm, "gru": kernels_rnn.gru}[kind]
    first = make_case(kind, 2, 4, f=3, u=3, seed=1)
    second = make_case(kind, 2, 4, f=3, u=3, seed=2)

    def run(case):
        ts = [Tensor(a, requires_grad=True) for a in case]
        return ts, fn(*ts, return_sequences=True)

    ts1, out1 = run(first)
    alone = [g.copy() for g in grad(out1, ts1)]
    value_alone = out1.numpy().copy()
    del out1, ts1
    ts1, out1 = run(first)
    ts2, out2 = run(second)  # reuses whatever the dropped first graph gave back
    with_other = grad(out1, ts1)
    grad(out2, ts2)
    np.testing.assert_array_equal(out1.numpy(), value_alone)
    for want, got in zip(alone, with_other, strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(
        out2.numpy(), REFERENCES[kind](*second, return_sequences=True), rtol=1e-12
    )


def test_unrecorded_calls_return_their_buffers_at_once():
    kernels_rnn._WORKSPACE.clear()
    x, kernel, rec, bias = make_case("lstm", 2, 3, f=3, u=2)
    first = run_kernel("lstm", x, kernel, rec, bias).numpy()
    kept = kernels_rnn._WORKSPACE._bytes
    assert kept > 0
    second = run_kernel("lstm", x, kernel, rec, bias).numpy()  # takes them, gives them back
    assert kernels_rnn._WORKSPACE._bytes == kept
    np.testing.assert_array_equal(first, second)
