"""Forward pass of an imported ResNet-18 against onnxruntime on the CPU.

torchvision's ResNet-18 (random weights) is exported by ``torch.onnx.export`` (opset 17),
imported with :func:`engine.onnx.import_model`, and both the engine's model and an
onnxruntime session on the same file run a batch of 8 images of 224x224. The figures are
the import time and the median forward time of each over ``--repeats`` runs (after one
warm-up), with their ratio.

Run: ``python -m benchmarks.bench_resnet`` (``--repeats 5 --batch 8 --model resnet18``);
needs torch and torchvision (the dev extra).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.onnx import import_model  # noqa: E402


def median_s(fn, repeats: int) -> float:
    fn()  # warm-up: first-call allocations and caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--model", default="resnet18", help="a torchvision family name")
    args = parser.parse_args(argv)
    try:
        import onnxruntime as ort  # noqa: PLC0415

        from tests.torchvision_models import build, export_onnx  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - depends on the machine
        sys.exit(f"torch and torchvision are needed to export the model ({exc})")
    proto = export_onnx(build(args.model), (3, 224, 224))
    start = time.perf_counter()
    model = import_model(proto).model
    import_s = time.perf_counter() - start
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).normal(size=(args.batch, 3, 224, 224)).astype(np.float32)
    ours = median_s(lambda: model.predict(x, batch_size=args.batch, verbose=0), args.repeats)
    theirs = median_s(lambda: session.run(None, {"input": x}), args.repeats)
    print(f"{args.model} import: {import_s:.2f} s")
    print(f"{'forward, batch ' + str(args.batch) + ', 224x224':34} {'s':>8}")
    print(f"{'LayerCanvas engine (numpy)':34} {ours:8.3f}")
    print(f"{'onnxruntime CPU':34} {theirs:8.3f}")
    print(f"{'ratio engine / onnxruntime':34} {ours / theirs:7.2f}x", flush=True)


if __name__ == "__main__":
    main()
