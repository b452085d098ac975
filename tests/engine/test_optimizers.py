"""Optimizers: update sequences against numpy implementations of the published formulas,
clipping and weight decay, convergence on small problems, exact resume from saved state,
configuration round trips."""

import array_api_strict
import numpy as np
import pytest

from engine import backend, losses, optimizers, schedules
from engine.autodiff import ops
from engine.autodiff.tensor import Tensor, Variable

RNG = np.random.default_rng(42)
SHAPES = [(3, 2), (2,)]


def gradient_sequence(steps=6):
    return [[RNG.normal(size=s) for s in SHAPES] for _ in range(steps)]


def initial_weights():
    return [RNG.normal(size=s) for s in SHAPES]


def run_engine(optimizer, weights, grads_seq):
    variables = [Variable(np.array(w, copy=True), name=f"w{i}") for i, w in enumerate(weights)]
    history = []
    for grads in grads_seq:
        optimizer.apply_gradients(zip(grads, variables))
        history.append([v.numpy().copy() for v in variables])
    return history


# -- numpy references of the published update rules (Keras's forms) ----------------------------


def clip_grads(grads, clipnorm=None, clipvalue=None, global_clipnorm=None):
    if clipnorm is not None:
        return [g * clipnorm / max(np.linalg.norm(g), clipnorm) for g in grads]
    if global_clipnorm is not None:
        norm = np.sqrt(sum(np.sum(g**2) for g in grads))
        return [g * global_clipnorm / max(norm, global_clipnorm) for g in grads]
    if clipvalue is not None:
        return [np.clip(g, -clipvalue, clipvalue) for g in grads]
    return grads


def ref_sgd(weights, grads_seq, lr, momentum=0.0, nesterov=False, weight_decay=None, **clip):
    w = [x.copy() for x in weights]
    v = [np.zeros_like(x) for x in weights]
    out = []
    for grads in grads_seq:
        grads = clip_grads(grads, **clip)
        for i, g in enumerate(grads):
            if weight_decay:
                w[i] = w[i] - w[i] * weight_decay * lr
            if momentum:
                v[i] = momentum * v[i] - lr * g
                w[i] = w[i] + (momentum * v[i] - lr * g if nesterov else v[i])
            else:
                w[i] = w[i] - lr * g
        out.append([x.copy() for x in w])
    return out


def ref_adam(weights, grads_seq, lr, b1=0.9, b2=0.999, eps=1e-7, amsgrad=False, weight_decay=None):
    w = [x.copy() for x in weights]
    m = [np.zeros_like(x) for x in weights]
    v = [np.zeros_like(x) for x in weights]
    vmax = [np.zeros_like(x) for x in weights]
    out = []
    for t, grads in enumerate(grads_seq, start=1):
        for i, g in enumerate(grads):
            if weight_decay:
                w[i] = w[i] - w[i] * weight_decay * lr
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            vmax[i] = np.maximum(vmax[i], v[i])
            denom = vmax[i] if amsgrad else v[i]
            w[i] = w[i] - lr * np.sqrt(1 - b2**t) / (1 - b1**t) * m[i] / (np.sqrt(denom) + eps)
        out.append([x.copy() for x in w])
    return out


def ref_rmsprop(weights, grads_seq, lr, rho=0.9, momentum=0.0, eps=1e-7, centered=False):
    w = [x.copy() for x in weights]
    ms = [np.zeros_like(x) for x in weights]
    mg = [np.zeros_like(x) for x in weights]
    buf = [np.zeros_like(x) for x in weights]
    out = []
    for grads in grads_seq:
        for i, g in enumerate(grads):
            ms[i] = rho * ms[i] + (1 - rho) * g * g
            mg[i] = rho * mg[i] + (1 - rho) * g
            denom = ms[i] - mg[i] ** 2 + eps if centered else ms[i] + eps
            step = lr * g / np.sqrt(denom)
            if momentum:
                buf[i] = momentum * buf[i] + step
                step = buf[i]
            w[i] = w[i] - step
        out.append([x.copy() for x in w])
    return out


def assert_same_history(got, expected, rtol=1e-12):
    for step, (g_step, e_step) in enumerate(zip(got, expected, strict=True)):
        for g, e in zip(g_step, e_step, strict=True):
            np.testing.assert_allclose(g, e, rtol=rtol, atol=1e-14, err_msg=f"step {step}")


