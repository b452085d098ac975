"""The newer losses as a toolbox: float64 finite-difference gradients, the same numbers on a
strict array-API namespace, lookup by every name Keras uses, configs that round-trip, clear
errors for bad arguments, the accuracy a loss implies, and use through ``model.compile``,
model files and project files."""

import copy

import array_api_strict
import numpy as np
import pytest
from scipy.special import softmax

import engine
from engine import activations, backend, losses, metrics
from engine.autodiff.gradcheck import check_gradients
from engine.autodiff.tensor import Tensor, grad
from engine.graph.project import Project, load_project, save_project
from engine.graph.project_json import ProjectError
from engine.graph.session import prepare_training
from engine.layers import Dense, Input
from engine.models import validation

RNG = np.random.default_rng(7)


def inputs(kind: str, n: int = 4, c: int = 3):
    """Float64 targets and predictions away from kinks, clip bounds and ties."""
    rng = np.random.default_rng(len(kind))
    z = rng.normal(scale=1.5, size=(n, c))
    if kind == "regression":
        return rng.normal(size=(n, c)), z
    if kind == "binary":
        return rng.integers(0, 2, size=(n, c)).astype(np.float64), 1 / (1 + np.exp(-z))
    if kind == "binary_logits":
        return rng.integers(0, 2, size=(n, c)).astype(np.float64), z
    onehot = np.eye(c)[rng.integers(0, c, size=n)]
    if kind == "categorical":
        return onehot, softmax(z, axis=-1)
    if kind == "categorical_logits":
        return onehot, z
    if kind == "distribution":
        return softmax(rng.normal(size=(n, c)), axis=-1), softmax(z, axis=-1)
    if kind == "counts":
        return rng.poisson(2.0, size=(n, c)).astype(np.float64), np.exp(z)
    if kind == "signed":
        y = np.where(rng.random((n, c)) < 0.5, -1.0, 1.0)
        return y, np.where(np.abs(1 - y * z) < 0.05, z + 0.2, z)  # off the hinge's kink
    if kind == "scores":
        return onehot, z
    raise AssertionError(kind)


NEW_LOSSES = [
    (losses.LogCosh(), "regression"),
    (losses.CosineSimilarity(), "regression"),
    (losses.KLDivergence(), "distribution"),
    (losses.Poisson(), "counts"),
    (losses.Hinge(), "signed"),
    (losses.SquaredHinge(), "signed"),
    (losses.CategoricalHinge(), "scores"),
    (losses.BinaryFocalCrossentropy(), "binary"),
    (losses.BinaryFocalCrossentropy(apply_class_balancing=True, label_smoothing=0.1), "binary"),
    (losses.BinaryFocalCrossentropy(from_logits=True, gamma=1.5), "binary_logits"),
    (losses.CategoricalFocalCrossentropy(), "categorical"),
    (
        losses.CategoricalFocalCrossentropy(alpha=[0.5, 0.2, 0.3], label_smoothing=0.1),
        "categorical",
    ),
    (losses.CategoricalFocalCrossentropy(from_logits=True, gamma=0.0), "categorical_logits"),
]


def loss_id(loss):
    return loss.name + "".join(f"-{k}={v}" for k, v in loss.fn_kwargs.items())


@pytest.mark.parametrize(
    ("loss", "kind"), NEW_LOSSES, ids=lambda x: x if isinstance(x, str) else loss_id(x)
)
def test_gradients_match_finite_differences(loss, kind):
    y, p = inputs(kind)
    w = RNG.uniform(0.5, 2.0, size=len(p))
    # Targets are differentiable too (soft labels), except where a label test branches.
    wrt = [1] if kind == "scores" else [0, 1]
    err = check_gradients(lambda t, q, s: loss(t, q, sample_weight=s), [y, p, w], wrt=wrt)
    assert err < 1e-6


