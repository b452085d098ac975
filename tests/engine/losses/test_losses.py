"""Losses: values against numpy/scipy references and Keras's documented numbers, gradients
against float64 finite differences, fused and unfused paths against each other, stability
at extreme logits, and the errors a user sees for labels that do not fit."""

import array_api_strict
import numpy as np
import pytest
from scipy.special import log_expit, log_softmax, softmax

from engine import activations, backend, losses
from engine.autodiff import kernels_loss, ops
from engine.autodiff.gradcheck import check_gradients
from engine.autodiff.tensor import Tensor, grad

RNG = np.random.default_rng(1234)


def t(x, requires_grad=False):
    return Tensor(np.asarray(x), requires_grad=requires_grad)


def value(loss_tensor):
    return float(loss_tensor.numpy())


# -- numpy references ------------------------------------------------------------------------


def ref_mse(y, p):
    return np.mean((p - y) ** 2, axis=-1)


def ref_mae(y, p):
    return np.mean(np.abs(p - y), axis=-1)


def ref_huber(y, p, delta=1.0):
    x = np.abs(p - y)
    return np.mean(np.where(x <= delta, 0.5 * x**2, delta * x - 0.5 * delta**2), axis=-1)


def ref_bce_probs(y, p):
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p), axis=-1)


def ref_bce_logits(y, z):
    return -np.mean(y * log_expit(z) + (1 - y) * log_expit(-z), axis=-1)


def ref_cce_logits(y, z, axis=-1):
    return -np.sum(y * log_softmax(z, axis=axis), axis=axis)


def onehot(labels, classes):
    return np.eye(classes)[labels]


# -- Keras's documented examples ---------------------------------------------------------------


def test_keras_documented_values():
    y_true = np.array([[0.0, 1.0], [0.0, 0.0]], np.float32)
    assert value(losses.get("mse")(y_true, t(np.float32([[1, 1], [1, 0]])))) == pytest.approx(0.5)
    assert value(losses.get("mae")(y_true, t(np.float32([[1, 1], [1, 0]])))) == pytest.approx(0.5)
    y_pred = t(np.float32([[0.6, 0.4], [0.4, 0.6]]))
    assert value(losses.Huber()(y_true, y_pred)) == pytest.approx(0.155, abs=1e-6)
    assert value(losses.BinaryCrossentropy()(y_true, y_pred)) == pytest.approx(0.815, abs=1e-3)
    logits = t(np.float32([-18.6, 0.51, 2.94, -12.8]))
    bce = losses.BinaryCrossentropy(from_logits=True)(np.float32([0, 1, 0, 0]), logits)
    assert value(bce) == pytest.approx(0.865, abs=1e-3)
    probs = t(np.float32([[0.05, 0.95, 0], [0.1, 0.8, 0.1]]))
    cce = losses.CategoricalCrossentropy()(np.float32([[0, 1, 0], [0, 0, 1]]), probs)
    assert value(cce) == pytest.approx(1.177, abs=1e-3)
    scce = losses.SparseCategoricalCrossentropy()(np.array([1, 2]), probs)
    assert value(scce) == pytest.approx(1.177, abs=1e-3)


# -- values against references -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "ref"),
    [("mse", ref_mse), ("mae", ref_mae), ("huber", ref_huber)],
)
def test_regression_losses_match_numpy(name, ref):
    y = RNG.normal(size=(8, 3))
    p = RNG.normal(scale=2.0, size=(8, 3))
    loss = losses.get(name)
    assert value(loss(y, t(p))) == pytest.approx(ref(y, p).mean(), rel=1e-12)
    fn = {"mse": losses.mse, "mae": losses.mae, "huber": losses.huber}[name]
    np.testing.assert_allclose(fn(y, t(p)).numpy(), ref(y, p), rtol=1e-12)


def test_huber_delta_and_both_regions():
    y = np.zeros((1, 4))
    p = np.array([[0.5, -1.5, 3.0, -0.1]])
    got = value(losses.Huber(delta=2.0)(y, t(p)))
    assert got == pytest.approx(ref_huber(y, p, 2.0).mean(), rel=1e-12)
    # 0.125, 1.125, 2*3-2 = 4, 0.005 -> mean
    assert got == pytest.approx((0.125 + 1.125 + 4.0 + 0.005) / 4, rel=1e-12)


