"""Peak memory of training on a CIFAR-10-sized uint8 set (50000 x 3 x 32 x 32).

The images stay uint8 in memory; each batch becomes float32 only as it is built, an epoch
is an index permutation, and the train/validation split of a downloaded set is two views
(contiguous blocks), so the data costs its raw size once. This builds random uint8 data of
CIFAR-10's shape, prepares it as a project does (80/20 split), trains a small CNN for a few
steps and prints the peak resident memory against the raw data size.

Run: ``python -m benchmarks.bench_dataset_memory`` (``--steps 20 --samples 50000``).
"""

from __future__ import annotations

import argparse
import resource
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _current_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=50_000)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)

    import engine  # noqa: PLC0415
    from engine import layers  # noqa: PLC0415
    from engine.data import Dataset, prepare  # noqa: PLC0415

    baseline = _current_mb()
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (args.samples, 3, 32, 32), dtype=np.uint8)
    y = rng.integers(0, 10, args.samples)
    raw_mb = x.nbytes / 2**20
    # As the project loader gives a downloaded image set: ordered, so the splits are views.
    data = prepare(Dataset(x=x, y=y, task="classification", name="cifar-shaped", ordered=True))
    del x
    model = engine.Sequential(
        [
            engine.Input((3, 32, 32)),
            layers.BatchNormalization(),
            layers.Conv2D(16, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.GlobalAveragePooling2D(),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(
        data.train.x,
        data.train.y,
        batch_size=args.batch_size,
        epochs=2,
        steps_per_epoch=args.steps,
        verbose=0,
    )
    peak = _peak_mb()
    print(f"raw uint8 images:          {raw_mb:8.1f} MiB ({args.samples} x 3 x 32 x 32)")
    print(f"process before the data:   {baseline:8.1f} MiB (Python, numpy, the engine)")
    print(f"peak resident while training: {peak:8.1f} MiB")
    print(
        f"peak above the baseline:   {peak - baseline:8.1f} MiB = "
        f"{(peak - baseline) / raw_mb:.2f} x the raw data"
    )


if __name__ == "__main__":
    main()
