"""A frozen backbone costs no gradient work: its forward pass records nothing on the tape
(no VJP closures, no parents kept), so the reverse pass stops at the first trainable layer;
the head's gradients equal PyTorch's with a ``requires_grad=False`` backbone."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine import layers
from engine.autodiff.tensor import Tensor, _topological_order, enable_grad, grad
from engine.losses import SparseCategoricalCrossentropy

torch = pytest.importorskip("torch")

BACKBONE = ("c1", "bn", "c2", "flat")


def _model():
    engine.random.set_random_seed(3)
    inputs = engine.Input(shape=(3, 10, 10))
    h = layers.Conv2D(6, 3, padding="same", activation="relu", name="c1")(inputs)
    h = layers.BatchNormalization(name="bn")(h)
    h = layers.Conv2D(5, 3, activation="relu", name="c2")(h)
    h = layers.Flatten(name="flat")(h)
    _model.features = engine.Model(inputs, h)  # the backbone alone (shares its layers)
    outputs = layers.Dense(4, activation="softmax", name="head")(h)
    model = engine.Model(inputs, outputs)
    rng = np.random.default_rng(0)
    bn = model.get_layer("bn")
    bn.set_weights([rng.uniform(0.5, 1.5, 6), rng.normal(size=6), rng.normal(size=6),
                    rng.uniform(0.5, 2.0, 6)])  # fmt: skip
    for name in BACKBONE:
        model.get_layer(name).trainable = False
    return model


def _data():
    rng = np.random.default_rng(1)
    return rng.normal(size=(7, 3, 10, 10)).astype(np.float32), rng.integers(0, 4, 7)


def _tape(model, x, y):
    with enable_grad():
        (pred,) = model.plan().run([Tensor(x)], training=True)
        loss = SparseCategoricalCrossentropy()(y, pred)
    return loss, _topological_order(loss)


def test_the_frozen_backbone_records_nothing_on_the_tape():
    model = _model()
    x, y = _data()
    loss, tape = _tape(model, x, y)
    # The same head alone, fed the backbone's features as data: an identical tape.
    features = _model.features.predict(x, verbose=0)
    head_in = engine.Input(shape=features.shape[1:])
    head = layers.Dense(4, activation="softmax")
    head_model = engine.Model(head_in, head(head_in))
    head.set_weights(model.get_layer("head").get_weights())
    head_loss, head_tape = _tape(head_model, features, y)
    np.testing.assert_allclose(loss.numpy(), head_loss.numpy(), rtol=1e-5)
    assert len(tape) == len(head_tape)
    recorded = [t for t in tape if t._vjp is not None]
    assert len(recorded) == len([t for t in head_tape if t._vjp is not None])
    # Only the head's kernel and bias are leaves that receive gradients.
    leaves = {id(t) for t in tape if t._vjp is None}
    assert {id(w) for w in model.trainable_weights} <= leaves
    for name in BACKBONE:
        for weight in model.get_layer(name).weights:
            assert id(weight) not in leaves


def test_the_head_gradients_equal_pytorch_with_a_requires_grad_false_backbone():
    model = _model()
    x, y = _data()
    loss, _ = _tape(model, x, y)
    kernel, bias = model.get_layer("head").trainable_weights
    g_kernel, g_bias = grad(loss, [kernel, bias])

    w1, b1 = (torch.tensor(a) for a in model.get_layer("c1").get_weights())
    gamma, beta, mean, var = (torch.tensor(a) for a in model.get_layer("bn").get_weights())
    w2, b2 = (torch.tensor(a) for a in model.get_layer("c2").get_weights())
    k = torch.tensor(kernel.numpy(), requires_grad=True)
    b = torch.tensor(bias.numpy(), requires_grad=True)
    with torch.no_grad():  # the frozen backbone, as a PyTorch user writes it
        h = torch.relu(torch.nn.functional.conv2d(torch.tensor(x), w1, b1, padding=1))
        # A frozen BatchNormalization runs in inference mode (as in Keras).
        h = torch.nn.functional.batch_norm(h, mean, var, gamma, beta, False, 0.0, 1e-3)
        h = torch.relu(torch.nn.functional.conv2d(h, w2, b2)).flatten(1)
    logits = h @ k + b
    want = torch.nn.functional.cross_entropy(logits, torch.tensor(y))
    want.backward()
    np.testing.assert_allclose(loss.numpy(), want.item(), rtol=1e-5)
    np.testing.assert_allclose(g_kernel, k.grad.numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(g_bias, b.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_training_a_frozen_backbone_leaves_it_exactly_as_it_was():
    model = _model()
    x, y = _data()
    before = {name: model.get_layer(name).get_weights() for name in BACKBONE}
    head_before = model.get_layer("head").get_weights()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, batch_size=4, verbose=0, seed=0)
    for name, weights in before.items():
        for old, new in zip(weights, model.get_layer(name).get_weights(), strict=True):
            np.testing.assert_array_equal(old, new)  # moving statistics included
    assert not np.allclose(head_before[0], model.get_layer("head").get_weights()[0])