def test_binary_crossentropy_matches_numpy_for_probabilities_and_logits():
    y = RNG.integers(0, 2, size=(10, 2)).astype(np.float64)
    z = RNG.normal(scale=3.0, size=(10, 2))
    p = 1 / (1 + np.exp(-z))
    got_probs = value(losses.BinaryCrossentropy()(y, t(p)))
    assert got_probs == pytest.approx(ref_bce_probs(y, p).mean(), rel=1e-10)
    got_logits = value(losses.BinaryCrossentropy(from_logits=True)(y, t(z)))
    assert got_logits == pytest.approx(ref_bce_logits(y, z).mean(), rel=1e-12)


def test_categorical_crossentropy_matches_numpy():
    z = RNG.normal(scale=2.0, size=(6, 5))
    y = onehot(RNG.integers(0, 5, size=6), 5)
    assert value(losses.CategoricalCrossentropy(from_logits=True)(y, t(z))) == pytest.approx(
        ref_cce_logits(y, z).mean(), rel=1e-12
    )
    p = softmax(z, axis=-1)
    expected = -np.sum(y * np.log(np.clip(p, 1e-7, 1 - 1e-7)), axis=-1).mean()
    assert value(losses.CategoricalCrossentropy()(y, t(p))) == pytest.approx(expected, rel=1e-10)


def test_label_smoothing_matches_keras_definition():
    z = RNG.normal(size=(4, 3))
    y = onehot([0, 2, 1, 1], 3)
    smoothed = y * 0.9 + 0.1 / 3
    got = losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)(y, t(z))
    assert value(got) == pytest.approx(ref_cce_logits(smoothed, z).mean(), rel=1e-12)
    yb = np.array([[1.0], [0.0]])
    zb = np.array([[0.3], [-2.0]])
    got = losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.2)(yb, t(zb))
    assert value(got) == pytest.approx(ref_bce_logits(yb * 0.8 + 0.1, zb).mean(), rel=1e-12)


def test_sparse_categorical_crossentropy_matches_numpy_for_both_label_shapes():
    z = RNG.normal(scale=2.0, size=(7, 4))
    labels = RNG.integers(0, 4, size=7)
    expected = ref_cce_logits(onehot(labels, 4), z).mean()
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    assert value(loss(labels, t(z))) == pytest.approx(expected, rel=1e-12)
    assert value(loss(labels.reshape(7, 1), t(z))) == pytest.approx(expected, rel=1e-12)
    # float labels (as read from a CSV) are class numbers too
    assert value(loss(labels.astype(np.float32), t(z))) == pytest.approx(expected, rel=1e-12)


def test_sparse_crossentropy_over_a_sequence_averages_over_every_step():
    z = RNG.normal(size=(3, 5, 4))  # (N, T, classes)
    labels = RNG.integers(0, 4, size=(3, 5))
    expected = ref_cce_logits(onehot(labels, 4), z).mean()  # over N * T values, as Keras
    got = losses.SparseCategoricalCrossentropy(from_logits=True)(labels, t(z))
    assert value(got) == pytest.approx(expected, rel=1e-12)


def test_channels_first_class_axis():
    z = RNG.normal(size=(2, 3, 4, 4))  # (N, C, H, W) segmentation logits
    labels = RNG.integers(0, 3, size=(2, 4, 4))
    y = np.moveaxis(onehot(labels, 3), -1, 1)
    expected = ref_cce_logits(y, z, axis=1).mean()
    sparse = losses.SparseCategoricalCrossentropy(from_logits=True, axis=1)(labels, t(z))
    dense = losses.CategoricalCrossentropy(from_logits=True, axis=1)(y, t(z))
    assert value(sparse) == pytest.approx(expected, rel=1e-12)
    assert value(dense) == pytest.approx(expected, rel=1e-12)
    p = softmax(z, axis=1)
    probs = losses.SparseCategoricalCrossentropy(axis=1)(labels, t(p))
    assert value(probs) == pytest.approx(expected, rel=1e-9)


