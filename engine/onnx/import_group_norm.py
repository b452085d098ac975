"""Importers for ``GroupNormalization`` and ``InstanceNormalization`` (both become a
``GroupNormalization`` layer), and the rewrite of the opset-17 pattern PyTorch's exporter
(and ours) writes for group normalisation:

    Reshape(x, [0, G, -1]) -> InstanceNormalization(ones, zeros) -> Reshape(., Shape(x))
        [-> Mul(gamma)] [-> Add(beta)]

becomes one ``GroupNormalization(x, gamma, beta)`` node with ``num_groups = G`` (an empty
``gamma`` / ``beta`` input means the layer has no scale / no offset). The
``GroupNormalization`` operator itself is read with opset 21's meaning (one scale per
channel); ONNX's checker refuses its deprecated opset 18-20 form.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

from engine.onnx.import_errors import Unsupported
from engine.onnx.import_registry import attr, imports


def rewrite_group_norm(index, nodes: list[onnx.NodeProto]) -> list[onnx.NodeProto]:
    """``nodes`` with each group-normalisation pattern replaced by one node; ``index`` is
    :class:`engine.onnx.import_activation_patterns._Index`-like (producer, readers,
    constants)."""
    replaced: dict[int, onnx.NodeProto] = {}
    removed: set[int] = set()
    for norm in nodes:
        if norm.op_type != "InstanceNormalization" or len(norm.input) != 3:
            continue
        found = _match(index, norm)
        if found is None or any(id(n) in removed for n in found[1]):
            continue
        new_node, group = found
        replaced[id(max(group, key=nodes.index))] = new_node
        removed.update(id(n) for n in group)
    if not removed:
        return nodes
    return [replaced.get(id(n), n) for n in nodes if id(n) in replaced or id(n) not in removed]


def _match(index, norm: onnx.NodeProto):
    before = index.private_producer(norm.input[0], "Reshape")
    if before is None:
        return None
    target = index.array(before.input[1])
    scale, bias = index.array(norm.input[1]), index.array(norm.input[2])
    if target is None or scale is None or bias is None:
        return None
    if target.shape != (3,) or int(target[0]) != 0 or int(target[2]) != -1:
        return None
    groups = int(target[1])
    if scale.size != groups or not (np.all(scale == 1) and np.all(bias == 0)):
        return None
    x = before.input[0]
    after = index.only_reader(norm.output[0])
    if after is None or after.op_type != "Reshape":
        return None
    shape_node = index.private_producer(after.input[1], "Shape")
    if shape_node is None or shape_node.input[0] != x or len(shape_node.attribute):
        return None
    group = [before, norm, shape_node, after]
    last, gamma, beta = after, "", ""
    mul = index.only_reader(after.output[0])
    if mul is not None and mul.op_type == "Mul" and _const_operand(index, mul, last):
        gamma = _const_operand(index, mul, last)
        group.append(mul)
        last = mul
    add = index.only_reader(last.output[0])
    if add is not None and add.op_type == "Add" and _const_operand(index, add, last):
        beta = _const_operand(index, add, last)
        group.append(add)
        last = add
    epsilon = float(attr(norm, "epsilon", 1e-5))
    new_node = helper.make_node(
        "GroupNormalization",
        [x, gamma, beta],
        [last.output[0]],
        name=last.name or norm.name,
        num_groups=groups,
        epsilon=epsilon,
    )
    return new_node, group


def _const_operand(index, node: onnx.NodeProto, producer: onnx.NodeProto) -> str | None:
    ins = list(node.input)
    if len(ins) != 2 or producer.output[0] not in ins:
        return None
    other = ins[1] if ins[0] == producer.output[0] else ins[0]
    return other if other in index.consts else None


def _channel_vector(ctx, name: str, what: str, channels: int) -> np.ndarray:
    value = ctx.float_const(name, what).reshape(-1)
    if value.size == channels:
        return value
    if value.size == 1:
        return np.full(channels, float(value[0]), np.float32)
    raise Unsupported(f"{what} has {value.size} values for {channels} channels")


def _normalise_channels(ctx, node, groups_of) -> None:
    sym = ctx.sym(node.input[0])
    if sym.rank < 3 and node.op_type == "InstanceNormalization":
        raise Unsupported("InstanceNormalization of data without spatial axes")
    if sym.rank < 2:
        raise Unsupported(f"{node.op_type} of data without a channel axis")
    axis = sym.engine_axis(1)
    if axis is None or axis == 0:
        raise Unsupported(f"{node.op_type} over an inserted or batch axis")
    channels = sym.onnx_shape[1]
    groups = groups_of(channels)
    if groups <= 0 or channels % groups:
        raise Unsupported(f"{node.op_type} of {channels} channels in {groups} groups")
    has_scale, has_bias = ctx.has_input(node, 1), ctx.has_input(node, 2)
    weights = []
    if has_scale:
        weights.append(_channel_vector(ctx, node.input[1], "scale", channels))
    if has_bias:
        weights.append(_channel_vector(ctx, node.input[2], "bias", channels))
    rank = len(sym.tensor.shape) + 1
    out = ctx.call_layer(
        "GroupNormalization",
        ctx.node_label(node),
        sym,
        weights=weights or None,
        groups=-1 if groups == channels and node.op_type == "InstanceNormalization" else groups,
        axis=-1 if axis == rank - 1 else axis,
        epsilon=float(attr(node, "epsilon", 1e-5)),
        scale=has_scale,
        center=has_bias,
    )
    ctx.set(node.output[0], sym.like(out))


@imports("GroupNormalization")
def import_group_normalization(ctx, node):
    groups = int(attr(node, "num_groups", 0))
    _normalise_channels(ctx, node, lambda channels: groups)


@imports("InstanceNormalization")
def import_instance_normalization(ctx, node):
    _normalise_channels(ctx, node, lambda channels: channels)