@pytest.mark.parametrize(
    ("loss", "kind"), NEW_LOSSES, ids=lambda x: x if isinstance(x, str) else loss_id(x)
)
def test_same_values_and_gradients_on_a_strict_array_namespace(loss, kind):
    y, p = inputs(kind)
    pred = Tensor(p, requires_grad=True)
    value = loss(y, pred)
    (expected_grad,) = grad(value, [pred])
    with backend.use_namespace(array_api_strict, "strict"):
        strict_pred = Tensor(backend.asarray(p), requires_grad=True)
        strict_value = loss(backend.asarray(y), strict_pred)
        got = float(backend.to_numpy(strict_value.data))
        got_grad = backend.to_numpy(grad(strict_value, [strict_pred])[0])
    assert got == pytest.approx(float(value.numpy()), rel=1e-12)
    np.testing.assert_allclose(got_grad, expected_grad, rtol=1e-12, atol=1e-15)


def test_functions_give_the_per_sample_losses_of_the_classes():
    y, p = inputs("binary")
    for fn, cls in [
        (losses.log_cosh, losses.LogCosh),
        (losses.cosine_similarity, losses.CosineSimilarity),
        (losses.kl_divergence, losses.KLDivergence),
        (losses.kld, losses.KLDivergence),
        (losses.poisson, losses.Poisson),
        (losses.hinge, losses.Hinge),
        (losses.squared_hinge, losses.SquaredHinge),
        (losses.categorical_hinge, losses.CategoricalHinge),
        (losses.binary_focal_crossentropy, losses.BinaryFocalCrossentropy),
        (losses.categorical_focal_crossentropy, losses.CategoricalFocalCrossentropy),
    ]:
        expected = cls(reduction="none")(y, Tensor(p)).numpy()
        np.testing.assert_array_equal(fn(y, Tensor(p)).numpy(), expected)
        assert expected.shape == (len(p),)


# -- names, configs and errors ---------------------------------------------------------------


def test_available_lists_every_loss_by_its_identifier():
    table = losses.available()
    assert table == {
        "mean_squared_error": losses.MeanSquaredError,
        "mean_absolute_error": losses.MeanAbsoluteError,
        "huber": losses.Huber,
        "log_cosh": losses.LogCosh,
        "cosine_similarity": losses.CosineSimilarity,
        "binary_crossentropy": losses.BinaryCrossentropy,
        "categorical_crossentropy": losses.CategoricalCrossentropy,
        "sparse_categorical_crossentropy": losses.SparseCategoricalCrossentropy,
        "binary_focal_crossentropy": losses.BinaryFocalCrossentropy,
        "categorical_focal_crossentropy": losses.CategoricalFocalCrossentropy,
        "kl_divergence": losses.KLDivergence,
        "poisson": losses.Poisson,
        "hinge": losses.Hinge,
        "squared_hinge": losses.SquaredHinge,
        "categorical_hinge": losses.CategoricalHinge,
    }
    table["hinge"] = None  # a copy: the registry is not changed
    assert losses.available()["hinge"] is losses.Hinge
    for identifier, cls in losses.available().items():
        assert type(losses.get(identifier)) is cls
        assert type(losses.get(cls.__name__)) is cls  # Keras's class names
        assert type(losses.get({"class_name": cls.__name__, "config": {}})) is cls


@pytest.mark.parametrize(
    ("identifier", "cls"),
    [
        ("kld", losses.KLDivergence),
        ("kullback_leibler_divergence", losses.KLDivergence),
        ("logcosh", losses.LogCosh),
        ("KLDivergence", losses.KLDivergence),
        ({"name": "binary_focal_crossentropy", "gamma": 3.0}, losses.BinaryFocalCrossentropy),
        ({"name": "categorical_focal_crossentropy", "alpha": [0.1, 0.9]}, None),
        ({"name": "cosine_similarity", "axis": 1}, losses.CosineSimilarity),
    ],
)
def test_get_accepts_aliases_and_dicts_with_arguments(identifier, cls):
    loss = losses.get(identifier)
    if cls is not None:
        assert type(loss) is cls
    if isinstance(identifier, dict):
        for key, value in identifier.items():
            if key != "name":
                assert loss.get_config()[key] == value