# -- reductions and sample weights -------------------------------------------------------------


def test_reductions_and_sample_weights():
    y = RNG.normal(size=(5, 2))
    p = RNG.normal(size=(5, 2))
    w = np.array([1.0, 0.0, 2.0, 0.5, 1.0])
    per_sample = ref_mse(y, p)
    mse = losses.MeanSquaredError
    assert value(mse()(y, t(p), sample_weight=w)) == pytest.approx((per_sample * w).sum() / 5)
    assert value(mse(reduction="sum")(y, t(p), sample_weight=w)) == pytest.approx(
        (per_sample * w).sum()
    )
    assert value(mse(reduction="mean_with_sample_weight")(y, t(p), w)) == pytest.approx(
        (per_sample * w).sum() / w.sum()
    )
    np.testing.assert_allclose(mse(reduction="none")(y, t(p)).numpy(), per_sample)
    with pytest.raises(ValueError, match="one weight per sample"):
        mse()(y, t(p), sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="unknown reduction"):
        mse(reduction="average")


def test_column_targets_never_broadcast_to_a_matrix():
    y = np.array([1.0, 2.0, 3.0])
    p = t(np.array([[1.5], [2.0], [2.0]]))
    expected = ((0.5**2) + 0 + 1) / 3
    assert value(losses.get("mse")(y, p)) == pytest.approx(expected)
    assert value(losses.get("mse")(y.reshape(3, 1), t(p.numpy().reshape(3)))) == pytest.approx(
        expected
    )
    np.testing.assert_allclose(losses.mse(y, p).numpy(), [0.25, 0.0, 1.0])


# -- gradients ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "loss",
    [
        losses.MeanSquaredError(),
        losses.MeanAbsoluteError(),
        losses.Huber(delta=0.7),
        losses.BinaryCrossentropy(from_logits=True),
        losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
        losses.CategoricalCrossentropy(from_logits=True),
        losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2),
    ],
    ids=lambda loss: loss.name + str(loss.get_config()),
)
def test_loss_gradients_match_finite_differences(loss):
    pred = RNG.normal(scale=1.5, size=(4, 3))
    if isinstance(loss, losses.CategoricalCrossentropy):
        target = onehot(RNG.integers(0, 3, size=4), 3)
    elif isinstance(loss, losses.BinaryCrossentropy):
        target = RNG.integers(0, 2, size=(4, 3)).astype(np.float64)
    else:
        target = RNG.normal(size=(4, 3))
    weights = RNG.uniform(0.5, 2.0, size=4)
    # Sample weights are constants; targets are differentiable too (soft labels).
    err = check_gradients(
        lambda y, p, w: loss(y, p, sample_weight=w), [target, pred, weights], wrt=[0, 1]
    )
    assert err < 1e-6


@pytest.mark.parametrize("loss_name", ["binary_crossentropy", "categorical_crossentropy"])
def test_probability_path_gradients_match_finite_differences(loss_name):
    target = (
        onehot(RNG.integers(0, 3, size=4), 3)
        if loss_name == "categorical_crossentropy"
        else RNG.integers(0, 2, size=(4, 3)).astype(np.float64)
    )
    probs = RNG.uniform(0.1, 0.9, size=(4, 3))
    loss = losses.get(loss_name)
    err = check_gradients(lambda y, p: loss(y, p), [target, probs], wrt=[1])
    assert err < 1e-6


def test_sparse_crossentropy_gradients_match_finite_differences():
    labels = RNG.integers(0, 5, size=6)
    logits = RNG.normal(size=(6, 5))
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    assert check_gradients(lambda y, z: loss(y, z), [labels, logits]) < 1e-6
    probs = softmax(logits, axis=-1)
    plain = losses.SparseCategoricalCrossentropy()
    assert check_gradients(lambda y, p: plain(y, p), [labels, probs]) < 1e-6


