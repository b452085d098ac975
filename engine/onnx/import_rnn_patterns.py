"""Bidirectional recurrent operators and the nodes that merge their two directions.

An ``RNN`` / ``LSTM`` / ``GRU`` with ``direction="bidirectional"`` writes ``Y`` as
``(T, 2, N, H)`` and ``Y_h`` as ``(2, N, H)``: no engine tensor can be seen that way (the
direction axis splits the features), so the group that merges the directions is rewritten,
before the walk, into one ``BidirectionalRecurrent`` node (not an ONNX operator; the name
only lives inside the importer) that :mod:`engine.onnx.import_rnn` turns into one
``Bidirectional`` layer. Recognised groups:

- ours (:mod:`engine.onnx.mappings.wrappers`): ``Y -> Transpose(2, 0, 1, 3) -> Reshape(0, 0,
  -1)`` (concat), or ``-> Gather(0) / Gather(1)`` on the direction axis ``-> Add / Mul``
  (sum, mul; ``ave`` adds ``Mul(0.5)``); ``Y_h -> Transpose(1, 0, 2) -> Reshape(0, -1)``
  or the same ``Gather`` merges;
- PyTorch's ``nn.LSTM/GRU(bidirectional=True, batch_first=True)``: ``Y -> Transpose(0, 2,
  1, 3) -> Reshape(0, 0, -1)``, time-major ``(T, N, 2H)`` (the ``Transpose`` back to batch
  first follows as usual).

A bidirectional node used any other way is left alone, and the walk refuses it by name.
"""

from __future__ import annotations

from collections import defaultdict

import onnx
from onnx import helper

from engine.onnx.import_file import to_array

BIDIRECTIONAL_OP = "BidirectionalRecurrent"


def _ints(node, name):
    for a in node.attribute:
        if a.name == name:
            return list(a.ints)
    return None


def rewrite_bidirectional(graph: onnx.GraphProto, nodes: list) -> list:
    consts = {t.name: t for t in graph.initializer}
    for node in nodes:
        if node.op_type == "Constant" and node.output:
            for a in node.attribute:
                if a.name == "value":
                    consts[node.output[0]] = a.t
    readers: dict[str, list] = defaultdict(list)
    for node in nodes:
        for name in node.input:
            if name:
                readers[name].append(node)
    outputs = {o.name for o in graph.output}

    def only_reader(name: str):
        found = readers.get(name, [])
        return found[0] if len(found) == 1 and name not in outputs else None

    def value(name: str):
        tensor = consts.get(name)
        if tensor is None:
            return None
        try:
            return to_array(tensor)
        except Exception:  # unreadable: the walk reports it
            return None

    def reshape_to(node, target) -> bool:
        shape = value(node.input[1]) if node.op_type == "Reshape" else None
        return shape is not None and shape.reshape(-1).tolist() == target

    def merge_of(source: str, axis: int):
        """(merge mode, removed nodes, output) of ``Gather 0 / Gather 1 -> Add / Mul``."""
        gathers = readers.get(source, [])
        if len(gathers) != 2 or source in outputs:
            return None
        found = {}
        for gather in gathers:
            index = value(gather.input[1]) if gather.op_type == "Gather" else None
            axis_ok = (_attr_int(gather, "axis", 0)) == axis
            if index is None or index.ndim != 0 or not axis_ok:
                return None
            found[int(index)] = gather
        if sorted(found) != [0, 1]:
            return None
        first = only_reader(found[0].output[0])
        if first is None or first is not only_reader(found[1].output[0]):
            return None
        if first.op_type == "Mul":
            return "mul", [found[0], found[1], first], first.output[0]
        if first.op_type != "Add":
            return None
        half = only_reader(first.output[0])
        if half is not None and half.op_type == "Mul":
            other = half.input[1] if half.input[0] == first.output[0] else half.input[0]
            scale = value(other)
            if (
                scale is not None
                and scale.size == 1
                and abs(float(scale.reshape(-1)[0]) - 0.5) < 1e-7
            ):
                return "ave", [found[0], found[1], first, half], half.output[0]
        return "sum", [found[0], found[1], first], first.output[0]

    def match_sequences(y: str):
        """(merge, layout, removed, output) for the every-step output ``Y``."""
        transpose = only_reader(y)
        if transpose is None or transpose.op_type != "Transpose":
            return None
        perm = _ints(transpose, "perm")
        if perm == [2, 0, 1, 3]:  # ours: (N, T, 2, H)
            reshape = only_reader(transpose.output[0])
            if reshape is not None and reshape_to(reshape, [0, 0, -1]):
                return "concat", 0, [transpose, reshape], reshape.output[0]
            merged = merge_of(transpose.output[0], 2)
            if merged:
                return merged[0], 0, [transpose, *merged[1]], merged[2]
        if perm == [0, 2, 1, 3]:  # PyTorch: (T, N, 2, H)
            reshape = only_reader(transpose.output[0])
            if reshape is not None and reshape_to(reshape, [0, 0, -1]):
                return "concat", 1, [transpose, reshape], reshape.output[0]
        return None

    def match_last(y_h: str):
        transpose = only_reader(y_h)
        if transpose is None or transpose.op_type != "Transpose":
            return None
        if _ints(transpose, "perm") != [1, 0, 2]:
            return None
        reshape = only_reader(transpose.output[0])
        if reshape is not None and reshape_to(reshape, [0, -1]):
            return "concat", 0, [transpose, reshape], reshape.output[0]
        merged = merge_of(transpose.output[0], 1)
        if merged:
            return merged[0], 0, [transpose, *merged[1]], merged[2]
        return None

    replaced: dict[int, onnx.NodeProto] = {}
    removed: set[int] = set()
    for node in nodes:
        if node.op_type not in ("RNN", "LSTM", "GRU") or node.domain not in ("", "ai.onnx"):
            continue
        if _attr_str(node, "direction") != "bidirectional":
            continue
        outs = list(node.output) + ["", "", ""]
        used = [bool(outs[i]) and (outs[i] in outputs or readers.get(outs[i])) for i in range(3)]
        if used[2] or used[0] == used[1]:  # Y_c read, or both / neither of Y and Y_h
            continue
        match = match_sequences(outs[0]) if used[0] else match_last(outs[1])
        if match is None:
            continue
        merge, layout, group, output = match
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in attrs.items()}
        attrs.update(cell=node.op_type, merge_mode=merge, sequence_layout=layout)
        attrs["return_sequences"] = int(bool(used[0]))
        fused = helper.make_node(
            BIDIRECTIONAL_OP, list(node.input), [output], name=node.name, **attrs
        )
        replaced[id(group[-1])] = fused
        removed.update(id(n) for n in group[:-1])
        removed.add(id(node))
    if not replaced:
        return nodes
    result = []
    for node in nodes:
        if id(node) in replaced:
            result.append(replaced[id(node)])
        elif id(node) not in removed:
            result.append(node)
    return result


def _attr_int(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return int(a.i)
    return default


def _attr_str(node, name):
    for a in node.attribute:
        if a.name == name:
            return a.s.decode() if isinstance(a.s, bytes) else a.s
    return "forward"
