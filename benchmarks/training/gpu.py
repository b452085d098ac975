"""``--gpu`` (``make bench GPU=1``): the same table with the engine on CuPy against PyTorch
CUDA. Without a usable GPU for both it says so in one line and exits 0, so the target can run
on any machine."""

from __future__ import annotations

import statistics

from benchmarks.training.engine_models import engine_model
from benchmarks.training.measure import engine_epoch, torch_epoch
from benchmarks.training.torch_models import torch_model
from benchmarks.training.workloads import WORKLOADS, make_data


def gpu_problem() -> str | None:
    """Why the GPU table cannot run here, or None when it can."""
    try:
        import cupy
    except ImportError:
        return "no GPU found: CuPy is not installed (pip install -e .[gpu])"
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return "no GPU found: CuPy sees no CUDA device"
    except Exception as err:  # noqa: BLE001 - CUDA missing shows as many error types
        return f"no GPU found: CuPy cannot reach a CUDA device ({err})"
    import torch

    if not torch.cuda.is_available():
        return "no GPU found: this PyTorch build has no CUDA device to compare with"
    return None


def run(name: str, repeats: int, scale: float, smoke: bool) -> dict:

    import engine

    workload = WORKLOADS[name].smoke() if smoke else WORKLOADS[name].scaled(scale)
    x, y = make_data(workload)
    engine.set_device("gpu")
    try:
        ours = engine_model(workload)
        net, opt = torch_model(workload)
        theirs = (net.cuda(), type(opt)(net.parameters(), **opt.defaults))
        warm = min(len(x), 2 * workload.batch)
        engine_epoch(ours, x[:warm], y[:warm], workload.batch)
        torch_epoch(theirs, x[:warm], y[:warm], workload.batch, "cuda")
        ours_t, theirs_t = [], []
        for _ in range(repeats):
            ours_t.append(engine_epoch(ours, x, y, workload.batch))
            theirs_t.append(torch_epoch(theirs, x, y, workload.batch, "cuda"))
    finally:
        engine.set_device("cpu")
    ours_s, theirs_s = statistics.median(ours_t), statistics.median(theirs_t)
    return {"workload": name, "engine_s": ours_s, "torch_s": theirs_s, "ratio": ours_s / theirs_s}


def main(args) -> int:
    problem = gpu_problem()
    if problem is not None:
        print(problem, flush=True)
        return 0
    import torch

    print(f"GPU: {torch.cuda.get_device_name(0)}", flush=True)
    print(f"{'workload':11s} {'CuPy s':>8s} {'CUDA s':>8s} {'ratio':>6s}", flush=True)
    names = list(WORKLOADS) if args.workload in ("all", "app") else [args.workload]
    for name in names:
        r = run(name, 1 if args.smoke else args.repeats, args.scale, args.smoke)
        print(f"{name:11s} {r['engine_s']:8.2f} {r['torch_s']:8.2f} {r['ratio']:6.2f}", flush=True)
    return 0
