"""``import_model``: an ONNX file becomes an engine ``Model`` with its weights.

The file is read and checked first (:mod:`engine.onnx.import_file`: nothing executed,
sizes bounded, external data kept inside the model's folder), then the graph is walked
once (:mod:`engine.onnx.import_graph`) with one small importer per operator in the
``engine/onnx/import_*`` modules. If anything cannot be represented, a single
:class:`OnnxImportError` lists every unsupported node and why; otherwise the result holds
the model, the ONNX node each layer came from, and warnings worth showing the user.

Supported operators: Gemm, MatMul (+ Add of a constant bias), Conv, MaxPool, AveragePool,
GlobalAveragePool, GlobalMaxPool (and ReduceMean / ReduceMax over height and width), Relu,
Sigmoid, Tanh, Softmax, LeakyRelu, Elu, Gelu (also its erf formula), Softplus, Flatten,
Reshape, BatchNormalization, LayerNormalization, LSTM, GRU, RNN (with the Transpose /
Squeeze / Gather / Reshape that exporters put around them), Gather of a constant table, Add,
Sub, Mul, Concat, Dropout, Identity; Transpose, Squeeze and Unsqueeze as views that a later
node undoes; and the shape arithmetic exporters write, folded on constants (Shape, Gather,
Unsqueeze, Squeeze, Concat, Cast, Slice, Expand, ConstantOfShape, Add/Sub/Mul/Div).

Opsets 9 to 21 of the standard domain are read; the batch is always axis 0 of every input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.onnx.import_errors import Issue, OnnxImportError
from engine.onnx.import_file import default_opset, read_model
from engine.onnx.import_graph import ImportContext, walk_graph
from engine.onnx.import_operators import supported_operators

__all__ = [
    "ImportResult",
    "Issue",
    "default_training",
    "OnnxImportError",
    "graph_document",
    "import_model",
    "supported_operators",
]


@dataclass
class ImportResult:
    """What :func:`import_model` made of a file."""

    model: object  # engine.Model with the file's weights
    warnings: list[str] = field(default_factory=list)
    node_layers: dict[str, list[str]] = field(default_factory=dict)  # ONNX node -> layers
    opset: int = 0
    source: str = ""
    metadata: dict[str, str] = field(default_factory=dict)

    def graph_document(self, name: str | None = None):
        """The model as a graph document for the canvas, laid out top to bottom (as the
        canvas's Auto-arrange does)."""
        return graph_document(self, name)

    def training_defaults(self) -> dict:
        """Training settings a project of this model can start from (see
        :func:`default_training`)."""
        return default_training(self.model)


def import_model(source, name: str | None = None) -> ImportResult:
    """Read ``source`` (a path to a ``.onnx`` file, its bytes, or an ``onnx.ModelProto``)
    and return the equivalent engine model. Raises :class:`OnnxImportError`, listing every
    problem at once, when the file is unreadable or uses operators LayerCanvas cannot
    represent; nothing is built half-way in that case."""
    from engine.models.functional import Model  # noqa: PLC0415 - models import layers

    proto = read_model(source)
    ctx = ImportContext(proto)
    inputs, outputs, issues = walk_graph(ctx)
    if not issues and not outputs:
        issues.append(Issue("", "graph", "the graph has no outputs"))
    if not issues and not inputs:
        issues.append(Issue("", "graph", "the graph has no data inputs (only constants)"))
    if issues:
        raise OnnxImportError(
            f"the ONNX model cannot be imported: {len(issues)} node(s) have no LayerCanvas "
            "equivalent",
            issues,
        )
    _tidy_recurrent_layers(ctx, [s.tensor for s in outputs])
    model_name = name or ctx.graph.name or (Path(source).stem if _is_path(source) else None)
    try:
        model = Model(
            [s.tensor for s in inputs] if len(inputs) > 1 else inputs[0].tensor,
            [s.tensor for s in outputs] if len(outputs) > 1 else outputs[0].tensor,
            name=_model_name(model_name),
        )
    except ValueError as err:  # the engine's GraphError: a graph it cannot run
        raise OnnxImportError(f"the imported graph is not a valid model: {err}") from None
    used = {layer.name for layer in model.layers}
    node_layers = {
        node: [n for n in names if n in used]
        for node, names in ctx.node_layers.items()
        if any(n in used for n in names)
    }
    metadata = {p.key: p.value for p in proto.metadata_props}
    return ImportResult(
        model=model,
        warnings=list(dict.fromkeys(ctx.warnings)),
        node_layers=node_layers,
        opset=default_opset(proto) or 0,
        source=str(source) if _is_path(source) else "",
        metadata=metadata,
    )


def _tidy_recurrent_layers(ctx: ImportContext, outputs) -> None:
    """A recurrent node may have made a layer nothing uses (its every-step output, before a
    Gather picked the last step): give its name to the layer that is used, and warn when
    both are used (two layers with copies of the same weights)."""
    reachable: set[int] = set()
    stack = list(outputs)
    while stack:
        tensor = stack.pop()
        if id(tensor.layer) not in reachable:
            reachable.add(id(tensor.layer))
            stack.extend(tensor.inputs)
    for label, layers in ctx.recurrent_layers.items():
        used = [layer for layer in layers if id(layer) in reachable]
        if len(used) > 1:
            ctx.warnings.append(
                f"recurrent node {label!r}: both its every-step output and its last state are "
                "used, so it became two layers with the same (separately trainable) weights"
            )
        elif used and used[0] is not layers[0]:
            used[0].name = layers[0].name
            for var in used[0].weights:
                var.name = f"{used[0].name}/{var.name.rsplit('/', 1)[-1]}"


def graph_document(result: ImportResult, name: str | None = None):
    """The imported model as a graph document (node ids are layer names), laid out left to
    right by :func:`engine.graph.convert.document_from_model`."""
    from engine.graph.convert import document_from_model  # noqa: PLC0415

    return document_from_model(result.model, name=name or result.model.name)


def _loss_for(layer) -> str:
    activation = "softmax" if layer.type_name == "Softmax" else getattr(layer, "activation", None)
    if activation == "softmax":
        return "sparse_categorical_crossentropy"
    if activation == "sigmoid":
        return "binary_crossentropy"
    return "mse"


def default_training(model) -> dict:
    """A project's ``training`` section for an imported model: the loss its outputs suggest
    (softmax: sparse categorical cross-entropy with accuracy, sigmoid: binary
    cross-entropy, otherwise mean squared error), Adam at 1e-3, 32 per batch, 10 epochs."""
    names = [t.layer.name for t in model.outputs]
    losses = {name: _loss_for(t.layer) for name, t in zip(names, model.outputs, strict=True)}
    classifies = any(loss != "mse" for loss in losses.values())
    return {
        "loss": next(iter(losses.values())) if len(losses) == 1 else losses,
        "optimizer": {"name": "adam", "learning_rate": 0.001},
        "metrics": ["accuracy"] if classifies else [],
        "batch_size": 32,
        "epochs": 10,
        "seed": 0,
    }


def _is_path(source) -> bool:
    return isinstance(source, str | Path)


def _model_name(name: str | None) -> str | None:
    if not name:
        return None
    from engine.onnx.import_graph import layer_name_for  # noqa: PLC0415

    return layer_name_for(name) or None
