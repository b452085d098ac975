"""Export a trained model to ONNX, and prove the export right with onnxruntime.

The model's graph of layer calls (walked back from its outputs, as the Functional API records
it) becomes an ONNX graph: each call is translated by the small mapping registered for its
layer type (``engine/onnx/mappings``). The batch dimension is dynamic, inputs and outputs
keep the model's names, weights become initializers, and the file records who made it.

A model whose weights hold NaN or infinite values (a diverged training run) is refused with
:class:`NonFiniteWeightsError`, which names the layers and how many values, unless
``allow_nonfinite=True``; the verification then compares only where the engine's outputs
are finite and asks onnxruntime's to be non-finite in the same places. The file is written
through :func:`engine.safe_files.atomic_path` (the permissions a plain ``open`` gives).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import helper

import engine
from engine.models.finite import describe_nonfinite, nonfinite_weights
from engine.onnx.context import FLOAT, INT64, ExportContext, ExportError
from engine.onnx.masks import MaskTracker
from engine.onnx.registry import exporter_for
from engine.safe_files import atomic_path

DEFAULT_OPSET = 17
MAX_OPSET = 21
# onnxruntime 1.31 accepts IR versions up to 13; opsets 17-21 all fit in IR 8-10.
IR_VERSION_FOR_OPSET = {17: 8, 18: 8, 19: 9, 20: 9, 21: 10}
BATCH_DIM = "batch"


class NonFiniteWeightsError(ExportError):
    """The model's weights hold NaN or infinite values; ``found`` lists ``(layer, count)``."""

    def __init__(self, found: list[tuple[str, int]]):
        self.found = found
        total = sum(n for _, n in found)
        super().__init__(
            f"{total:,} weight value{'s' if total != 1 else ''} in "
            f"{describe_nonfinite(found)} {'is' if total == 1 else 'are'} NaN or infinite "
            "(a diverged training run?), so the exported model would predict NaN"
        )


@dataclass
class ExportReport:
    """What ``verify_export`` found: the largest relative error per batch size."""

    path: str
    opset: int
    max_relative_error: float
    batch_sizes: tuple[int, ...]
    checker_passed: bool

    def summary(self) -> str:
        return (
            f"wrote {self.path} (opset {self.opset}); onnx.checker passed; onnxruntime matches "
            f"predict on batches {list(self.batch_sizes)} with max relative error "
            f"{self.max_relative_error:.2e}"
        )


def _call_order(model) -> list:
    """The model's KerasTensors in an order where every input comes before its use."""
    order, seen = [], set()
    stack = [(t, False) for t in reversed(list(model.outputs))]
    while stack:
        tensor, expanded = stack.pop()
        if expanded:
            order.append(tensor)
            continue
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        stack.append((tensor, True))
        stack.extend(
            (parent, False) for parent in reversed(tensor.inputs) if id(parent) not in seen
        )
    return order


def build_onnx_model(model, opset: int = DEFAULT_OPSET, metadata: dict | None = None):
    """Translate ``model`` into an in-memory ``onnx.ModelProto``."""
    if not DEFAULT_OPSET <= opset <= MAX_OPSET:
        raise ExportError(f"opset {opset} is not supported: choose {DEFAULT_OPSET} to {MAX_OPSET}")
    ctx = ExportContext(opset)
    ctx.masks = MaskTracker(ctx)  # padding masks (Embedding(mask_zero=True)) and who reads them
    names: dict[int, str] = {}
    graph_inputs, graph_outputs = [], []
    input_ids = {id(t) for t in model.inputs}
    output_ids = [id(t) for t in model.outputs]

    for tensor in model.inputs:
        name = ctx.reserve(tensor.layer.name)
        names[id(tensor)] = name
        elem = INT64 if tensor.layer.dtype == "int64" else FLOAT
        if elem == INT64:
            ctx.int64_names.add(name)
        graph_inputs.append(helper.make_tensor_value_info(name, elem, [BATCH_DIM, *tensor.shape]))
    output_names = {}
    for tensor in model.outputs:
        output_names.setdefault(id(tensor), tensor.layer.name)

    missing = sorted(
        {
            t.layer.type_name
            for t in _call_order(model)
            if id(t) not in input_ids and exporter_for(t.layer.type_name) is None
        }
    )
    if missing:
        raise ExportError(f"no ONNX mapping for layer type(s): {', '.join(missing)}")

    for tensor in _call_order(model):
        if id(tensor) in input_ids:
            continue
        layer = tensor.layer
        wanted = output_names.get(id(tensor), f"{layer.name}.out")
        out = ctx.reserve(wanted) if id(tensor) in output_names else ctx.fresh(wanted)
        in_names = [names[id(t)] for t in tensor.inputs]
        ctx.masks.check(layer, in_names)
        exporter_for(layer.type_name)(ctx, layer, in_names, out)
        ctx.masks.follow(layer, in_names, out)
        names[id(tensor)] = out

    for tensor_id, tensor in zip(output_ids, model.outputs, strict=True):
        graph_outputs.append(
            helper.make_tensor_value_info(names[tensor_id], FLOAT, [BATCH_DIM, *tensor.shape])
        )

    graph = helper.make_graph(
        ctx.nodes,
        model.name or "layercanvas_model",
        graph_inputs,
        graph_outputs,
        initializer=ctx.initializers,
    )
    proto = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", opset)],
        producer_name="LayerCanvas",
        producer_version=engine.__version__,
        ir_version=IR_VERSION_FOR_OPSET[opset],
    )
    meta = dict(getattr(model, "metadata", None) or {})
    meta.update(metadata or {})
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key = str(key)
        entry.value = value if isinstance(value, str) else json.dumps(value)
    return proto


