"""End to end on real data: the engine trains models that reach known accuracies on digits.

sklearn's 8x8 handwritten digits (1,797 images), split 80/20 stratified with
``train_test_split(stratify=y, random_state=0)``, seed 0 everywhere. Thresholds come from the
task; the sizes and epochs were chosen to keep each test well under 30 s on 2 cores.
Measured on the CPU (accuracy on the 360 test images): MLP 0.972, CNN 0.978, LSTM 0.958,
two-branch Functional model 0.92 after 5 epochs. The bounds sit a point or more below
(0.95, 0.96, ...): another BLAS kernel sums in another order and after hundreds of steps
lands a few test images away (the CNN: 352/360 under the SkylakeX, Haswell and Prescott
kernels alike, but nothing guarantees it).
"""

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

import engine
from engine import Input, Model, Sequential
from engine.layers import Dense, Flatten

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def digits():
    x, y = engine.datasets.load_digits()
    assert x.shape == (1797, 1, 8, 8) and x.dtype == np.float32
    return train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)


def _train(build, digits, epochs, learning_rate, batch_size=32):
    x_train, x_test, y_train, y_test = digits
    engine.set_random_seed(0)
    model = build()
    model.compile(
        optimizer={"name": "adam", "learning_rate": learning_rate},
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, seed=0, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test)
    # The reported accuracy is the fraction of argmax hits, computed independently here.
    predicted = model.predict(x_test).argmax(axis=1)
    assert accuracy == pytest.approx(np.mean(predicted == y_test))
    return model, history, accuracy


def test_mlp_reaches_96_percent(digits):
    def build():
        return Sequential(
            [
                Input((1, 8, 8)),
                Flatten(),
                Dense(128, activation="relu"),
                Dense(10, activation="softmax"),
            ]
        )

    _, history, accuracy = _train(build, digits, epochs=20, learning_rate=0.002, batch_size=16)
    assert len(history.epoch) == 20
    assert accuracy >= 0.95


def test_cnn_reaches_97_percent(digits):
    def build():
        return Sequential(
            [
                Input((1, 8, 8)),
                engine.layers.Conv2D(32, 3, padding="same", activation="relu"),
                engine.layers.MaxPooling2D(2),
                Flatten(),
                Dense(64, activation="relu"),
                Dense(10, activation="softmax"),
            ]
        )

    _, _, accuracy = _train(build, digits, epochs=20, learning_rate=0.003)
    assert accuracy >= 0.96


def test_lstm_over_image_rows_reaches_93_percent(digits):
    def build():
        return Sequential(
            [
                Input((1, 8, 8)),
                engine.layers.Reshape((8, 8)),  # 8 rows of 8 pixels: a sequence
                engine.layers.LSTM(32),
                Dense(10, activation="softmax"),
            ]
        )

    _, _, accuracy = _train(build, digits, epochs=15, learning_rate=0.005)
    assert accuracy >= 0.93


def test_functional_two_branches_with_concatenate_trains(digits):
    def build():
        pixels = Input((1, 8, 8), name="pixels")
        flat = Flatten(name="flat")(pixels)
        relu = Dense(32, activation="relu", name="relu_branch")(flat)
        tanh = Dense(32, activation="tanh", name="tanh_branch")(flat)
        merged = engine.layers.Concatenate(name="merged")([relu, tanh])
        return Model(pixels, Dense(10, activation="softmax", name="digit")(merged))

    _, history, accuracy = _train(build, digits, epochs=5, learning_rate=0.001)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert accuracy >= 0.8  # chance is 0.1


def test_seeded_runs_are_identical(digits):
    def build():
        return Sequential(
            [
                Input((1, 8, 8)),
                Flatten(),
                Dense(32, activation="relu"),
                engine.layers.Dropout(0.2),
                Dense(10, activation="softmax"),
            ]
        )

    first, _, _ = _train(build, digits, epochs=2, learning_rate=0.002)
    second, _, _ = _train(build, digits, epochs=2, learning_rate=0.002)
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)
