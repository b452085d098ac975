"""Training speed and memory of the engine beside PyTorch CPU, on the three reference workloads.

(a) MLP 784-512-512-10, batch 128, SGD with momentum, 60,000 synthetic MNIST-shaped samples;
(b) CNN 1x28x28 -> Conv2D 32 3x3 same -> ReLU -> MaxPool 2 -> Conv2D 64 3x3 same -> ReLU ->
    MaxPool 2 -> Flatten -> Dense 128 -> Dense 10, Adam, batch 64, 10,000 samples;
(c) LSTM over 28 steps x 28 features, hidden 128, last state -> Dense 10, Adam, batch 128,
    10,000 samples.

Both frameworks see the same data and hyperparameters and run alternately in one process
(epoch of ours, epoch of theirs, ...), so machine noise hits both alike. Peak memory is the
largest resident set of a fresh subprocess that trains one epoch of one framework.

    python -m benchmarks.bench_training                # all three, 3 epochs each
    python -m benchmarks.bench_training --workload cnn --repeats 5
    python -m benchmarks.bench_training --json out.json
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

WORKLOADS = {
    "mlp": {"samples": 60_000, "batch": 128, "shape": (784,), "optimizer": "sgd"},
    "cnn": {"samples": 10_000, "batch": 64, "shape": (1, 28, 28), "optimizer": "adam"},
    "lstm": {"samples": 10_000, "batch": 128, "shape": (28, 28), "optimizer": "adam"},
}
TORCH_REFERENCE_SAMPLES_PER_S = {"mlp": 25_000, "cnn": 2_600, "lstm": 8_500}


def make_data(workload: str):
    spec = WORKLOADS[workload]
    rng = np.random.default_rng(0)
    x = rng.random((spec["samples"], *spec["shape"]), dtype=np.float32)
    y = rng.integers(0, 10, size=spec["samples"]).astype(np.int64)
    return x, y


# -- the engine -------------------------------------------------------------------------------


def engine_model(workload: str):
    import engine
    from engine import layers

    engine.set_random_seed(0)
    if workload == "mlp":
        model = engine.Sequential(
            [
                engine.Input((784,)),
                layers.Dense(512, activation="relu"),
                layers.Dense(512, activation="relu"),
                layers.Dense(10),
            ]
        )
        optimizer = engine.optimizers.SGD(learning_rate=0.01, momentum=0.9)
    elif workload == "cnn":
        model = engine.Sequential(
            [
                engine.Input((1, 28, 28)),
                layers.Conv2D(32, 3, padding="same", activation="relu"),
                layers.MaxPooling2D(2),
                layers.Conv2D(64, 3, padding="same", activation="relu"),
                layers.MaxPooling2D(2),
                layers.Flatten(),
                layers.Dense(128, activation="relu"),
                layers.Dense(10),
            ]
        )
        optimizer = engine.optimizers.Adam(learning_rate=0.001)
    else:
        model = engine.Sequential(
            [
                engine.Input((28, 28)),
                layers.LSTM(128),
                layers.Dense(10),
            ]
        )
        optimizer = engine.optimizers.Adam(learning_rate=0.001)
    model.compile(
        optimizer=optimizer,
        loss=engine.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def engine_epoch(model, x, y, batch: int) -> float:
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=1, shuffle=True, verbose=0)
    return time.perf_counter() - start


# -- PyTorch ----------------------------------------------------------------------------------


def torch_model(workload: str):
    import torch
    from torch import nn

    torch.manual_seed(0)
    if workload == "mlp":
        net = nn.Sequential(
            nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)
        )
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    elif workload == "cnn":
        net = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * 7 * 7, 128),
            nn.ReLU(),
            nn.Linear(128, 10),
        )
        opt = torch.optim.Adam(net.parameters(), lr=0.001)
    else:

        class LastStateLSTM(nn.Module):
            def __init__(self):
                super().__init__()
                self.lstm = nn.LSTM(28, 128, batch_first=True)
                self.head = nn.Linear(128, 10)

            def forward(self, x):
                _, (h, _) = self.lstm(x)
                return self.head(h[-1])

        net = LastStateLSTM()
        opt = torch.optim.Adam(net.parameters(), lr=0.001)
    return net, opt


def torch_epoch(model, x, y, batch: int) -> float:
    import torch

    net, opt = model
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    start = time.perf_counter()
    order = torch.randperm(len(xt))
    for i in range(0, len(xt), batch):
        idx = order[i : i + batch]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(xt[idx]), yt[idx])
        loss.backward()
        opt.step()
    return time.perf_counter() - start


# -- measurement ------------------------------------------------------------------------------


def gemm_peak_gflops() -> float:
    """numpy float32 GEMM throughput on this machine, the ceiling for the MLP."""
    a = np.random.default_rng(0).random((2048, 2048), dtype=np.float32)
    b = a.copy()
    a @ b
    times = []
    for _ in range(5):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * 2048**3 / min(times) / 1e9


def mlp_flops_per_sample() -> int:
    forward = 2 * (784 * 512 + 512 * 512 + 512 * 10)
    return 3 * forward  # forward, input gradient and weight gradient: three GEMMs per layer


def blas_description() -> str:
    """Which BLAS kernel numpy runs: OPENBLAS_CORETYPE can pin an older, slower one."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "BLAS: unknown (threadpoolctl not installed)"
    for pool in threadpool_info():
        if pool.get("user_api") == "blas":
            return (
                f"numpy BLAS: {pool.get('internal_api')} {pool.get('version')}, "
                f"kernel {pool.get('architecture')}, {pool.get('num_threads')} threads"
            )
    return "BLAS: none found"


