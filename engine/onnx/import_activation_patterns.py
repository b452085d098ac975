"""Activation formulas rewritten to the one ONNX operator they stand for, before the walk.

Opset 17 has no ``Swish``, ``Mish`` (opset 18) or tanh ``Gelu`` (opset 20), so exporters
(ours, PyTorch's) write their formulas:

- SiLU: ``Mul(x, Sigmoid(x))``  -> ``Swish(x)`` (ONNX 24's operator, alpha 1);
- Keras's ``ReLU`` with a slope and a threshold (our exporter's formula):
  ``Min(Where(x >= t, x, (x - t) * slope), max_value)``  -> a ``Relu`` node carrying
  ``negative_slope`` / ``threshold`` / ``max_value`` attributes (read by
  :mod:`engine.onnx.import_activation`; the node never leaves the importer);
- Softsign (PyTorch's): ``Div(x, Add(Abs(x), 1))``  -> ``Softsign(x)``;
- Mish: ``Mul(x, Tanh(Softplus(x)))``  -> ``Mish(x)``;
- GELU (tanh): ``0.5 * x * (1 + Tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))``  ->
  ``Gelu(x, approximate="tanh")``, with the cube as ``x * (x * x)``, ``(x * x) * x`` or
  ``Pow(x, 3)`` and the halving before or after.

A group is only rewritten when its intermediate results are read by nothing else; the
operator node takes the place of the group's last node (the erf form of GELU is
:mod:`engine.onnx.import_patterns`' job, group normalisation
:mod:`engine.onnx.import_group_norm`'s, run first).
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import onnx
from onnx import helper

from engine.onnx.import_file import to_array
from engine.onnx.import_group_norm import rewrite_group_norm

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


class _Index:
    """Who produces and who reads each tensor, and the scalar constants."""

    def __init__(self, graph: onnx.GraphProto, nodes: list[onnx.NodeProto]):
        self.consts = {t.name: t for t in graph.initializer}
        for node in nodes:
            if node.op_type == "Constant" and node.output:
                for a in node.attribute:
                    if a.name == "value":
                        self.consts[node.output[0]] = a.t
        self.producer = {out: node for node in nodes for out in node.output if out}
        self.readers: dict[str, list[onnx.NodeProto]] = defaultdict(list)
        for node in nodes:
            for name in node.input:
                if name:
                    self.readers[name].append(node)
        self.outputs = {o.name for o in graph.output}

    def array(self, name: str, max_size: int = 4096) -> np.ndarray | None:
        """A small constant's value (None if not a constant, too large or unreadable)."""
        tensor = self.consts.get(name)
        if tensor is None or math.prod(tensor.dims) > max_size:
            return None
        try:
            return np.asarray(to_array(tensor))
        except Exception:  # unreadable data: reported when the walk reads it
            return None

    def scalar(self, name: str) -> float | None:
        value = self.array(name, max_size=1)
        return float(value.reshape(-1)[0]) if value is not None and value.size == 1 else None

    def near(self, name: str | None, target: float) -> bool:
        value = None if name is None else self.scalar(name)
        return value is not None and abs(value - target) <= 1e-4 * abs(target)

    def only_reader(self, name: str) -> onnx.NodeProto | None:
        found = self.readers.get(name, [])
        return found[0] if len(found) == 1 and name not in self.outputs else None

    def private_producer(self, name: str, op_type: str) -> onnx.NodeProto | None:
        """The node of ``op_type`` making ``name`` when only one node reads ``name``."""
        node = self.producer.get(name)
        if node is None or node.op_type != op_type or self.only_reader(name) is None:
            return None
        return node


def _other(node: onnx.NodeProto, name: str) -> str | None:
    ins = list(node.input)
    if len(ins) != 2 or name not in ins:
        return None
    return ins[1] if ins[0] == name else ins[0]


def _scaled(index: _Index, name: str, factor: float) -> tuple[str, onnx.NodeProto] | None:
    """``name = Mul(factor, y)`` (either order, privately): ``(y, the Mul)``."""
    node = index.private_producer(name, "Mul")
    if node is None or len(node.input) != 2:
        return None
    for i in (0, 1):
        if index.near(node.input[i], factor):
            return node.input[1 - i], node
    return None


def _cube_of(index: _Index, name: str, x: str) -> list[onnx.NodeProto] | None:
    """The nodes computing ``name = x ** 3`` privately, or None."""
    node = index.private_producer(name, "Pow")
    if node is not None:
        return [node] if node.input[0] == x and index.near(node.input[1], 3.0) else None
    node = index.private_producer(name, "Mul")
    if node is None or x not in node.input:
        return None
    square_name = _other(node, x)
    square = index.private_producer(square_name, "Mul") if square_name else None
    if square is None or list(square.input) != [x, x]:
        return None
    return [square, node]


