"""Between graph documents and models: a Sequential or Functional model becomes a document
(one node per layer, laid out top to bottom) and a document becomes a model again.

``document_from_model(model)`` reads the model's graph of layer calls, so everything a layer
is configured with comes from its parameter schema; ``model_from_document(doc)`` is the
compiler's :func:`~engine.graph.compiler.build_model`. Node ids are layer names both ways,
which is what :func:`copy_weights` matches on.
"""

from __future__ import annotations

from typing import Any

from engine.graph.compiler import build_model, check_graph
from engine.graph.document import Edge, GraphDocument, Node
from engine.graph.layout import arrange

__all__ = [
    "ConversionError",
    "auto_layout",
    "copy_matching_weights",
    "copy_weights",
    "document_from_model",
    "model_from_document",
]


class ConversionError(ValueError):
    """A model that has no faithful graph document (for example a layer called twice)."""


def document_from_model(model, name: str | None = None) -> GraphDocument:
    """The graph document of a built Sequential or Functional model."""
    if not getattr(model, "built", True):
        raise ConversionError(
            f"model {model.name!r} has no input yet; build it (or call it on data) first"
        )
    tensors = model.graph_nodes()
    nodes: list[Node] = []
    edges: list[Edge] = []
    seen: dict[int, str] = {}
    for tensor in tensors:
        layer = tensor.layer
        if id(layer) in seen:
            raise ConversionError(
                f"layer {layer.name!r} is used more than once (shared weights); a graph "
                "document has one node per layer"
            )
        if layer.name in seen.values():
            raise ConversionError(f"two layers are named {layer.name!r}; names must be unique")
        seen[id(layer)] = layer.name
        nodes.append(Node(layer.name, layer.type_name, _params_of(layer)))
        for port, source in enumerate(tensor.inputs):
            edges.append(Edge(source.layer.name, layer.name, port))
    doc = GraphDocument(name or model.name, nodes, edges)
    for node_id, position in auto_layout(doc).items():
        doc.node(node_id).position = position
    return doc


def _params_of(layer) -> dict[str, Any]:
    """The layer's configuration as document params: required values and every value that
    differs from its default, in JSON form (lists, not tuples)."""
    params = {}
    for p in type(layer).params:
        value = layer.config.get(p.name)
        try:
            default = p.coerce(layer.type_name, p.default) if p.default is not None else None
        except ValueError:
            default = p.default
        if p.required or value != default:
            params[p.name] = _jsonable(value)
    if not layer.trainable:  # a frozen layer stays frozen in the document
        params["trainable"] = False
    return params


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value


def model_from_document(doc: GraphDocument):
    """The Functional :class:`engine.Model` of a valid document (raises
    :class:`~engine.graph.compiler.GraphError` listing every problem otherwise)."""
    return build_model(doc, check_graph(doc))


def copy_weights(source, target) -> int:
    """Copy weights between models layer by layer, matched by name; returns how many layers
    were copied. Layers with weights in ``target`` but not in ``source`` are an error."""
    by_name = {layer.name: layer for layer in source.layers}
    copied = 0
    for layer in target.layers:
        if not layer.weights:
            continue
        match = by_name.get(layer.name)
        if match is None:
            raise ConversionError(f"the source model has no layer named {layer.name!r}")
        layer.set_weights(match.get_weights())
        copied += 1
    return copied


def copy_matching_weights(source, target) -> tuple[list[str], list[str]]:
    """Copy weights into the layers of ``target`` that ``source`` has a layer of the same
    name for (Keras's ``load_weights(by_name=True)``): a pre-trained base with a new head.
    Returns ``(copied, kept)``: names of the layers that got ``source``'s weights and of the
    layers with weights that ``source`` lacks, which keep their own. A layer whose weights
    differ in shape from its namesake's is an error."""
    by_name = {layer.name: layer for layer in source.layers}
    copied, kept = [], []
    for layer in target.layers:
        if not layer.weights:
            continue
        match = by_name.get(layer.name)
        if match is None:
            kept.append(layer.name)
            continue
        layer.set_weights(match.get_weights())
        copied.append(layer.name)
    return copied, kept


def auto_layout(doc: GraphDocument) -> dict[str, list[int]]:
    """Positions top to bottom, as the canvas's Auto-arrange lays a graph out
    (:func:`engine.graph.layout.arrange`: longest-path rows, crossings reduced, long graphs
    wrapped into columns so they read at a comfortable zoom). Edges to unknown nodes are
    ignored; an edge that closes a cycle is ignored for the rows."""
    ids = [n.id for n in doc.nodes]
    known = set(ids)
    edges = [(e.source, e.target) for e in doc.edges if e.source in known and e.target in known]
    return {node_id: [int(x), int(y)] for node_id, (x, y) in arrange(ids, edges).items()}