def test_fused_kernels_differentiate_soft_labels_too():
    y = softmax(RNG.normal(size=(3, 4)), axis=-1)
    z = RNG.normal(size=(3, 4))
    assert check_gradients(kernels_loss.softmax_cross_entropy, [y, z]) < 1e-6
    yb = RNG.uniform(size=(3, 4))
    assert check_gradients(kernels_loss.sigmoid_cross_entropy, [yb, z]) < 1e-6


def test_softmax_crossentropy_gradient_is_softmax_minus_onehot_over_n():
    z = RNG.normal(size=(5, 4))
    labels = np.array([0, 3, 1, 1, 2])
    logits = t(z, requires_grad=True)
    (g,) = grad(losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits), [logits])
    np.testing.assert_allclose(g, (softmax(z, axis=-1) - onehot(labels, 4)) / 5, atol=1e-15)


# -- fused and unfused paths agree ---------------------------------------------------------------


def _loss_and_grad(fn, z):
    logits = t(z, requires_grad=True)
    out = fn(logits)
    (g,) = grad(out, [logits])
    return value(out), g


@pytest.mark.parametrize("sparse", [False, True])
def test_softmax_paths_agree(sparse):
    z = RNG.normal(scale=2.0, size=(6, 4))
    labels = RNG.integers(0, 4, size=6)
    target = labels if sparse else onehot(labels, 4)
    cls = losses.SparseCategoricalCrossentropy if sparse else losses.CategoricalCrossentropy
    fused = _loss_and_grad(lambda x: cls(from_logits=True)(target, x), z)
    shortcut = _loss_and_grad(lambda x: cls()(target, activations.softmax(x)), z)
    clipped = _loss_and_grad(lambda x: cls()(target, ops.softmax(x)), z)  # no .logits tag
    for other in (shortcut, clipped):
        assert other[0] == pytest.approx(fused[0], rel=1e-12)
        np.testing.assert_allclose(other[1], fused[1], rtol=1e-9, atol=1e-12)


def test_sigmoid_paths_agree():
    z = RNG.normal(scale=2.0, size=(6, 3))
    y = RNG.integers(0, 2, size=(6, 3)).astype(np.float64)
    fused = _loss_and_grad(lambda x: losses.BinaryCrossentropy(from_logits=True)(y, x), z)
    shortcut = _loss_and_grad(lambda x: losses.BinaryCrossentropy()(y, activations.sigmoid(x)), z)
    clipped = _loss_and_grad(lambda x: losses.BinaryCrossentropy()(y, ops.sigmoid(x)), z)
    for other in (shortcut, clipped):
        assert other[0] == pytest.approx(fused[0], rel=1e-12)
        np.testing.assert_allclose(other[1], fused[1], rtol=1e-9, atol=1e-12)


def test_shortcut_uses_the_fused_kernel_in_float32():
    z = RNG.normal(size=(4, 3)).astype(np.float32)
    labels = np.array([0, 1, 2, 1])
    fused = losses.SparseCategoricalCrossentropy(from_logits=True)(labels, t(z))
    shortcut = losses.SparseCategoricalCrossentropy()(labels, activations.softmax(t(z)))
    assert shortcut.dtype == np.float32
    assert value(shortcut) == value(fused)  # the very same kernel on the very same logits


def test_sigmoid_output_of_shape_n_keeps_its_logits():
    z = np.array([50.0, -50.0, 0.0])
    y = np.array([0.0, 1.0, 1.0])
    got = losses.BinaryCrossentropy()(y, activations.sigmoid(t(z)))
    assert value(got) == pytest.approx((50.0 + 50.0 + np.log(2)) / 3, rel=1e-12)


def test_shortcut_needs_the_matching_activation():
    # A softmax output fed to binary cross-entropy: its logits are not sigmoid logits.
    z = RNG.normal(size=(4, 2))
    y = onehot([0, 1, 1, 0], 2)
    got = losses.BinaryCrossentropy()(y, activations.softmax(t(z)))
    assert value(got) == pytest.approx(ref_bce_probs(y, softmax(z, axis=-1)).mean(), rel=1e-10)
    # A sigmoid output fed to categorical cross-entropy: renormalised probabilities, as Keras.
    p = 1 / (1 + np.exp(-z))
    got = losses.CategoricalCrossentropy()(y, activations.sigmoid(t(z)))
    q = p / p.sum(axis=-1, keepdims=True)
    assert value(got) == pytest.approx(-np.sum(y * np.log(q), axis=-1).mean(), rel=1e-10)


