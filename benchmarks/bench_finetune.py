"""Fine-tuning step with a frozen ImageNet backbone: the engine against PyTorch on the CPU.

torchvision's ResNet-18 (random weights; the figures do not depend on them) is exported to
ONNX and imported with :func:`engine.onnx.import_model`; its head is replaced by a new
``Dense(N, softmax)`` and everything before it is frozen (:mod:`engine.models.surgery`), as
``layercanvas finetune --freeze-up-to ... --replace-head ...`` does to a project. One step
is ``train_on_batch`` (forward, loss, backward, Adam update) on a batch of images.

Three timings (median of ``--repeats`` after a warm-up):

- **engine, frozen**: what LayerCanvas does. A frozen layer's weights do not require
  gradients, so its forward pass records nothing on the tape (no VJP closures kept) and the
  reverse pass never enters the backbone.
- **engine, backbone on the tape**: the same step with the backbone's weights still marked
  as requiring gradients (but not updated): what an engine without that optimisation does,
  recording and differentiating the whole network to train the head.
- **PyTorch**: the same ResNet-18 with ``requires_grad=False`` on the backbone (and
  ``eval()`` for its batch norms, as the engine's frozen BatchNormalization does), a new
  ``nn.Linear`` head, cross-entropy and Adam.

Run: ``python -m benchmarks.bench_finetune`` (``--batch 16 --size 224 --repeats 5``); needs
torch and torchvision (the dev extra).
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

from engine import layers  # noqa: E402
from engine.models.surgery import freeze, replace_head  # noqa: E402
from engine.onnx import import_model  # noqa: E402


def median_s(fn, repeats: int) -> float:
    fn()  # warm-up: first-call allocations and caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def engine_model(proto, classes: int):
    """The imported network with a new head, everything before it frozen."""
    imported = import_model(proto).model
    head = imported.layers[-1]  # the Gemm of torchvision's classifier
    cut = [layer for layer in imported.layers if layer is not head][-1].name
    model = replace_head(imported, cut, layers.Dense(classes, activation="softmax", name="new"))
    frozen = freeze(model, up_to=cut)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model, frozen


def on_the_tape(model, frozen: list[str]) -> None:
    """Mark the frozen weights as requiring gradients again (without making them trainable),
    so the step records and differentiates the backbone: the cost being avoided."""
    for name in frozen:
        for weight in model.get_layer(name).weights:
            if weight.dtype.kind == "f" and "moving" not in (weight.name or ""):
                weight.requires_grad = True


def torch_step(model_name: str, classes: int, x: np.ndarray, y: np.ndarray):
    import torch  # noqa: PLC0415

    from tests.torchvision_models import build  # noqa: PLC0415

    net = build(model_name)
    net.fc = torch.nn.Linear(net.fc.in_features, classes)
    for name, param in net.named_parameters():
        param.requires_grad = name.startswith("fc.")
    net.eval()  # frozen batch norms use their running statistics
    optimizer = torch.optim.Adam([p for p in net.parameters() if p.requires_grad])
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(xt), yt)
        loss.backward()
        optimizer.step()

    return step


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--classes", type=int, default=4)
    parser.add_argument("--model", default="resnet18")
    args = parser.parse_args(argv)
    try:
        import torch  # noqa: PLC0415

        from tests.torchvision_models import build, export_onnx  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - depends on the machine
        sys.exit(f"torch and torchvision are needed ({exc})")
    shape = (3, args.size, args.size)
    proto = export_onnx(build(args.model), shape)
    model, frozen = engine_model(proto, args.classes)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch, *shape)).astype(np.float32)
    y = rng.integers(0, args.classes, args.batch)

    frozen_s = median_s(lambda: model.train_on_batch(x, y), args.repeats)
    on_the_tape(model, frozen)
    tape_s = median_s(lambda: model.train_on_batch(x, y), args.repeats)
    torch_s = median_s(torch_step(args.model, args.classes, x, y), args.repeats)
    print(
        f"{args.model}, batch {args.batch}, {args.size}x{args.size}, {len(frozen)} frozen "
        f"layers, torch {torch.__version__} with {torch.get_num_threads()} threads"
    )
    print(f"{'one fine-tuning step':34} {'s':>8} {'x PyTorch':>10}")
    for label, seconds in (
        ("engine, frozen backbone", frozen_s),
        ("engine, backbone on the tape", tape_s),
        ("PyTorch, requires_grad=False", torch_s),
    ):
        print(f"{label:34} {seconds:8.3f} {seconds / torch_s:10.2f}")
    print(f"frozen backbone saves {1 - frozen_s / tape_s:.0%} of a step")


if __name__ == "__main__":
    main()
