"""The order in which Keras lists the layers of a Functional model it builds from a config.

Keras's weights file names each layer's group by class and position (``layers/dense``,
``layers/dense_1``, ...), in the order of ``model.layers`` *after* loading, which Keras
computes from the graph (``keras/src/ops/function.py``, ``map_graph``): a depth-first walk
from the outputs numbers each layer the first time it is met, every node gets a depth (0 at
the outputs, one more than the deepest node it feeds), and layers are sorted by depth
(deepest first), ties broken by that number. An exporter must write the groups in the same
order, or two layers of one class would swap weights; this is that algorithm, for graphs
where each layer is called once (as in a graph document).
"""

from __future__ import annotations

__all__ = ["keras_layer_order"]


def keras_layer_order(inputs_of: dict[str, list[str]], outputs: list[str]) -> list[str]:
    """Layer names in Keras's ``model.layers`` order. ``inputs_of[name]`` lists the layers
    each layer reads, in argument order; Input layers read nothing."""
    index: dict[str, int] = {}
    finished: set[str] = set()
    post_order: list[str] = []

    def visit(name: str) -> None:
        # Iterative depth-first walk: graphs can be deeper than Python's recursion limit.
        stack = [(name, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                finished.add(node)
                post_order.append(node)
                continue
            if node in finished:
                continue
            if node not in index:
                index[node] = len(index)
            stack.append((node, True))
            for source in reversed(inputs_of.get(node, [])):
                if source not in finished:
                    stack.append((source, False))

    for output in outputs:
        visit(output)
    depth: dict[str, int] = {}
    for node in reversed(post_order):
        d = depth.setdefault(node, 0)
        for source in inputs_of.get(node, []):
            depth[source] = max(depth.get(source, 0), d + 1)
    return sorted(depth, key=lambda n: (-depth[n], index[n]))