def test_from_logits_on_probabilities_warns():
    with pytest.warns(UserWarning, match="softmax activation"):
        losses.CategoricalCrossentropy(from_logits=True)(
            onehot([0, 1], 2), activations.softmax(t(np.zeros((2, 2))))
        )


# -- numerical stability -----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_logits_are_exact_and_finite(dtype):
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]], dtype)
    labels = np.array([1, 2])
    # loss = logsumexp(z) - z[label]: 2000 and 1 + log(1 + e^-1) (both exact in float32)
    expected = (2000.0 + 1.0 + np.log1p(np.exp(-1.0))) / 2
    for make in (lambda x: x, activations.softmax):
        logits = t(z, requires_grad=True)
        pred = make(logits)
        loss = losses.SparseCategoricalCrossentropy(from_logits=pred is logits)(labels, pred)
        (g,) = grad(loss, [logits])
        assert value(loss) == pytest.approx(expected, rel=1e-6)
        assert np.all(np.isfinite(g))
        np.testing.assert_allclose(g.sum(axis=-1), 0.0, atol=1e-6)
    zb = np.array([[1000.0], [-1000.0], [1000.0]], dtype)
    yb = np.array([[0.0], [1.0], [1.0]], dtype)
    for make in (lambda x: x, activations.sigmoid):
        logits = t(zb, requires_grad=True)
        pred = make(logits)
        loss = losses.BinaryCrossentropy(from_logits=pred is logits)(yb, pred)
        (g,) = grad(loss, [logits])
        assert value(loss) == pytest.approx(2000.0 / 3, rel=1e-6)
        np.testing.assert_allclose(g.ravel(), [1 / 3, -1 / 3, 0.0], atol=1e-7)


def test_saturated_probabilities_are_clipped_not_infinite():
    p = t(np.array([[0.0, 1.0], [1.0, 0.0]]))
    y = np.array([[1.0, 0.0], [1.0, 0.0]])
    bce = value(losses.BinaryCrossentropy()(y, p))
    assert np.isfinite(bce) and bce == pytest.approx(-np.log(1e-7) / 2, rel=1e-6)
    cce = value(losses.CategoricalCrossentropy()(y, p))
    assert cce == pytest.approx(-np.log(1e-7) / 2, rel=1e-6)


# -- errors a user can act on ------------------------------------------------------------------


def test_sparse_label_out_of_range():
    logits = t(np.zeros((3, 10)))
    with pytest.raises(ValueError, match="label 12 is out of range for 10 classes"):
        losses.get("sparse_categorical_crossentropy")(np.array([1, 12, 3]), logits)
    with pytest.raises(ValueError, match="label -1 is out of range"):
        losses.get("sparse_categorical_crossentropy")(np.array([1, -1, 3]), logits)


def test_label_shape_errors_suggest_the_fix():
    logits = t(np.zeros((4, 10)))
    with pytest.raises(ValueError, match="3 columns but the model predicts 10 classes"):
        losses.get("categorical_crossentropy")(np.zeros((4, 3)), logits)
    with pytest.raises(ValueError, match="use sparse_categorical_crossentropy"):
        losses.get("categorical_crossentropy")(np.zeros(4), logits)
    with pytest.raises(ValueError, match="use categorical_crossentropy"):
        losses.get("sparse_categorical_crossentropy")(np.zeros((4, 10)), logits)
    with pytest.raises(ValueError, match="same number of samples"):
        losses.get("sparse_categorical_crossentropy")(np.zeros(5, np.int64), logits)
    with pytest.raises(ValueError, match="1 unit with a sigmoid"):
        losses.get("binary_crossentropy")(np.zeros(4), t(np.zeros((4, 2))))
    with pytest.raises(ValueError, match="do not fit"):
        losses.get("mse")(np.zeros((4, 2)), t(np.zeros((4, 3))))


# -- lookup and configuration ------------------------------------------------------------------


