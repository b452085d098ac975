"""Does on-the-fly augmentation keep up with training? Digits CNN epochs with and without it.

The loader prepares (and augments) the next batch in a background thread while the current
one trains, so the augmented epoch should cost little more than the plain one. Target: at
most 1.3x. Epochs alternate (plain, augmented, plain, ...) so machine noise hits both alike.

    python -m benchmarks.bench_augmentation [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import time

import engine
from engine.data.augmentation import ImageDataGenerator
from engine.layers import Conv2D, Dense, Flatten, MaxPooling2D


def build():
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
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def epoch_seconds(model, x, y, augment) -> float:
    start = time.perf_counter()
    model.fit(x, y, epochs=1, batch_size=32, verbose=0, augment=augment)
    return time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    x, y = engine.datasets.load_digits()
    augment = ImageDataGenerator(
        rotation_range=10, width_shift_range=0.1, height_shift_range=0.1, zoom_range=0.1, seed=0
    )
    plain_model, augmented_model = build(), build()
    epoch_seconds(plain_model, x, y, None)  # warm-up
    epoch_seconds(augmented_model, x, y, augment)
    plain, augmented = [], []
    for _ in range(args.repeats):
        plain.append(epoch_seconds(plain_model, x, y, None))
        augmented.append(epoch_seconds(augmented_model, x, y, augment))
    p, a = statistics.median(plain), statistics.median(augmented)
    print(
        f"digits CNN epoch ({len(x)} images, batch 32): plain {p * 1000:.0f} ms, "
        f"augmented {a * 1000:.0f} ms (median of {args.repeats}); ratio {a / p:.2f} "
        f"(target <= 1.3)"
    )


if __name__ == "__main__":
    main()
