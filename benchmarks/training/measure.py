"""Timing and memory of one workload: epochs of the engine and of PyTorch alternating in one
process (so machine noise hits both alike), medians, and each framework's peak resident set
in a fresh subprocess."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

from benchmarks.training.engine_models import engine_model
from benchmarks.training.torch_models import torch_model
from benchmarks.training.workloads import Workload, make_data


def torch_threads() -> int:
    """PyTorch's thread count: numpy's BLAS thread count unless
    ``BENCH_TORCH_THREADS`` says otherwise (the engine may drop to one thread per step when
    that is faster, see engine.models.blas_threads; this shows PyTorch at one thread too)."""
    if os.environ.get("BENCH_TORCH_THREADS", "").isdigit():
        return int(os.environ["BENCH_TORCH_THREADS"])
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return 1
    counts = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
    return max(counts, default=1)


def blas_description() -> str:
    """Which BLAS kernel numpy runs, with a warning when ``OPENBLAS_CORETYPE`` pins a kernel
    older than the CPU: on the AVX-512 development machine ``Haswell`` (set on some of these
    machines) runs float32 GEMMs at ~137 GFLOP/s on one thread against ~257 for the kernel
    OpenBLAS picks itself, while PyTorch's oneDNN convolutions use AVX-512 either way: the
    conv rows' ratios then read ~1.5x worse than the engine is."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "BLAS: unknown (threadpoolctl not installed)"
    for pool in threadpool_info():
        if pool.get("user_api") == "blas":
            line = (
                f"numpy BLAS: {pool.get('internal_api')} {pool.get('version')}, "
                f"kernel {pool.get('architecture')}, {pool.get('num_threads')} threads"
            )
            return line + pinned_kernel_warning(pool.get("architecture"))
    return "BLAS: none found"


def pinned_kernel_warning(architecture: str | None) -> str:
    """A second line when OPENBLAS_CORETYPE chose an AVX2 kernel on a CPU with AVX-512."""
    pinned = os.environ.get("OPENBLAS_CORETYPE", "")
    if not pinned or architecture not in ("Haswell", "Zen", "Sandybridge"):
        return ""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            has_avx512 = " avx512f " in handle.read(1 << 16)
    except OSError:
        return ""
    if not has_avx512:
        return ""
    return (
        f"\nWARNING: OPENBLAS_CORETYPE={pinned} pins OpenBLAS's {architecture} kernel on a CPU "
        "with AVX-512 (GEMMs at about half speed, PyTorch unaffected); `make bench` unsets it"
    )


def engine_epoch(model, x, y, batch: int) -> float:
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=1, shuffle=True, verbose=0)
    return time.perf_counter() - start


def engine_inference(model, x, batch: int) -> float:
    start = time.perf_counter()
    model.predict(x, batch_size=batch, verbose=0)
    return time.perf_counter() - start


def torch_epoch(model, x, y, batch: int, device: str = "cpu") -> float:
    import torch

    net, opt = model
    net.train()
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    start = time.perf_counter()
    order = torch.randperm(len(xt))
    for i in range(0, len(xt), batch):
        idx = order[i : i + batch]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(xt[idx].to(device)), yt[idx].to(device))
        loss.backward()
        opt.step()
    if device != "cpu":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def torch_inference(model, x, batch: int) -> float:
    import torch

    net, _ = model
    net.eval()
    xt = torch.from_numpy(x)
    start = time.perf_counter()
    with torch.inference_mode():
        for i in range(0, len(xt), batch):
            net(xt[i : i + batch]).numpy()
    net.train()
    return time.perf_counter() - start


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


def peak_memory_mib(
    framework: str, workload: Workload, smoke: bool = False, scale: float = 1.0
) -> float:
    """Largest resident set of a fresh process training one epoch."""
    command = [sys.executable, "-m", "benchmarks.bench_training"]
    command += ["--memory-probe", framework, workload.name, "--scale", str(scale)]
    command += ["--smoke"] if smoke else []
    out = subprocess.run(command, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"memory probe {framework}/{workload.name} failed:\n{out.stderr}")
    return float(out.stdout.strip().splitlines()[-1])


def memory_probe(framework: str, workload: Workload) -> float:
    x, y = make_data(workload)
    if framework == "engine":
        engine_epoch(engine_model(workload), x, y, workload.batch)
    else:
        import torch

        torch.set_num_threads(torch_threads())
        torch_epoch(torch_model(workload), x, y, workload.batch)
    return high_water_rss_mib()


def high_water_rss_mib() -> float:
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


def run(
    workload: Workload,
    repeats: int,
    memory: bool = True,
    inference: bool = False,
    smoke: bool = False,
    scale: float = 1.0,
) -> dict:
    """One row: ``repeats`` alternating epochs of each framework, medians and their ratio."""
    import torch

    torch.set_num_threads(torch_threads())
    x, y = make_data(workload)
    batch = workload.batch
    ours, theirs = engine_model(workload), torch_model(workload)
    # One short warm-up epoch each (allocations, thread pools, compiled plans), then alternate.
    warm = min(len(x), batch * 2)
    engine_epoch(ours, x[:warm], y[:warm], batch)
    torch_epoch(theirs, x[:warm], y[:warm], batch)
    ours_t, theirs_t = [], []
    for _ in range(repeats):
        ours_t.append(engine_epoch(ours, x, y, batch))
        theirs_t.append(torch_epoch(theirs, x, y, batch))
    ours_s, theirs_s = statistics.median(ours_t), statistics.median(theirs_t)
    result = {
        "workload": workload.name,
        "title": workload.title,
        "target": workload.target,
        "samples": len(x),
        "engine_s_per_epoch": ours_s,
        "torch_s_per_epoch": theirs_s,
        "engine_samples_per_s": len(x) / ours_s,
        "torch_samples_per_s": len(x) / theirs_s,
        "ratio_engine_to_torch": ours_s / theirs_s,
        "engine_epochs_s": ours_t,
        "torch_epochs_s": theirs_t,
    }
    if inference:
        ours_i, theirs_i = [], []
        for _ in range(repeats):
            ours_i.append(engine_inference(ours, x, batch))
            theirs_i.append(torch_inference(theirs, x, batch))
        result["inference_ratio"] = statistics.median(ours_i) / statistics.median(theirs_i)
    if memory:
        result["engine_peak_mib"] = peak_memory_mib("engine", workload, smoke, scale)
        result["torch_peak_mib"] = peak_memory_mib("torch", workload, smoke, scale)
    if workload.name == "mlp":
        result["engine_gflops"] = mlp_flops_per_sample() * len(x) / ours_s / 1e9
        result["numpy_gemm_peak_gflops"] = gemm_peak_gflops()
    return result