# -- update rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"momentum": 0.9},
        {"momentum": 0.9, "nesterov": True},
        {"momentum": 0.5, "weight_decay": 0.1},
        {"clipnorm": 0.5},
        {"global_clipnorm": 0.7, "momentum": 0.3},
        {"clipvalue": 0.2},
    ],
    ids=str,
)
def test_sgd_matches_reference(options):
    weights, grads = initial_weights(), gradient_sequence()
    got = run_engine(optimizers.SGD(learning_rate=0.1, **options), weights, grads)
    assert_same_history(got, ref_sgd(weights, grads, 0.1, **options))


@pytest.mark.parametrize(
    "options",
    [{}, {"amsgrad": True}, {"beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-3}],
    ids=str,
)
def test_adam_matches_reference(options):
    weights, grads = initial_weights(), gradient_sequence()
    names = {"beta_1": "b1", "beta_2": "b2", "epsilon": "eps"}
    ref_options = {names.get(k, k): v for k, v in options.items()}
    got = run_engine(optimizers.Adam(learning_rate=0.01, **options), weights, grads)
    assert_same_history(got, ref_adam(weights, grads, 0.01, **ref_options))


def test_adamw_decays_weights_before_the_adam_step():
    weights, grads = initial_weights(), gradient_sequence()
    got = run_engine(optimizers.AdamW(learning_rate=0.01, weight_decay=0.05), weights, grads)
    assert_same_history(got, ref_adam(weights, grads, 0.01, weight_decay=0.05))
    with pytest.raises(ValueError, match="weight_decay"):
        optimizers.AdamW(weight_decay=None)


@pytest.mark.parametrize(
    "options",
    [{}, {"centered": True}, {"momentum": 0.8}, {"centered": True, "momentum": 0.5, "rho": 0.7}],
    ids=str,
)
def test_rmsprop_matches_reference(options):
    weights, grads = initial_weights(), gradient_sequence()
    got = run_engine(optimizers.RMSprop(learning_rate=0.01, **options), weights, grads)
    assert_same_history(got, ref_rmsprop(weights, grads, 0.01, **options))


def test_schedule_is_evaluated_at_the_step_counter():
    weights, grads = initial_weights(), gradient_sequence(5)
    schedule = schedules.PiecewiseConstantDecay([1, 3], [0.1, 0.01, 0.001])
    opt = optimizers.SGD(learning_rate=schedule)
    assert opt.current_learning_rate() == 0.1
    got = run_engine(opt, weights, grads)
    w = [x.copy() for x in weights]
    for step, step_grads in enumerate(grads):
        lr = schedule(step)
        w = [x - lr * g for x, g in zip(w, step_grads)]
    assert_same_history(got[-1:], [w])
    assert opt.iterations == 5
    assert opt.current_learning_rate() == 0.001
    opt.learning_rate = 0.5  # a float replaces the schedule (ReduceLROnPlateau does this)
    assert opt.learning_rate == 0.5 and opt.current_learning_rate() == 0.5


def test_updates_are_in_place_and_skip_frozen_and_missing_gradients():
    a = Variable(np.ones((2, 2)), name="a")
    b = Variable(np.ones(2), name="b")
    frozen = Variable(np.ones(2), trainable=False, name="frozen")
    buffer = a.data
    opt = optimizers.Adam(learning_rate=0.1)
    opt.apply_gradients([(np.ones((2, 2)), a), (None, b), (np.ones(2), frozen)])
    assert a.data is buffer and not np.allclose(a.numpy(), 1.0)
    np.testing.assert_array_equal(b.numpy(), 1.0)
    np.testing.assert_array_equal(frozen.numpy(), 1.0)
    assert opt.variables == [a, b]  # first-seen order; frozen ones are not tracked
    assert sorted(opt.get_state()) == ["iterations", "learning_rate", "m/0", "m/1", "v/0", "v/1"]


def test_gradients_as_tensors_and_other_dtypes_are_accepted():
    var = Variable(np.ones(3, np.float32))
    optimizers.SGD(learning_rate=0.5).apply_gradients([(Tensor(np.ones(3)), var)])
    assert var.dtype == np.float32
    np.testing.assert_allclose(var.numpy(), 0.5)
    with pytest.raises(ValueError, match="gradient of shape"):
        optimizers.SGD().apply_gradients([(np.ones(2, np.float32), var)])


def test_only_one_clipping_option():
    with pytest.raises(ValueError, match="only one of clipnorm"):
        optimizers.SGD(clipnorm=1.0, clipvalue=0.5)
    with pytest.raises(ValueError, match="learning_rate"):
        optimizers.Adam(learning_rate=-1.0)


def test_optimizers_run_on_a_strict_array_namespace():
    weights, grads = initial_weights(), gradient_sequence(4)
    with backend.use_namespace(array_api_strict, "strict"):
        variables = [Variable(backend.asarray(w)) for w in weights]
        adam = optimizers.Adam(learning_rate=0.01, amsgrad=True, global_clipnorm=1.0)
        rms = optimizers.RMSprop(learning_rate=0.01, centered=True, momentum=0.5)
        for step in grads:
            adam.apply_gradients(zip([backend.asarray(g) for g in step], variables[:1]))
            rms.apply_gradients(zip([backend.asarray(g) for g in step[1:]], variables[1:]))
        got = [backend.to_numpy(v.data) for v in variables]
    clipped = [clip_grads([s[0]], global_clipnorm=1.0) for s in grads]
    expected_a = ref_adam(weights[:1], clipped, 0.01, amsgrad=True)[-1][0]
    expected_b = ref_rmsprop(weights[1:], [s[1:] for s in grads], 0.01, 0.9, 0.5, centered=True)
    np.testing.assert_allclose(got[0], expected_a, rtol=1e-12)
    np.testing.assert_allclose(got[1], expected_b[-1][0], rtol=1e-12)


def test_adam_numpy_fast_path_equals_the_generic_path():
    # Under numpy, plain Adam updates in scratch arrays; the strict namespace takes the
    # generic expression. Same operations in the same order, so the same float32 numbers.
    weights = [w.astype(np.float32) for w in initial_weights()]
    grads = [[g.astype(np.float32) for g in step] for step in gradient_sequence(4)]

    def run():
        variables = [Variable(backend.asarray(w.copy())) for w in weights]
        adam = optimizers.Adam(learning_rate=0.01)
        for step in grads:
            adam.apply_gradients(zip([backend.asarray(g) for g in step], variables))
        return [backend.to_numpy(v.data) for v in variables]

    fast = run()
    with backend.use_namespace(array_api_strict, "strict"):
        generic = run()
    for a, b in zip(fast, generic, strict=True):
        np.testing.assert_array_equal(a, b)


# -- convergence -------------------------------------------------------------------------------


def linear_regression_data():
    x = RNG.normal(size=(64, 3)).astype(np.float32)
    true_w = np.array([[1.5], [-2.0], [0.5]], np.float32)
    y = x @ true_w + 0.3
    return x, y, true_w


@pytest.mark.parametrize(
    "optimizer",
    [
        optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True),
        optimizers.Adam(learning_rate=0.05),
        optimizers.RMSprop(learning_rate=0.01),
        optimizers.AdamW(learning_rate=0.05, weight_decay=1e-4),
    ],
    ids=lambda o: type(o).__name__,
)
def test_minimize_fits_a_linear_regression(optimizer):
    x, y, true_w = linear_regression_data()
    kernel = Variable(np.zeros((3, 1), np.float32), name="kernel")
    bias = Variable(np.zeros(1, np.float32), name="bias")
    loss = losses.MeanSquaredError()

    def loss_fn():
        return loss(y, ops.matmul(Tensor(x), kernel) + bias)

    first = float(loss_fn().numpy())
    for _ in range(300):
        last = optimizer.minimize(loss_fn, [kernel, bias])
    assert float(last.numpy()) < 1e-4 * first
    np.testing.assert_allclose(kernel.numpy(), true_w, atol=2e-2)
    np.testing.assert_allclose(bias.numpy(), [0.3], atol=2e-2)
    assert optimizer.iterations == 300


def test_minimize_on_a_quadratic_reaches_the_minimum():
    target = np.array([3.0, -1.0, 0.25])
    w = Variable(np.zeros(3))
    opt = optimizers.SGD(learning_rate=0.1)
    for _ in range(200):
        opt.minimize(lambda: ops.sum_(ops.square(w - target)), lambda: [w])
    np.testing.assert_allclose(w.numpy(), target, atol=1e-9)


# -- state and configuration -------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
        lambda: optimizers.Adam(learning_rate=0.01, amsgrad=True),
        lambda: optimizers.AdamW(learning_rate=schedules.CosineDecay(0.01, 10)),
        lambda: optimizers.RMSprop(learning_rate=0.01, centered=True, momentum=0.5),
    ],
    ids=["sgd", "adam", "adamw", "rmsprop"],
)
def test_set_state_resumes_bit_for_bit(make):
    weights = [w.astype(np.float32) for w in initial_weights()]
    grads = [[g.astype(np.float32) for g in step] for step in gradient_sequence(8)]
    straight = run_engine(make(), weights, grads)[-1]

    first = make()
    variables = [Variable(w.copy()) for w in weights]
    for step in grads[:4]:
        first.apply_gradients(zip(step, variables))
    state = first.get_state()
    saved = [v.numpy().copy() for v in variables]
    assert all(isinstance(a, np.ndarray) for a in state.values())
    assert int(state["iterations"]) == 4

    snapshot = {k: v.copy() for k, v in state.items()}
    resumed = make()
    fresh = [Variable(w) for w in saved]
    resumed.set_state(state, fresh)
    for step in grads[4:]:
        resumed.apply_gradients(zip(step, fresh))
    for got, expected in zip(fresh, straight):
        np.testing.assert_array_equal(got.numpy(), expected)
    # set_state copied the arrays: training on did not write into the saved state
    for key, array in state.items():
        np.testing.assert_array_equal(array, snapshot[key])


