"""Run on a CUDA machine (``python tests/engine/optimizers/gpu_check.py``): every optimizer,
with and without its common options, gives on CuPy arrays the numbers it gives on numpy,
keeps its slots on the device, saves and restores its state, and trains a small MLP."""

from __future__ import annotations

import sys

import numpy as np

sys.path.insert(0, ".")
import engine  # noqa: E402
from engine import Input, Sequential, backend, optimizers  # noqa: E402
from engine.autodiff.tensor import Variable  # noqa: E402
from engine.layers import Dense  # noqa: E402

SHAPES = [(64, 32), (32,), (4, 8, 16)]
RNG = np.random.default_rng(0)
WEIGHTS = [RNG.normal(size=s).astype(np.float32) for s in SHAPES]
GRADS = [[RNG.normal(size=s).astype(np.float32) for s in SHAPES] for _ in range(7)]
EXTRAS = [
    {},
    {"use_ema": True, "ema_overwrite_frequency": 2, "gradient_accumulation_steps": 2},
    {"weight_decay": 0.01, "global_clipnorm": 1.0},
    {"clipnorm": 0.5, "clipvalue": None},
    {"clipvalue": 0.3},
]


def run(name, extra):
    opt = optimizers.get({"name": name, "learning_rate": 0.01, **extra})
    variables = [Variable(backend.asarray(w.copy())) for w in WEIGHTS]
    for step in GRADS[:4]:
        opt.apply_gradients(zip([backend.asarray(g) for g in step], variables))
    state = opt.get_state()
    again = optimizers.get({"name": name, "learning_rate": 0.01, **extra})
    again.set_state(state, variables)
    for step in GRADS[4:]:
        again.apply_gradients(zip([backend.asarray(g) for g in step], variables))
    again.finalize_variable_values(variables)
    on_device = all(
        type(a).__module__.split(".")[0] == backend.xp.__name__.split(".")[0]
        for arrays in again._slots.values()
        for a in arrays
    )
    return [backend.to_numpy(v) for v in variables], on_device


failures = 0
for name in optimizers.available():
    for extra in EXTRAS:
        extra = {k: v for k, v in extra.items() if v is not None}
        backend.set_device("cpu")
        expected, _ = run(name, extra)
        backend.set_device("gpu")
        got, on_device = run(name, extra)
        worst = max(float(np.max(np.abs(g - e))) for g, e in zip(got, expected))
        ok = on_device and all(
            np.allclose(g, e, rtol=1e-5, atol=1e-6) for g, e in zip(got, expected)
        )
        failures += not ok
        verdict = "ok " if ok else "BAD"
        print(f"{verdict} {name:10s} {extra} max|diff| {worst:.2e} device={on_device}")

x, y = engine.datasets.load_iris()
x = (x - x.mean(axis=0)) / x.std(axis=0)
for name in ("nadam", "lion", "adafactor", "ftrl", "adagrad"):
    backend.set_device("gpu")
    engine.set_random_seed(0)
    model = Sequential([Input((4,)), Dense(16, activation="relu"), Dense(3, activation="softmax")])
    rate = {"ftrl": 0.5, "lion": 0.003, "adagrad": 0.1, "adafactor": 0.05}.get(name, 0.01)
    options = {"use_ema": True, "gradient_accumulation_steps": 2}
    model.compile(
        optimizer={"name": name, "learning_rate": rate, **options},
        loss="sparse_categorical_crossentropy",
    )
    model.fit(x, y, epochs=40, batch_size=16, seed=0, verbose=0)
    accuracy = float(np.mean(np.argmax(model.predict(x, verbose=0), axis=-1) == y))
    ok = accuracy > 0.9
    failures += not ok
    print(f"{'ok ' if ok else 'BAD'} fit on the GPU with {name}: accuracy {accuracy:.3f}")

print("FAILURES", failures)
sys.exit(1 if failures else 0)
