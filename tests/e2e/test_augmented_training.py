"""Training the digits CNN with on-the-fly augmentation (the seeds' ImageDataGenerator) still
reaches high accuracy: augmentation must keep labels and only perturb training batches."""

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

import engine
from engine.data.augmentation import ImageDataGenerator
from engine.layers import Conv2D, Dense, Flatten, MaxPooling2D

pytestmark = pytest.mark.slow


class _RecordingGenerator(ImageDataGenerator):
    """Counts the batches it transforms, so the test can see where augmentation ran."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.batches_seen = 0
        self.pixels_changed = 0.0

    def random_transform_batch(self, x, rng):
        out = super().random_transform_batch(x, rng)
        self.batches_seen += 1
        self.pixels_changed += float(np.mean(np.abs(out - x) > 1e-6))
        return out


def test_digits_cnn_with_augmentation_reaches_96_percent():
    x, y = engine.datasets.load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, stratify=y, random_state=0
    )
    augment = _RecordingGenerator(
        rotation_range=10, width_shift_range=0.1, height_shift_range=0.1, zoom_range=0.1, seed=0
    )
    engine.set_random_seed(0)
    model = engine.Sequential(
        [
            engine.Input((1, 8, 8)),
            Conv2D(32, 3, padding="same", activation="relu"),
            MaxPooling2D(2),
            Flatten(),
            Dense(64, activation="relu"),
            Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer={"name": "adam", "learning_rate": 0.003},
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    epochs, batch_size = 20, 32
    model.fit(
        x_train,
        y_train,
        epochs=epochs,
        batch_size=batch_size,
        seed=0,
        verbose=0,
        augment=augment,
        validation_data=(x_test, y_test),
    )
    batches_per_epoch = -(-len(x_train) // batch_size)
    # Every training batch was augmented, and no validation batch was.
    assert augment.batches_seen == epochs * batches_per_epoch
    assert augment.pixels_changed / augment.batches_seen > 0.3
    _, accuracy = model.evaluate(x_test, y_test)
    assert accuracy >= 0.96