@pytest.mark.parametrize(
    "loss",
    [
        losses.LogCosh(reduction="sum"),
        losses.CosineSimilarity(axis=1, name="cos"),
        losses.KLDivergence(),
        losses.Poisson(reduction="mean_with_sample_weight"),
        losses.Hinge(),
        losses.SquaredHinge(),
        losses.CategoricalHinge(),
        losses.BinaryFocalCrossentropy(True, 0.4, 1.5, True, 0.1),
        losses.CategoricalFocalCrossentropy(alpha=[0.2, 0.8], gamma=3.0, label_smoothing=0.05),
        losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1, axis=-1),
    ],
    ids=loss_id,
)
def test_configs_round_trip(loss):
    config = loss.get_config()
    for again in (
        type(loss).from_config(config),
        losses.get({"class_name": type(loss).__name__, "config": config}),
    ):
        assert type(again) is type(loss)
        assert again.get_config() == config


@pytest.mark.parametrize(
    ("make", "text"),
    [
        (lambda: losses.BinaryFocalCrossentropy(gamma=-1.0), "gamma must be a number >= 0"),
        (lambda: losses.CategoricalFocalCrossentropy(gamma="2"), "gamma must be a number"),
        (lambda: losses.BinaryFocalCrossentropy(alpha=[0.1, 0.9]), "alpha must be a number"),
        (lambda: losses.CategoricalFocalCrossentropy(alpha="x"), "alpha must be a number or a"),
        (lambda: losses.BinaryCrossentropy(label_smoothing=1.5), "label_smoothing must be"),
        (lambda: losses.CategoricalFocalCrossentropy(label_smoothing=-0.1), "label_smoothing"),
        (lambda: losses.CosineSimilarity(axis=True), "axis must be an integer"),
        (lambda: losses.Hinge(reduction="average"), "unknown reduction 'average'"),
        (lambda: losses.get("focal"), "unknown loss 'focal'"),
        (lambda: losses.get({"name": "hinge", "delta": 1.0}), "bad options for loss Hinge"),
    ],
)
def test_bad_arguments_are_clear_value_errors(make, text):
    with pytest.raises(ValueError, match=text):
        make()


def test_per_class_alpha_must_match_the_classes():
    y, p = inputs("categorical")
    with pytest.raises(ValueError, match="alpha has 2 class weights but the model predicts 3"):
        losses.CategoricalFocalCrossentropy(alpha=[0.5, 0.5])(y, Tensor(p))


def test_focal_from_logits_on_a_sigmoid_output_warns():
    with pytest.warns(UserWarning, match="sigmoid activation"):
        losses.BinaryFocalCrossentropy(from_logits=True)(
            np.zeros((2, 1)), activations.sigmoid(Tensor(np.zeros((2, 1))))
        )


def test_reduction_none_is_kerass_none():
    y, p = inputs("regression")
    loss = losses.LogCosh(reduction=None)
    assert loss.reduction == "none"
    assert loss(y, Tensor(p)).shape == (len(p),)


# -- what the loss implies for metrics and targets ---------------------------------------------


def test_loss_kind_gives_focal_losses_their_cross_entropy_family():
    assert losses.loss_kind("binary_focal_crossentropy") == "binary_crossentropy"
    assert losses.loss_kind(losses.CategoricalFocalCrossentropy()) == "categorical_crossentropy"
    for name in ("hinge", "squared_hinge", "categorical_hinge", "poisson", "log_cosh"):
        assert losses.loss_kind(name) == name
    assert losses.loss_kind("kld") == "kl_divergence"
    assert losses.loss_kind({"name": "cosine_similarity", "axis": 1}) == "cosine_similarity"
    accuracy = metrics.get("accuracy", loss=losses.BinaryFocalCrossentropy())
    assert isinstance(accuracy, metrics.BinaryAccuracy)
    accuracy = metrics.get("accuracy", loss="categorical_focal_crossentropy")
    assert isinstance(accuracy, metrics.CategoricalAccuracy)
    assert type(metrics.get("accuracy", loss="hinge")).__name__ == "AutoAccuracy"
    assert validation.loss_kind(losses.BinaryFocalCrossentropy()) == "binary"
    assert validation.loss_kind("categorical_focal_crossentropy") == "categorical"
    assert validation.loss_kind("hinge") == "other"