def peak_memory_mib(framework: str, workload: str) -> float:
    """Largest resident set of a fresh process training one epoch."""
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_training", "--memory-probe", framework, workload],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def memory_probe(framework: str, workload: str) -> None:
    x, y = make_data(workload)
    batch = WORKLOADS[workload]["batch"]
    if framework == "engine":
        engine_epoch(engine_model(workload), x, y, batch)
    else:
        import torch

        torch.set_num_threads(2)
        torch_epoch(torch_model(workload), x, y, batch)
    print(_high_water_rss_mib())


def _high_water_rss_mib() -> float:
    """Peak resident set of this process. ``VmHWM`` belongs to this program's own address
    space; ``ru_maxrss`` would also count the parent's peak, inherited across fork/exec."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(workload: str, repeats: int) -> dict:
    import torch

    torch.set_num_threads(2)
    x, y = make_data(workload)
    batch = WORKLOADS[workload]["batch"]
    ours, theirs = engine_model(workload), torch_model(workload)
    # One warm-up epoch each (allocations, thread pools), then alternate.
    engine_epoch(ours, x[: batch * 4], y[: batch * 4], batch)
    torch_epoch(theirs, x[: batch * 4], y[: batch * 4], batch)
    ours_t, theirs_t = [], []
    for _ in range(repeats):
        ours_t.append(engine_epoch(ours, x, y, batch))
        theirs_t.append(torch_epoch(theirs, x, y, batch))
    ours_s, theirs_s = statistics.median(ours_t), statistics.median(theirs_t)
    result = {
        "workload": workload,
        "samples": len(x),
        "engine_s_per_epoch": ours_s,
        "torch_s_per_epoch": theirs_s,
        "engine_samples_per_s": len(x) / ours_s,
        "torch_samples_per_s": len(x) / theirs_s,
        "ratio_engine_to_torch": ours_s / theirs_s,
        "engine_epochs_s": ours_t,
        "torch_epochs_s": theirs_t,
        "engine_peak_mib": peak_memory_mib("engine", workload),
        "torch_peak_mib": peak_memory_mib("torch", workload),
    }
    if workload == "mlp":
        result["engine_gflops"] = mlp_flops_per_sample() * len(x) / ours_s / 1e9
        result["numpy_gemm_peak_gflops"] = gemm_peak_gflops()
    return result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=[*WORKLOADS, "all"], default="all")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument(
        "--memory-probe", nargs=2, metavar=("FRAMEWORK", "WORKLOAD"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.memory_probe:
        memory_probe(*args.memory_probe)
        return
    names = list(WORKLOADS) if args.workload == "all" else [args.workload]
    print(blas_description(), flush=True)
    results = []
    for name in names:
        r = run(name, args.repeats)
        results.append(r)
        line = (
            f"{name:5s} engine {r['engine_s_per_epoch']:7.2f} s/epoch "
            f"({r['engine_samples_per_s']:8.0f} samples/s, {r['engine_peak_mib']:6.0f} MiB)  "
            f"torch {r['torch_s_per_epoch']:7.2f} s/epoch "
            f"({r['torch_samples_per_s']:8.0f} samples/s, {r['torch_peak_mib']:6.0f} MiB)  "
            f"ratio {r['ratio_engine_to_torch']:.2f}"
        )
        if name == "mlp":
            line += (
                f"  engine {r['engine_gflops']:.0f} GFLOP/s of numpy GEMM peak "
                f"{r['numpy_gemm_peak_gflops']:.0f}"
            )
        print(line, flush=True)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
