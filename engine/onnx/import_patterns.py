"""Multi-node patterns that stand for one operator, rewritten before the walk.

Before opset 20 ONNX has no ``Gelu``; exporters (ours, PyTorch's) write the exact formula
``x * 0.5 * (1 + erf(x / sqrt(2)))`` as five nodes. Those groups are replaced by one
``Gelu`` node here, placed where the group's last node was, so the walk sees the operator.
A group is only recognised when its intermediate results are used by nothing else.
The other activation formulas (SiLU, Mish, tanh GELU, ...) and group normalisation are
rewritten afterwards by :mod:`engine.onnx.import_activation_patterns`.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import onnx
from onnx import helper

from engine.onnx.import_activation_patterns import rewrite_activation_patterns
from engine.onnx.import_attention import rewrite_attention
from engine.onnx.import_file import to_array
from engine.onnx.import_rnn_patterns import rewrite_bidirectional
from engine.onnx.import_wrappers import rewrite_time_distributed


def _constants(graph: onnx.GraphProto, nodes) -> dict[str, np.ndarray]:
    values = {t.name: t for t in graph.initializer}
    for node in nodes:
        if node.op_type == "Constant" and node.output:
            for a in node.attribute:
                if a.name == "value":
                    values[node.output[0]] = a.t
    return values


def rewrite_patterns(ctx, nodes: list[onnx.NodeProto]) -> list[onnx.NodeProto]:
    graph = ctx.graph
    consts = _constants(graph, nodes)
    producer = {out: node for node in nodes for out in node.output if out}
    readers: dict[str, list[onnx.NodeProto]] = defaultdict(list)
    for node in nodes:
        for name in node.input:
            if name:
                readers[name].append(node)
    outputs = {o.name for o in graph.output}

    def scalar(name: str) -> float | None:
        tensor = consts.get(name)
        if tensor is None or math.prod(tensor.dims) != 1:  # not a scalar: never converted
            return None
        try:
            value = to_array(tensor)
        except Exception:  # unreadable data: reported when the walk reads it
            return None
        return float(value.reshape(-1)[0]) if value.size == 1 else None

    def only_reader(name: str) -> onnx.NodeProto | None:
        found = readers.get(name, [])
        return found[0] if len(found) == 1 and name not in outputs else None

    def other(node: onnx.NodeProto, name: str) -> str | None:
        ins = list(node.input)
        if len(ins) != 2 or name not in ins:
            return None
        return ins[1] if ins[0] == name else ins[0]

    def near(value: float | None, target: float) -> bool:
        return value is not None and abs(value - target) <= 1e-4 * abs(target)

    replaced: dict[int, onnx.NodeProto] = {}  # id(last node of a group) -> Gelu node
    removed: set[int] = set()
    for erf in nodes:
        if erf.op_type != "Erf" or id(erf) in removed:
            continue
        scale = producer.get(erf.input[0])
        if scale is None or only_reader(scale.output[0]) is not erf:
            continue
        divides = scale.op_type == "Div" and near(scalar(scale.input[1]), math.sqrt(2.0))
        multiplies = scale.op_type == "Mul" and near(scalar(scale.input[1]), math.sqrt(0.5))
        if divides or multiplies:
            x = scale.input[0]
        elif scale.op_type == "Mul" and near(scalar(scale.input[0]), math.sqrt(0.5)):
            x = scale.input[1]
        else:
            continue
        add = only_reader(erf.output[0])
        if add is None or add.op_type != "Add" or not near(scalar(other(add, erf.output[0])), 1):
            continue
        first = only_reader(add.output[0])
        if first is None or first.op_type != "Mul":
            continue
        partner = other(first, add.output[0])
        group = [scale, erf, add, first]
        if partner == x:  # x * (1 + erf) * 0.5
            last = only_reader(first.output[0])
            if last is None or last.op_type != "Mul":
                continue
            if not near(scalar(other(last, first.output[0])), 0.5):
                continue
            group.append(last)
        elif near(scalar(partner), 0.5):  # (1 + erf) * 0.5 * x
            last = only_reader(first.output[0])
            if last is None or last.op_type != "Mul" or other(last, first.output[0]) != x:
                continue
            group.append(last)
        else:  # (x * 0.5) * (1 + erf)
            half = producer.get(partner)
            if half is None or half.op_type != "Mul" or only_reader(partner) is not first:
                continue
            if other(half, x) is None or not near(scalar(other(half, x)), 0.5):
                continue
            last = first
            group.append(half)
        final = last.output[0]
        position = max(nodes.index(n) for n in group)
        gelu = helper.make_node("Gelu", [x], [final], name=last.name or scale.name)
        replaced[id(nodes[position])] = gelu
        removed.update(id(n) for n in group)

    result = []
    for node in nodes:
        if id(node) in replaced:
            result.append(replaced[id(node)])
        elif id(node) not in removed:
            result.append(node)
    result = rewrite_activation_patterns(graph, result)
    result = rewrite_attention(graph, rewrite_bidirectional(graph, result))
    return rewrite_time_distributed(graph, result)