# -- model.compile, model files and project files ----------------------------------------------


def test_compile_with_a_loss_dict_trains_and_survives_save_and_load(tmp_path):
    x = RNG.normal(size=(32, 4)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)
    model = engine.Sequential([Input((4,)), Dense(1, activation="sigmoid")])
    model.compile(
        optimizer="sgd",
        loss={"name": "binary_focal_crossentropy", "gamma": 3.0, "apply_class_balancing": True},
        metrics=["accuracy"],
    )
    before = model.evaluate(x, y)
    model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    after = model.evaluate(x, y)
    assert after[0] < before[0]
    model.save(tmp_path / "focal.lcmodel")
    loaded = engine.load_model(tmp_path / "focal.lcmodel")
    loss = loaded._compiled_spec().losses[0]
    assert isinstance(loss, losses.BinaryFocalCrossentropy)
    assert loss.get_config() == model._compiled_spec().losses[0].get_config()
    assert loaded.evaluate(x, y) == pytest.approx(after, rel=1e-6)


PROJECT = {
    "format": "layercanvas-project",
    "version": 1,
    "name": "Focal",
    "graph": {
        "nodes": [
            {"id": "input", "type": "Input", "params": {"shape": [30]}, "position": [0, 0]},
            {
                "id": "out",
                "type": "Dense",
                "params": {"units": 1, "activation": "sigmoid"},
                "position": [200, 0],
            },
        ],
        "edges": [{"source": "input", "target": "out", "target_port": 0}],
    },
    "dataset": {"name": "breast_cancer", "validation_split": 0.2, "seed": 0},
    "training": {
        "loss": {"name": "binary_focal_crossentropy", "gamma": 3.0, "label_smoothing": 0.1},
        "optimizer": {"name": "adam", "learning_rate": 0.01},
        "metrics": ["accuracy"],
        "batch_size": 64,
        "epochs": 1,
        "seed": 0,
    },
}


def test_project_loss_with_arguments_checks_trains_and_round_trips(tmp_path):
    path = tmp_path / "focal.lcproj"
    save_project(Project.from_json(copy.deepcopy(PROJECT)), path)
    project = load_project(path)
    assert project.training["loss"] == PROJECT["training"]["loss"]
    assert project.check().ok
    setup = prepare_training(project)
    loss = setup.model._compiled_spec().losses[0]
    assert isinstance(loss, losses.BinaryFocalCrossentropy)
    assert (loss.fn_kwargs["gamma"], loss.fn_kwargs["label_smoothing"]) == (3.0, 0.1)
    history = setup.model.fit(**setup.fit_arguments())
    assert np.isfinite(history.history["loss"][0])
    assert 0 <= history.history["accuracy"][0] <= 1


def test_project_loss_per_output_may_carry_arguments():
    data = copy.deepcopy(PROJECT)
    data["training"]["loss"] = {"out": {"name": "binary_focal_crossentropy", "alpha": 0.5}}
    assert Project.from_json(data).check().ok


@pytest.mark.parametrize(
    ("loss", "text"),
    [
        ({"name": "binary_focal_crossentropy", "gamma": -1}, "gamma must be a number >= 0"),
        ({"name": "focal"}, "unknown loss 'focal'"),
        ({"out": {"name": "hinge", "delta": 2}}, "bad options for loss Hinge"),
    ],
)
def test_bad_project_losses_are_diagnostics_on_the_loss(loss, text):
    data = copy.deepcopy(PROJECT)
    data["training"]["loss"] = loss
    errors = Project.from_json(data).check().errors
    assert len(errors) == 1 and errors[0].key.startswith("training.loss")
    assert text in errors[0].message


def test_a_loss_of_the_wrong_shape_does_not_open():
    data = copy.deepcopy(PROJECT)
    data["training"]["loss"] = {"out": 3}
    with pytest.raises(ProjectError, match="expected a loss name"):
        Project.from_json(data)