def test_set_state_restores_a_reduced_learning_rate_and_rejects_foreign_state():
    opt = optimizers.Adam(learning_rate=0.01)
    var = Variable(np.ones(2, np.float32))
    opt.apply_gradients([(np.ones(2, np.float32), var)])
    opt.learning_rate = 0.001
    other = optimizers.Adam(learning_rate=0.01)
    other.set_state(opt.get_state(), [var])
    assert other.learning_rate == pytest.approx(0.001) and other.iterations == 1
    with pytest.raises(ValueError, match="does not belong to SGD"):
        optimizers.SGD(momentum=0.9).set_state(opt.get_state(), [var])
    with pytest.raises(ValueError, match="has shape"):
        optimizers.Adam().set_state(opt.get_state(), [Variable(np.ones(3, np.float32))])
    with pytest.raises(ValueError, match="only 0 trainable variables"):
        optimizers.Adam().set_state(opt.get_state(), [])


def test_get_accepts_names_dicts_and_instances():
    assert isinstance(optimizers.get("sgd"), optimizers.SGD)
    assert isinstance(optimizers.get("Adam"), optimizers.Adam)
    assert isinstance(optimizers.get("adamw"), optimizers.AdamW)
    assert isinstance(optimizers.get("rmsprop"), optimizers.RMSprop)
    adam = optimizers.get({"name": "adam", "learning_rate": 0.01, "amsgrad": True})
    assert adam.learning_rate == 0.01 and adam.amsgrad
    keras_style = optimizers.get({"class_name": "SGD", "config": {"momentum": 0.9}})
    assert keras_style.momentum == 0.9
    scheduled = optimizers.get(
        {
            "name": "sgd",
            "learning_rate": {
                "name": "exponential_decay",
                "initial_learning_rate": 0.1,
                "decay_steps": 10,
                "decay_rate": 0.5,
            },
        }
    )
    assert isinstance(scheduled.learning_rate, schedules.ExponentialDecay)
    opt = optimizers.RMSprop()
    assert optimizers.get(opt) is opt
    with pytest.raises(ValueError, match="unknown optimizer 'sophia'"):
        optimizers.get("sophia")
    with pytest.raises(ValueError, match="bad options"):
        optimizers.get({"name": "sgd", "beta_1": 0.9})


def test_config_round_trip():
    for opt in (
        optimizers.SGD(learning_rate=0.3, momentum=0.5, nesterov=True, clipvalue=1.0),
        optimizers.Adam(learning_rate=schedules.StepDecay(0.01, 100, 0.5), amsgrad=True),
        optimizers.AdamW(weight_decay=0.01, global_clipnorm=2.0),
        optimizers.RMSprop(rho=0.8, centered=True, clipnorm=1.0),
    ):
        config = opt.get_config()
        for again in (optimizers.get(config), type(opt).from_config(config)):
            assert type(again) is type(opt)
            assert again.get_config() == config