def test_get_accepts_names_dicts_objects_and_callables():
    assert isinstance(losses.get("mse"), losses.MeanSquaredError)
    assert isinstance(losses.get("mean_squared_error"), losses.MeanSquaredError)
    assert isinstance(losses.get("mae"), losses.MeanAbsoluteError)
    assert isinstance(losses.get("huber"), losses.Huber)
    for name, cls in [
        ("binary_crossentropy", losses.BinaryCrossentropy),
        ("categorical_crossentropy", losses.CategoricalCrossentropy),
        ("sparse_categorical_crossentropy", losses.SparseCategoricalCrossentropy),
    ]:
        assert isinstance(losses.get(name), cls)
    huber = losses.get({"name": "huber", "delta": 2.5})
    assert huber.fn_kwargs["delta"] == 2.5
    keras_style = losses.get({"class_name": "CategoricalCrossentropy", "config": {"axis": 1}})
    assert keras_style.fn_kwargs["axis"] == 1
    same = losses.SparseCategoricalCrossentropy()
    assert losses.get(same) is same

    def custom(y_true, y_pred):
        return ops.mean(ops.abs_(y_pred - y_true) ** 3.0, axis=-1)

    wrapped = losses.get(custom)
    y, p = RNG.normal(size=(3, 2)), RNG.normal(size=(3, 2))
    assert value(wrapped(y, t(p))) == pytest.approx(np.mean(np.abs(p - y) ** 3))
    with pytest.raises(ValueError, match="unknown loss 'nope'"):
        losses.get("nope")
    with pytest.raises(ValueError, match="bad options"):
        losses.get({"name": "mse", "delta": 1.0})


def test_config_round_trip():
    for loss in (
        losses.Huber(delta=0.3),
        losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
        losses.CategoricalCrossentropy(label_smoothing=0.05, reduction="sum"),
        losses.SparseCategoricalCrossentropy(from_logits=True),
    ):
        config = loss.get_config()
        again = losses.get(config)
        assert type(again) is type(loss)
        assert again.get_config() == config
        assert type(loss).from_config(config).get_config() == config


def test_loss_kind():
    assert losses.loss_kind("binary_crossentropy") == "binary_crossentropy"
    assert losses.loss_kind(losses.CategoricalCrossentropy(from_logits=True)) == (
        "categorical_crossentropy"
    )
    assert losses.loss_kind({"name": "sparse_categorical_crossentropy"}) == (
        "sparse_categorical_crossentropy"
    )
    assert losses.loss_kind(losses.binary_crossentropy) == "binary_crossentropy"
    assert losses.loss_kind("mse") == "mean_squared_error"
    assert losses.loss_kind(None) is None
    assert losses.loss_kind(lambda y, p: p) is None


# -- any array namespace -----------------------------------------------------------------------


def test_fused_kernels_run_on_a_strict_array_namespace():
    z = RNG.normal(size=(4, 3))
    labels = np.array([2, 0, 1, 1])
    y = onehot(labels, 3)
    yb = RNG.integers(0, 2, size=(4, 3)).astype(np.float64)
    expected = [
        ref_cce_logits(y, z).mean(),
        ref_cce_logits(y, z).mean(),
        ref_bce_logits(yb, z).mean(),
        ref_mse(yb, z).mean(),
    ]
    with backend.use_namespace(array_api_strict, "strict"):
        zs = Tensor(backend.asarray(z), requires_grad=True)
        results = [
            losses.SparseCategoricalCrossentropy(from_logits=True)(backend.asarray(labels), zs),
            losses.CategoricalCrossentropy()(backend.asarray(y), activations.softmax(zs)),
            losses.BinaryCrossentropy()(backend.asarray(yb), activations.sigmoid(zs)),
            losses.MeanSquaredError()(backend.asarray(yb), zs),
        ]
        got = [float(backend.to_numpy(r.data)) for r in results]
        grads = [backend.to_numpy(grad(r, [zs])[0]) for r in results]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    np.testing.assert_allclose(grads[0], (softmax(z, -1) - y) / 4, atol=1e-14)
    np.testing.assert_allclose(grads[0], grads[1], atol=1e-14)
