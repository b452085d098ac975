"""With the same initial weights and the same first batch, one training step of the package
(its loss, its Keras-formula optimizer) gives the engine's loss (<= 1e-5) and the engine's
updated weights (<= 1e-4), for the shipped examples and for each optimizer and loss."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import engine  # noqa: E402
from engine import layers as L  # noqa: E402
from engine.export_pytorch.model_code import engine_weights  # noqa: E402
from tests.engine.export_pytorch.torch_package import import_file, torch_module  # noqa: E402

ROOT = Path(__file__).parents[3]
KERAS_PARTS = ROOT / "resources" / "pytorch_package" / "keras_parts.py"


def _step_both(model, tmp_path, x, y, loss, optimizer, schedule=None):
    """``(engine loss, torch loss, engine weights, torch weights)`` after one step."""
    module, net, mc = torch_module(model, tmp_path)
    parts = import_file(KERAS_PARTS)
    output = module.OUTPUTS[0]
    loss_fn = parts.make_loss(loss, module.OUTPUT_ACTIVATIONS.get(output))
    opt = parts.make_optimizer(net.parameters(), optimizer, schedule)
    net.train()
    out = net(torch.from_numpy(x), logits=True)
    torch_loss = loss_fn(out, torch.from_numpy(y))
    torch_loss.backward()
    opt.step()

    model.compile(optimizer=dict(optimizer), loss=loss)
    engine_loss = model.train_on_batch(x, y)
    state = {k: v.detach().numpy() for k, v in net.state_dict().items()}
    return float(engine_loss), torch_loss.item(), engine_weights(model, mc, state)


def _check(model, tmp_path, x, y, loss, optimizer, schedule=None):
    engine_loss, torch_loss, torch_weights = _step_both(
        model, tmp_path, x, y, loss, optimizer, schedule
    )
    assert abs(engine_loss - torch_loss) <= 1e-5
    checked = 0
    for layer in model.layers:
        for ours, theirs in zip(layer.get_weights(), torch_weights.get(layer.name, [])):
            assert np.abs(np.asarray(ours) - theirs).max() <= 1e-4, layer.name
            checked += 1
    assert checked >= 2


@pytest.mark.parametrize("name", ["digits_cnn", "digits_lstm", "two_branch_functional"])
def test_first_step_of_a_shipped_example(name, tmp_path):
    from engine.data import prepare_dataset
    from engine.graph.convert import model_from_document
    from engine.graph.project import load_project

    project = load_project(ROOT / "resources" / "examples" / f"{name}.lcproj")
    engine.set_random_seed(0)
    model = model_from_document(project.graph)
    data = prepare_dataset(project.dataset, project.base_dir)
    batch = project.training["batch_size"]
    x, y = data.train.x[:batch], data.train.y[:batch]
    _check(model, tmp_path, x, y, project.training["loss"], project.training["optimizer"])


def _small(build, shape=(6,)):
    engine.set_random_seed(3)
    x = engine.Input(shape=shape)
    return engine.Model(x, build(x), name="small")


OPTIMIZERS = {
    "sgd": {"name": "sgd", "learning_rate": 0.1},
    "sgd_nesterov": {"name": "sgd", "learning_rate": 0.05, "momentum": 0.9, "nesterov": True},
    "adam_amsgrad_clipnorm": {
        "name": "adam",
        "learning_rate": 0.01,
        "amsgrad": True,
        "clipnorm": 0.5,
    },  # fmt: skip
    "adamw": {"name": "adamw", "learning_rate": 0.01, "weight_decay": 0.1},
    "rmsprop": {"name": "rmsprop", "learning_rate": 0.01, "rho": 0.8},
    "rmsprop_centered_momentum": {
        "name": "rmsprop",
        "learning_rate": 0.01,
        "centered": True,
        "momentum": 0.5,
        "global_clipnorm": 1.0,
    },  # fmt: skip
}


@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
def test_each_optimizer_steps_as_the_engine(opt, tmp_path):
    model = _small(lambda x: L.Dense(3, activation="softmax")(
        L.BatchNormalization()(L.Dense(5, activation="tanh")(x))))  # fmt: skip
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 6)).astype(np.float32)
    y = rng.integers(0, 3, size=16)
    _check(model, tmp_path, x, y, "sparse_categorical_crossentropy", OPTIMIZERS[opt])


LOSSES = {
    "mse": ("linear", 2, "mse"),
    "mae_tanh": ("tanh", 2, "mean_absolute_error"),
    "binary_sigmoid": ("sigmoid", 1, "binary_crossentropy"),
    "binary_from_logits": ("linear", 1, {"name": "binary_crossentropy", "from_logits": True}),
    "categorical_smoothed": (
        "softmax",
        3,
        {"name": "categorical_crossentropy", "label_smoothing": 0.1},
    ),  # fmt: skip
    "sparse_from_logits": (
        "linear",
        3,
        {"name": "sparse_categorical_crossentropy", "from_logits": True},
    ),  # fmt: skip
    # Sigmoid outputs are not softmax's: the clipped, renormalised probability path.
    "sparse_probabilities": ("sigmoid", 3, "sparse_categorical_crossentropy"),
    "categorical_probabilities": ("sigmoid", 3, "categorical_crossentropy"),
}


@pytest.mark.parametrize("case", sorted(LOSSES))
def test_each_loss_matches_the_engine(case, tmp_path):
    activation, units, loss = LOSSES[case]
    model = _small(lambda x: L.Dense(units, activation=activation)(L.Dense(4)(x)))
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 6)).astype(np.float32)
    name = loss if isinstance(loss, str) else loss["name"]
    if name == "sparse_categorical_crossentropy":
        y = rng.integers(0, units, size=8)
    elif name == "categorical_crossentropy":
        y = np.eye(units, dtype=np.float32)[rng.integers(0, units, size=8)]
    elif name == "binary_crossentropy":
        y = rng.integers(0, 2, size=(8, 1)).astype(np.float32)
    else:
        y = rng.standard_normal((8, units)).astype(np.float32)
    _check(model, tmp_path, x, y, loss, {"name": "sgd", "learning_rate": 0.1})


def test_a_scheduled_learning_rate_is_the_engines_table(tmp_path):
    from engine import schedules

    config = {"name": "exponential_decay", "initial_learning_rate": 0.1, "decay_steps": 1,
              "decay_rate": 0.5}  # fmt: skip
    schedule = schedules.get(dict(config))
    table = [float(schedule(step)) for step in range(3)]
    model = _small(lambda x: L.Dense(2)(x))
    rng = np.random.default_rng(2)
    x = rng.standard_normal((8, 6)).astype(np.float32)
    y = rng.standard_normal((8, 2)).astype(np.float32)
    module, net, mc = torch_module(model, tmp_path)
    parts = import_file(KERAS_PARTS)
    opt = parts.make_optimizer(net.parameters(), {"name": "sgd"}, table)
    loss_fn = parts.make_loss("mse", None)
    model.compile(optimizer={"name": "sgd", "learning_rate": config}, loss="mse")
    for _ in range(3):
        opt.zero_grad()
        loss_fn(net(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        opt.step()
        model.train_on_batch(x, y)
    state = {k: v.detach().numpy() for k, v in net.state_dict().items()}
    theirs = engine_weights(model, mc, state)[model.layers[-1].name]
    for ours, got in zip(model.layers[-1].get_weights(), theirs):
        assert np.abs(ours - got).max() <= 1e-5


def test_wrappers_and_attention_step_as_the_engine(tmp_path):
    # Bidirectional (one trained bias per direction), attention and TimeDistributed.
    def build(x):
        seq = L.Bidirectional(layer="LSTM", units=3, return_sequences=True)(x)
        seq = L.MultiHeadAttention(num_heads=2, key_dim=2)([seq, seq])
        seq = L.TimeDistributed(layer="Dense", units=2, activation="tanh")(seq)
        return L.Dense(3, activation="softmax")(L.Flatten()(seq))

    model = _small(build, shape=(5, 4))
    rng = np.random.default_rng(4)
    x = rng.standard_normal((8, 5, 4)).astype(np.float32)
    y = rng.integers(0, 3, size=8)
    _check(model, tmp_path, x, y, "sparse_categorical_crossentropy",
           {"name": "adam", "learning_rate": 0.01})  # fmt: skip
