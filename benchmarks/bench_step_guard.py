"""What the per-step finiteness guard (engine/models/step_guard.py) costs a training step.

On the MLP benchmark's shape (784-512-512-10, batch 128, SGD with momentum, as in
bench_training.py) it times, in alternation so that machine noise hits both alike:

* a training epoch as ``fit`` runs it (with the guard), and the same epoch with the guard's
  ``save`` and ``finite`` replaced by no-ops (what the loop cost before the guard);
* the guard's own work per step: ``save`` (copying weights and optimizer slots) and
  ``finite`` (the fused check), on the model's real arrays.

    python -m benchmarks.bench_step_guard            # 100 steps an epoch, 5 rounds
    python -m benchmarks.bench_step_guard --steps 200 --rounds 7 --optimizer adam
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from benchmarks.bench_training import engine_model, make_data
from engine.models import step_guard


def _epoch(model, x, y) -> float:
    start = time.perf_counter()
    model.fit(x, y, batch_size=128, epochs=1, shuffle=True, verbose=0)
    return time.perf_counter() - start


def _guard_parts(model, repeats: int = 50) -> tuple[float, float]:
    guard = step_guard.StepGuard(model.optimizer)
    weights, trainable = model.weights, model.trainable_weights
    guard.save(weights, trainable)
    start = time.perf_counter()
    for _ in range(repeats):
        guard.save(weights, trainable)
    save_s = (time.perf_counter() - start) / repeats
    start = time.perf_counter()
    for _ in range(repeats):
        assert guard.finite()
    return save_s, (time.perf_counter() - start) / repeats


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="batches of 128 per epoch")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    args = parser.parse_args(argv)

    x, y = make_data("mlp")
    x, y = x[: 128 * args.steps], y[: 128 * args.steps]
    model = engine_model("mlp")
    if args.optimizer == "adam":
        import engine  # noqa: PLC0415

        model.compile(
            optimizer=engine.optimizers.Adam(1e-3),
            loss=engine.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
    _epoch(model, x[:1280], y[:1280])  # warm up: build, allocate the guard's buffers

    real_save, real_finite = step_guard.StepGuard.save, step_guard.StepGuard.finite
    guarded, unguarded = [], []
    for _ in range(args.rounds):
        guarded.append(_epoch(model, x, y))
        step_guard.StepGuard.save = lambda self, variables, trainable: None
        step_guard.StepGuard.finite = lambda self: True
        try:
            unguarded.append(_epoch(model, x, y))
        finally:
            step_guard.StepGuard.save, step_guard.StepGuard.finite = real_save, real_finite
    save_s, finite_s = _guard_parts(model)

    n_weights = sum(int(np.prod(w.shape)) for w in model.get_weights())
    with_guard = statistics.median(guarded) / args.steps * 1e3
    without = statistics.median(unguarded) / args.steps * 1e3
    print(f"MLP 784-512-512-10, batch 128, {args.optimizer}: {n_weights:,} weights")
    print(f"step with the guard    {with_guard:7.3f} ms (median of {args.rounds} epochs)")
    print(f"step without the guard {without:7.3f} ms")
    print(
        f"difference             {with_guard - without:7.3f} ms "
        f"({(with_guard - without) / without:+.1%})"
    )
    print(f"guard.save (copy)      {save_s * 1e3:7.3f} ms")
    print(f"guard.finite (check)   {finite_s * 1e3:7.3f} ms")
    print(f"guard, share of a step {(save_s + finite_s) * 1e3 / without:7.1%}")


if __name__ == "__main__":
    main()