def export_model(
    model,
    path,
    opset: int = DEFAULT_OPSET,
    metadata: dict | None = None,
    verify: bool = True,
    allow_nonfinite: bool = False,
) -> ExportReport | None:
    """Write ``model`` to ``path`` atomically; with ``verify``, check it and compare it with
    ``model.predict`` under onnxruntime (raises ExportError when they disagree). Weights
    that are NaN or infinite raise :class:`NonFiniteWeightsError` unless ``allow_nonfinite``."""
    found = nonfinite_weights(model)
    if found and not allow_nonfinite:
        raise NonFiniteWeightsError(found)
    proto = build_onnx_model(model, opset, metadata)
    onnx.checker.check_model(proto, full_check=True)
    path = Path(path)
    report = None
    with atomic_path(path) as tmp:
        tmp.write_bytes(proto.SerializeToString())
        if verify:
            report = verify_export(model, tmp, opset=opset)
            report.path = str(path)
    return report


def random_inputs(model, batch: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Inputs for a parity check: floats in [-1, 1), token ids inside every vocabulary."""
    arrays = []
    for tensor in model.inputs:
        if tensor.layer.dtype == "int64":
            high = _smallest_vocabulary(model, tensor)
            arrays.append(rng.integers(0, high, size=(batch, *tensor.shape)).astype(np.int64))
        else:
            arrays.append(rng.uniform(-1, 1, size=(batch, *tensor.shape)).astype(np.float32))
    return arrays


def _smallest_vocabulary(model, input_tensor) -> int:
    sizes = [
        t.layer.input_dim
        for t in _call_order(model)
        if any(p is input_tensor for p in t.inputs) and hasattr(t.layer, "input_dim")
    ]
    return min(sizes) if sizes else 2


def verify_export(
    model,
    path,
    opset: int = DEFAULT_OPSET,
    batch_sizes=(1, 3, 8),
    tolerance: float = 1e-4,
    seed: int = 0,
) -> ExportReport:
    """Check ``path`` with the full ONNX checker and compare onnxruntime with ``predict``."""
    import onnxruntime as ort  # noqa: PLC0415 - heavy import, only when verifying

    onnx.checker.check_model(str(path), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    worst = 0.0
    for batch in batch_sizes:
        inputs = random_inputs(model, batch, rng)
        expected = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
        expected = expected if isinstance(expected, list) else [expected]
        feed = {t.name: a for t, a in zip(session.get_inputs(), inputs, strict=True)}
        got = session.run(None, feed)
        for want, have in zip(expected, got, strict=True):
            if want.shape != have.shape:
                raise ExportError(f"onnxruntime output shape {have.shape} != engine {want.shape}")
            worst = max(worst, _relative_error(want, have))
    if worst > tolerance:
        raise ExportError(
            f"the exported model disagrees with the engine: max relative error {worst:.2e} "
            f"> {tolerance:.0e}"
        )
    return ExportReport(str(path), opset, worst, tuple(batch_sizes), True)


def _relative_error(want: np.ndarray, have: np.ndarray) -> float:
    """The largest difference relative to the largest expected value, over the places where
    the engine's output is finite; a place finite on one side only counts as infinitely
    wrong (a NaN must not hide as ``max(x, nan) == x``)."""
    finite = np.isfinite(want)
    if not np.array_equal(finite, np.isfinite(have)):
        return float("inf")
    if not finite.any():
        return 0.0
    want, have = want[finite], have[finite]
    scale = max(float(np.abs(want).max()), 1e-6)
    return float(np.abs(want - have).max()) / scale
