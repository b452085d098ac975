"""``import_keras(path)``: a Keras model file becomes a LayerCanvas graph document, an
engine model with the file's weights, and training settings.

Accepted: Keras 3 ``.keras`` archives (:mod:`engine.keras_io.archive`) and Keras 2
full-model ``.h5`` files (``model_config`` and ``model_weights``), Sequential or Functional,
with several inputs and outputs, shared layers and nested models. Nothing in the file is
executed: the config is JSON read as data, the weights are read by h5py
(:mod:`engine.keras_io.h5_safe`); ``Lambda`` layers and custom classes are refused by name.

Layouts: Keras computes channels last, the engine channels first. The importer follows the
layout of every tensor (:mod:`engine.keras_io.layouts`), transposes kernels, maps axes, and
inserts a visible ``Permute`` node wherever a layer needs the other order. Inputs keep
Keras's shapes (an image input stays ``(H, W, C)``, so the user's own NHWC data works as it
is) and outputs come out in Keras's order, equal to Keras's predictions.

Every layer LayerCanvas cannot represent is listed in one :class:`KerasImportError`;
otherwise :class:`KerasImport` holds the result and notes for the user (shared layers
imported as copies, options dropped, compile settings not carried over).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from engine.keras_io.archive import read_keras_archive
from engine.keras_io.config_graph import INPUT_CLASS, ConfigError, KerasGraph, flatten_config
from engine.keras_io.errors import KerasImportError, LayerIssue
from engine.keras_io.h5_safe import H5Weights
from engine.keras_io.layers import load_mappings
from engine.keras_io.layers.registry import (
    CALL_OPTIONS,
    IMPORTS,
    EngineNode,
    InputInfo,
    Unsupported,
)
from engine.keras_io.layouts import Layout, identity, is_identity, permute_dims
from engine.keras_io.training_config import training_from_keras
from engine.keras_io.weights import Keras3Weights, LegacyWeights
from engine.safe_files import regular_file_problem

__all__ = ["KerasImport", "import_keras"]

MAX_H5_BYTES = 4 * 2**30


@dataclass
class KerasImport:
    """What :func:`import_keras` made of a file."""

    document: object  # GraphDocument, laid out
    model: object  # engine Model with the file's weights
    training: dict
    notes: list[str] = field(default_factory=list)
    keras_version: str = ""
    inserted: list[str] = field(default_factory=list)  # ids of the Permute nodes added


@dataclass
class _Tensor:
    node: str
    shape: tuple[int, ...]
    layout: Layout


def import_keras(path, name: str | None = None) -> KerasImport:
    """Import the ``.keras`` or ``.h5`` file at ``path`` (module docstring)."""
    load_mappings()
    path = Path(path)
    suffix = path.suffix.lower()

    def fail(problem: str) -> KerasImportError:
        return KerasImportError(path, problem)

    if suffix == ".keras":
        archive = read_keras_archive(path)
        if archive.weights is None:
            raise fail("it has no model.weights.h5 (the weights are missing)")
        model_config = archive.config
        compile_config = archive.config.get("compile_config")
        version = str(archive.metadata.get("keras_version", ""))
        h5 = H5Weights(archive.weights, fail)
        weights = Keras3Weights(h5)
    elif suffix in (".h5", ".hdf5"):
        problem = regular_file_problem(path)
        if problem is not None:
            raise fail(problem)
        if path.stat().st_size > MAX_H5_BYTES:
            raise fail(f"the file is larger than {MAX_H5_BYTES:,} bytes")
        h5 = H5Weights(str(path), fail)
        text = h5.attr_text("model_config")
        if text is None:
            h5.close()
            raise fail(
                "it holds no model_config: a weights-only .h5 file (save_weights) has no "
                "architecture to import; save the whole model (model.save)"
            )
        model_config = _json(text, "model_config", fail)
        training_text = h5.attr_text("training_config")
        compile_config = _json(training_text, "training_config", fail) if training_text else None
        version = h5.attr_text("keras_version") or ""
        weights = LegacyWeights(h5)
    else:
        raise fail("expected a Keras .keras or .h5 file")
    with h5:
        try:
            graph = flatten_config(model_config)
        except (ConfigError, ValueError, TypeError) as err:
            raise fail(f"the model config cannot be read: {err}") from None
        builder = _Builder(graph)
        builder.build()
        if builder.issues:
            raise KerasImportError(
                path,
                f"{len(builder.issues)} layer(s) have no LayerCanvas equivalent",
                builder.issues,
            )
        doc_name = name or model_config.get("config", {}).get("name") or path.stem
        document, layer_names = builder.grouped_document(doc_name)
        model = builder.model(document, fail)
        builder.load_weights(model, weights, layer_names, fail)
    keras_outputs = [
        graph.calls[[c.id for c in graph.calls].index(o)].layer_name for o in graph.outputs
    ]
    from engine.onnx.importer import default_training  # noqa: PLC0415

    training, training_notes = training_from_keras(
        compile_config, builder.output_ids, keras_outputs, default_training(model)
    )
    return KerasImport(
        document=document,
        model=model,
        training=training,
        notes=builder.notes + training_notes,
        keras_version=version,
        inserted=builder.inserted,
    )


def _json(text: str, what: str, fail):
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise fail(f"its {what} is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise fail(f"its {what} is not a JSON object")
    return value


class _Builder:
    """Walks the flat call graph once, making nodes, edges and Permute nodes."""

    def __init__(self, graph: KerasGraph):
        from engine.graph.document import Edge, Node  # noqa: PLC0415

        self._Node, self._Edge = Node, Edge
        self.graph = graph
        self.nodes: list = []
        self.edges: list = []
        self.tensors: dict[str, _Tensor] = {}
        self.issues: list[LayerIssue] = list(graph.issues)
        self.notes: list[str] = list(graph.notes)
        self.inserted: list[str] = []
        self.output_ids: list[str] = []
        self._permutes: dict[tuple[str, Layout], _Tensor] = {}
        self._ids = {c.id for c in graph.calls}
        self._mapped: dict[str, EngineNode] = {}
        self.scopes: dict[str, tuple] = {}  # node id -> nested-model chain

    def build(self) -> None:
        from engine.layers.base import LAYER_TYPES  # noqa: PLC0415

        shared: dict[str, list[str]] = {}
        for call in self.graph.calls:
            mapping = IMPORTS.get(call.class_name)
            if mapping is None:
                self.issues.append(LayerIssue(call.layer_name, call.class_name, _why(call)))
                continue
            if any(source not in self.tensors for source in call.inputs):
                continue  # an earlier layer was refused; its issue is already listed
            inputs = [self.tensors[s] for s in call.inputs]
            infos = [InputInfo(t.shape, t.layout) for t in inputs]
            try:
                config = (
                    {**call.config, CALL_OPTIONS: call.options} if call.options else call.config
                )
                spec = mapping.to_engine(config, infos)
                if spec.type not in LAYER_TYPES:
                    raise Unsupported(f"LayerCanvas has no {spec.type} layer")
                needs = spec.needs if spec.needs is not None else [None] * len(inputs)
                inputs = [
                    t if need is None else self._in_layout(t, need, call.scope)
                    for t, need in zip(inputs, needs, strict=True)
                ]
                shape = self._output_shape(spec, inputs)
            except (Unsupported, ValueError, TypeError, KeyError) as err:
                self.issues.append(LayerIssue(call.layer_name, call.class_name, _text(err)))
                continue
            if call.class_name != INPUT_CLASS:
                shared.setdefault(call.layer_name, []).append(call.id)
            for note in spec.notes:
                self.notes.append(f"layer {call.layer_name!r}: {note}")
            layout = spec.output
            if layout is None:
                first = inputs[0].layout if inputs else identity(len(shape) + 1)
                layout = first if len(first) == len(shape) + 1 else identity(len(shape) + 1)
            self._add_node(call.id, spec.type, spec.params, [t.node for t in inputs])
            self.scopes[call.id] = call.scope
            self._mapped[call.id] = spec
            self.tensors[call.id] = _Tensor(call.id, shape, layout)
        for layer, ids in shared.items():
            if len(ids) > 1:
                self.notes.append(
                    f"layer {layer!r} is shared by {len(ids)} calls: imported as copies "
                    f"({', '.join(ids)}) that start with the same weights but are no longer "
                    "tied (each trains on its own)"
                )
        if self.issues:
            return
        for out in self.graph.outputs:
            tensor = self.tensors[out]
            if not is_identity(tensor.layout):  # outputs come out in Keras's order
                tensor = self._in_layout(tensor, identity(len(tensor.layout)), ())
            self.output_ids.append(tensor.node)
        if self.inserted:
            self.notes.append(
                f"inserted {len(self.inserted)} Permute node(s) ({', '.join(self.inserted)}) "
                "between Keras's channels-last order and the engine's channels-first layers; "
                "inputs and outputs keep Keras's shapes"
            )

    def _add_node(self, node_id, type_name, params, sources) -> None:
        self.nodes.append(self._Node(node_id, type_name, dict(params)))
        for port, source in enumerate(sources):
            self.edges.append(self._Edge(source, node_id, port))

    def _output_shape(self, spec: EngineNode, inputs: list[_Tensor]) -> tuple[int, ...]:
        from engine.layers.base import get_layer_class  # noqa: PLC0415

        cls = get_layer_class(spec.type)
        if spec.type == "Input":
            return tuple(spec.params["shape"])
        layer = cls(**spec.params)
        shapes = [t.shape for t in inputs]
        out = layer.compute_output_shape(shapes if cls.max_inputs != 1 else shapes[0])
        return tuple(out)

    def _in_layout(self, tensor: _Tensor, target: Layout, scope: tuple) -> _Tensor:
        """``tensor`` held in ``target`` layout: itself, or a (shared) Permute of it."""
        if tensor.layout == target:
            return tensor
        if len(target) != len(tensor.layout):
            raise Unsupported(f"needs a rank-{len(target)} input, got rank {len(tensor.layout)}")
        key = (tensor.node, target)
        if key in self._permutes:
            return self._permutes[key]
        from engine.layers.base import LAYER_TYPES  # noqa: PLC0415

        if "Permute" not in LAYER_TYPES:
            raise Unsupported(
                "its input must change between channels-last and channels-first order, "
                "which needs a Permute layer LayerCanvas does not have yet"
            )
        dims = permute_dims(tensor.layout, target)
        node_id = self._free_id(f"{tensor.node}_permute")
        shape = tuple(tensor.shape[d - 1] for d in dims)
        self._add_node(node_id, "Permute", {"dims": list(dims)}, [tensor.node])
        self.scopes[node_id] = _common_prefix(self.scopes.get(tensor.node, ()), scope)
        self.inserted.append(node_id)
        result = _Tensor(node_id, shape, target)
        self._permutes[key] = result
        return result

    def _free_id(self, base: str) -> str:
        node_id, n = base, 1
        while node_id in self._ids:
            n += 1
            node_id = f"{base}_{n}"
        self._ids.add(node_id)
        return node_id

    def document(self, name: str):
        from engine.graph.convert import auto_layout  # noqa: PLC0415
        from engine.graph.document import GraphDocument  # noqa: PLC0415

        used = self._used_nodes()
        nodes = [n for n in self.nodes if n.id in used]
        edges = [e for e in self.edges if e.target in used]
        doc = GraphDocument(name, nodes, edges)
        for node_id, position in auto_layout(doc).items():
            doc.node(node_id).position = position
        return doc

    def _used_nodes(self) -> set[str]:
        """Nodes the outputs depend on, plus every input (a Keras model keeps unused ones)."""
        sources: dict[str, list[str]] = {}
        for edge in self.edges:
            sources.setdefault(edge.target, []).append(edge.source)
        used, stack = set(), list(self.output_ids)
        while stack:
            node = stack.pop()
            if node not in used:
                used.add(node)
                stack.extend(sources.get(node, []))
        return used | set(self.graph.inputs)

    def grouped_document(self, name: str):
        """The laid-out document with nested models as blocks, and the layer name each flat
        node has in the model built from it."""
        from engine.graph.convert import auto_layout  # noqa: PLC0415

        doc = self.document(name)
        used = {n.id for n in doc.nodes}
        scopes = {node: scope for node, scope in self.scopes.items() if node in used}
        if not any(scopes.values()):
            return doc, {node: node for node in used}
        from engine.keras_io.nested_blocks import group_nested  # noqa: PLC0415

        names, notes = group_nested(doc, scopes)
        self.notes.extend(notes)
        for node_id, position in auto_layout(doc).items():
            doc.node(node_id).position = position
        return doc, names

    def model(self, document, fail):
        from engine.graph.compiler import GraphError  # noqa: PLC0415
        from engine.graph.convert import model_from_document  # noqa: PLC0415

        try:
            return model_from_document(document)
        except GraphError as err:
            raise fail(f"the imported graph is not valid: {err}") from None

    def load_weights(self, model, weights, layer_names, fail) -> None:
        by_name = {layer.name: layer for layer in model.layers}
        for call in self.graph.calls:
            layer = by_name.get(layer_names.get(call.id, call.id))
            if layer is None or not layer.weights:
                continue
            mapping = IMPORTS[call.class_name]
            arrays = weights.arrays(call, mapping.weight_groups)
            try:
                converted = mapping.weights_to_engine(call.config, arrays)
                converted = _in_engine_layout(converted, self._mapped[call.id].weights_layout)
                layer.set_weights(converted)
            except (ValueError, IndexError) as err:
                found = ", ".join(str(tuple(a.shape)) for a in arrays) or "none"
                raise fail(
                    f"the weights of layer {call.layer_name!r} ({call.class_name}) do not fit "
                    f"it (found {found}): {err}"
                ) from None


def _common_prefix(a: tuple, b: tuple) -> tuple:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def _in_engine_layout(arrays, layout):
    """Weights shaped like a sample (PReLU's alpha) moved into the engine's axis order."""
    if layout is None or is_identity(layout):
        return arrays
    order = [axis - 1 for axis in layout[1:]]
    return [a.transpose(order) if a.ndim == len(order) else a for a in arrays]


def _why(call) -> str:
    if call.class_name == "Lambda":
        return "Lambda layers hold Python code, which LayerCanvas never runs"
    if call.class_name == "TFOpLambda" or call.class_name.startswith(("TFOp", "tf.")):
        return "TensorFlow operations hold code, which LayerCanvas never runs"
    module = str(call.config.get("module", ""))
    registered = call.config.get("registered_name")
    if registered or (module and not module.startswith("keras")):
        return "a custom layer class; LayerCanvas runs only its own layers"
    return "LayerCanvas has no equivalent of this Keras layer"


def _text(err: BaseException) -> str:
    return str(err.args[0]) if err.args else str(err)
