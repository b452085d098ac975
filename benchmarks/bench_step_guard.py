"""What the per-step finiteness guard (engine/models/step_guard.py) costs a training step.

On the MLP benchmark's shape (784-512-512-10, batch 128, SGD with momentum, as in
bench_training.py) it times, in alternation so that machine noise hits both alike:

* a training epoch as ``fit`` runs it (with the guard), and the same epoch with the guard's
  work replaced by no-ops (what the loop cost before the guard);
* the guard's own work per step on the model's real arrays: its fused checks, and the copy
  of weights and optimizer slots it makes when an update could overflow.

    python -m benchmarks.bench_step_guard            # 100 steps an epoch, 5 rounds
    python -m benchmarks.bench_step_guard --steps 200 --rounds 7 --optimizer adam
    python -m benchmarks.bench_step_guard --device gpu     # with CuPy

In normal training the guard only runs its fused checks; the copy is made only for steps
whose update could overflow (a diverging run), so it is reported apart.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from benchmarks.bench_training import engine_model, make_data
from engine import backend
from engine.models import step_guard


def _epoch(model, x, y) -> float:
    start = time.perf_counter()
    model.fit(x, y, batch_size=128, epochs=1, shuffle=True, verbose=0)
    return time.perf_counter() - start


def _guard_parts(model, repeats: int = 50) -> tuple[float, float]:
    """Seconds per step of the guard's work in normal training (begin, the gradient check,
    protect deciding not to copy, the check after the update), and of the copy it makes
    when an update could overflow."""
    guard = step_guard.StepGuard(model.optimizer)
    weights, trainable = model.weights, model.trainable_weights
    gradients = [backend.xp.ones_like(w.data) for w in trainable]
    start = time.perf_counter()
    for _ in range(repeats):
        guard.begin(weights, trainable)
        assert guard.forward_finite() and guard.gradients_finite(gradients)
        guard.protect()
        assert guard.finite() and not guard._copied
    checks_s = (time.perf_counter() - start) / repeats
    guard._gradient_total = 1e40  # as after a huge gradient: protect copies
    start = time.perf_counter()
    for _ in range(repeats):
        guard.protect()
    guard.finite()  # wait for the copies on a GPU
    return checks_s, (time.perf_counter() - start) / repeats


_GUARD_METHODS = ("begin", "forward_finite", "gradients_finite", "protect", "finite")


def _without_guard():
    """Replace the guard's work by no-ops; returns what puts it back."""
    saved = {name: getattr(step_guard.StepGuard, name) for name in _GUARD_METHODS}
    step_guard.StepGuard.begin = lambda self, variables, trainable: None
    step_guard.StepGuard.forward_finite = lambda self: True
    step_guard.StepGuard.gradients_finite = lambda self, gradients: True
    step_guard.StepGuard.protect = lambda self: None
    step_guard.StepGuard.finite = lambda self: True

    def undo():
        for name, method in saved.items():
            setattr(step_guard.StepGuard, name, method)

    return undo


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="batches of 128 per epoch")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    args = parser.parse_args(argv)
    backend.set_device(args.device)

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

    guarded, unguarded = [], []
    for _ in range(args.rounds):
        guarded.append(_epoch(model, x, y))
        undo = _without_guard()
        try:
            unguarded.append(_epoch(model, x, y))
        finally:
            undo()
    checks_s, copy_s = _guard_parts(model)

    n_weights = sum(int(np.prod(w.shape)) for w in model.get_weights())
    with_guard = statistics.median(guarded) / args.steps * 1e3
    without = statistics.median(unguarded) / args.steps * 1e3
    print(f"MLP 784-512-512-10, batch 128, {args.optimizer}, {args.device}: {n_weights:,} weights")
    print(f"step with the guard    {with_guard:7.3f} ms (median of {args.rounds} epochs)")
    print(f"step without the guard {without:7.3f} ms")
    print(
        f"difference             {with_guard - without:7.3f} ms "
        f"({(with_guard - without) / without:+.1%})"
    )
    print(
        f"guard's checks         {checks_s * 1e3:7.3f} ms a step ({checks_s * 1e3 / without:.1%})"
    )
    print(f"copy when at risk      {copy_s * 1e3:7.3f} ms a step ({copy_s * 1e3 / without:.1%})")


if __name__ == "__main__":
    main()