def _gelu_tanh(index: _Index, tanh: onnx.NodeProto):
    """``(x, group, output)`` when ``tanh`` is the middle of a tanh-form GELU."""
    scaled = _scaled(index, tanh.input[0], _SQRT_2_OVER_PI)
    if scaled is None:
        return None
    inner_name, scale_node = scaled
    inner = index.private_producer(inner_name, "Add")
    if inner is None or len(inner.input) != 2:
        return None
    for x, term in (tuple(inner.input), tuple(reversed(inner.input))):
        cubic = _scaled(index, term, 0.044715)
        cube = _cube_of(index, cubic[0], x) if cubic else None
        if cube is not None:
            break
    else:
        return None
    group = [*cube, cubic[1], inner, scale_node, tanh]
    one_plus = index.only_reader(tanh.output[0])
    if one_plus is None or one_plus.op_type != "Add":
        return None
    if not index.near(_other(one_plus, tanh.output[0]), 1.0):
        return None
    group.append(one_plus)
    first = index.only_reader(one_plus.output[0])
    if first is None or first.op_type != "Mul":
        return None
    partner = _other(first, one_plus.output[0])
    group.append(first)
    if partner == x or index.near(partner, 0.5):  # (x * p) * 0.5 or (0.5 * p) * x
        last = index.only_reader(first.output[0])
        wanted = 0.5 if partner == x else None
        if last is None or last.op_type != "Mul":
            return None
        rest = _other(last, first.output[0])
        if (wanted is not None and not index.near(rest, wanted)) or (wanted is None and rest != x):
            return None
        group.append(last)
        return x, group, last
    half = _scaled(index, partner, 0.5)  # (0.5 * x) * p
    if half is None or half[0] != x:
        return None
    group.append(half[1])
    return x, group, first


def _swish_or_mish(index: _Index, mul: onnx.NodeProto):
    """``(op, x, group)`` when ``mul`` is ``x * Sigmoid(x)`` or ``x * Tanh(Softplus(x))``."""
    if len(mul.input) != 2:
        return None
    for x, gate_name in (tuple(mul.input), tuple(reversed(mul.input))):
        sigmoid = index.private_producer(gate_name, "Sigmoid")
        if sigmoid is not None and sigmoid.input[0] == x:
            return "Swish", x, [sigmoid, mul]
        tanh = index.private_producer(gate_name, "Tanh")
        softplus = index.private_producer(tanh.input[0], "Softplus") if tanh else None
        if softplus is not None and softplus.input[0] == x:
            return "Mish", x, [softplus, tanh, mul]
    return None


def _softsign(index: _Index, div: onnx.NodeProto):
    """``(x, group)`` when ``div`` is ``x / (1 + |x|)``."""
    if len(div.input) != 2:
        return None
    x = div.input[0]
    add = index.private_producer(div.input[1], "Add")
    if add is None or len(add.input) != 2:
        return None
    for abs_name, one in (tuple(add.input), tuple(reversed(add.input))):
        absolute = index.private_producer(abs_name, "Abs")
        if absolute is not None and absolute.input[0] == x and index.near(one, 1.0):
            return x, [absolute, add, div]
    return None


def _relu_formula(index: _Index, where: onnx.NodeProto):
    """``(x, group, last, attributes)`` for ``[Min(]Where(x >= t, x, (x - t) * s)[, m)]``."""
    if len(where.input) != 3:
        return None
    cond, x, damped = where.input
    compare = index.private_producer(cond, "GreaterOrEqual")
    if compare is None or compare.input[0] != x:
        return None
    threshold = index.scalar(compare.input[1])
    scaled = index.private_producer(damped, "Mul")
    if threshold is None or scaled is None or len(scaled.input) != 2:
        return None
    for shifted_name, slope_name in (tuple(scaled.input), tuple(reversed(scaled.input))):
        shifted = index.private_producer(shifted_name, "Sub")
        slope = index.scalar(slope_name)
        if (
            shifted is not None
            and slope is not None
            and shifted.input[0] == x
            and index.scalar(shifted.input[1]) == threshold
        ):
            break
    else:
        return None
    group = [compare, shifted, scaled, where]
    attributes = {"negative_slope": slope, "threshold": threshold}
    last = where
    cap = index.only_reader(where.output[0])
    if cap is not None and cap.op_type == "Min" and len(cap.input) == 2:
        ceiling = index.scalar(_other(cap, where.output[0]) or "")
        if ceiling is not None:
            group.append(cap)
            attributes["max_value"] = ceiling
            last = cap
    return x, group, last, attributes


def rewrite_activation_patterns(graph: onnx.GraphProto, nodes: list[onnx.NodeProto]):
    """``nodes`` with each recognised formula replaced by its operator node."""
    index = _Index(graph, nodes)
    nodes = rewrite_group_norm(index, nodes)
    index = _Index(graph, nodes)
    replaced: dict[int, onnx.NodeProto] = {}
    removed: set[int] = set()

    def take(group, new_node) -> None:
        if any(id(n) in removed for n in group):
            return
        position = max(nodes.index(n) for n in group)
        replaced[id(nodes[position])] = new_node
        removed.update(id(n) for n in group)

    for node in nodes:
        if id(node) in removed:
            continue
        if node.op_type == "Tanh":
            found = _gelu_tanh(index, node)
            if found is not None:
                x, group, last = found
                gelu = helper.make_node(
                    "Gelu", [x], [last.output[0]], name=last.name, approximate="tanh"
                )
                take(group, gelu)
        elif node.op_type == "Where":
            found = _relu_formula(index, node)
            if found is not None:
                x, group, last, attributes = found
                relu = helper.make_node("Relu", [x], [last.output[0]], name=last.name, **attributes)
                take(group, relu)
        elif node.op_type == "Div":
            found = _softsign(index, node)
            if found is not None:
                x, group = found
                take(group, helper.make_node("Softsign", [x], [node.output[0]], name=node.name))
        elif node.op_type == "Mul":
            found = _swish_or_mish(index, node)
            if found is not None:
                op, x, group = found
                take(group, helper.make_node(op, [x], [node.output[0]], name=node.name))
    if not removed:
        return nodes
    result = []
    for node in nodes:
        if id(node) in replaced:
            result.append(replaced[id(node)])
        elif id(node) not in removed:
            result.append(node)
    return result
