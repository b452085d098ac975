"""From a valid graph document to a trainable :class:`engine.Model`."""

from __future__ import annotations

from typing import Any

from engine.graph.checker import check_graph
from engine.graph.document import GraphDocument
from engine.graph.results import CheckResult, GraphError

__all__ = ["build_model"]


def build_model(doc: GraphDocument, result: CheckResult | None = None):
    """The trainable :class:`engine.Model` of a valid document (node ids become layer
    names); raises :class:`GraphError` with every diagnostic if the document has errors.
    A node's ``"trainable": false`` (beside its schema's params) freezes that layer.
    Block nodes are expanded: the layers inside block ``res1`` are named ``res1.conv1``, so
    a block compiles to exactly the model its expanded form gives."""
    import engine  # noqa: PLC0415
    from engine.layers.base import Input  # noqa: PLC0415

    result = result if result is not None else check_graph(doc)
    if not result.ok:
        raise GraphError(result)
    name = doc.name
    if result.flat is not None:  # blocks: build the expanded graph (layers 'block.inner')
        doc, result = result.expanded.flat, result.flat
    tensors: dict[str, Any] = {}
    for node_id in result.order:
        node = doc.node(node_id)
        cls = _registry()[node.type]
        if cls.max_inputs == 0:
            config = cls(**node.params, name=node_id).config
            tensors[node_id] = Input(config["shape"], name=node_id, dtype=config["dtype"])
            continue
        layer = cls(**node.params, name=node_id)
        args = [tensors[e.source] for e in result.incoming.get(node_id, [])]
        tensors[node_id] = layer(args[0] if cls.max_inputs == 1 else args)
    inputs = [tensors[n] for n in result.inputs]
    outputs = [tensors[n] for n in result.outputs]
    return engine.Model(
        inputs=inputs[0] if len(inputs) == 1 else inputs,
        outputs=outputs[0] if len(outputs) == 1 else outputs,
        name=name,
    )


def _registry() -> dict[str, type]:
    from engine.layers.base import LAYER_TYPES  # noqa: PLC0415

    return LAYER_TYPES
