"""Import of ``TimeDistributed`` from the ``Reshape`` / inner layer / ``Reshape`` it exports as.

:mod:`engine.onnx.mappings.wrappers` folds time into the batch (``Reshape`` to
``(-1, *step_shape)``), writes the wrapped layer's nodes, and unfolds (``Reshape`` to
``(-1, T, *step_output_shape)``). Before the walk such a group, whose inner nodes read
nothing from outside but constants and feed nothing outside, becomes one
``TimeDistributedGroup`` node (a name that only lives inside the importer) carrying the
inner nodes as a graph attribute. Importing it imports that small graph on its own, per
step: when it is exactly one layer of a type ``TimeDistributed`` wraps, that layer, with
its weights, becomes the wrapped layer; otherwise the import is refused naming the node.
"""

from __future__ import annotations

from collections import defaultdict

import onnx
from onnx import helper

from engine.layers.wrappers import DISTRIBUTED_TYPES
from engine.onnx.import_errors import OnnxImportError, Unsupported
from engine.onnx.import_file import to_array
from engine.onnx.import_registry import attr, imports
from engine.onnx.import_values import Sym

DISTRIBUTED_OP = "TimeDistributedGroup"
MAX_INNER_NODES = 16  # an exported layer is a few nodes; a longer chain is something else


def rewrite_time_distributed(graph: onnx.GraphProto, nodes: list) -> list:
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

    def shape_of(node):
        if node.op_type != "Reshape" or node.input[1] not in consts:
            return None
        try:
            return to_array(consts[node.input[1]]).reshape(-1).tolist()
        except Exception:  # unreadable: the walk reports it
            return None

    def is_unfold(node) -> bool:
        target = shape_of(node)
        return bool(target) and len(target) >= 2 and target[0] == -1

    replaced, removed = {}, set()
    for fold in nodes:
        step_shape = shape_of(fold)
        if not step_shape or step_shape[0] != -1 or id(fold) in removed:
            continue
        # Every node downstream of the fold up to the unfolding Reshape(-1, T, ...).
        group, seen, frontier, unfolds = [], set(), [fold.output[0]], set()
        while frontier and len(group) <= MAX_INNER_NODES:
            for reader in readers.get(frontier.pop(), []):
                if is_unfold(reader):
                    unfolds.add(id(reader))
                    unfold = reader
                elif id(reader) not in seen:
                    seen.add(id(reader))
                    group.append(reader)
                    frontier.extend(o for o in reader.output if o)
        if len(unfolds) != 1 or not group or len(group) > MAX_INNER_NODES:
            continue
        made = {o for n in group for o in n.output if o} | {fold.output[0]}
        reads_outside = any(
            name and name not in made and name not in consts for n in group for name in n.input
        )
        leaks = any(
            o in outputs or any(id(r) not in seen and r is not unfold for r in readers.get(o, []))
            for o in made
        )
        if reads_outside or leaks or unfold.input[0] not in made or fold.output[0] in outputs:
            continue
        inner_consts = sorted(
            {name for n in group for name in n.input if name in consts and name not in made}
        )
        step_out = [int(v) for v in shape_of(unfold)[2:]]
        body = helper.make_graph(
            group,
            f"{fold.name or 'fold'}_step",
            [_value_info(fold.output[0], step_shape[1:])],
            [_value_info(unfold.input[0], step_out)],
            [_named(consts[name], name) for name in inner_consts],
        )
        fused = helper.make_node(
            DISTRIBUTED_OP,
            [fold.input[0]],
            [unfold.output[0]],
            name=fold.name,
            body=body,
            steps=int(shape_of(unfold)[1]),
            step_shape=[int(v) for v in step_shape[1:]],
        )
        replaced[id(unfold)] = fused
        removed.update(id(n) for n in [fold, *group])
    if not replaced:
        return nodes
    return [replaced.get(id(n), n) for n in nodes if id(n) not in removed]


def _value_info(name: str, step_shape) -> onnx.ValueInfoProto:
    dims = ["batch", *(int(v) for v in step_shape)]
    return helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, dims)


def _named(tensor: onnx.TensorProto, name: str) -> onnx.TensorProto:
    copy = onnx.TensorProto()
    copy.CopyFrom(tensor)
    copy.name = name
    return copy


@imports(DISTRIBUTED_OP)
def import_time_distributed(ctx, node):
    from engine.onnx.importer import import_model  # noqa: PLC0415 - the importer imports us

    sym = ctx.plain(node.input[0], "the sequence")
    steps, step_shape = int(attr(node, "steps")), tuple(attr(node, "step_shape"))
    if tuple(sym.tensor.shape) != (steps, *step_shape):
        raise Unsupported(
            f"a fold of {tuple(sym.tensor.shape)} into steps of {step_shape} and back to "
            f"{steps} steps"
        )
    body = attr(node, "body")
    proto = helper.make_model(body, opset_imports=[helper.make_opsetid("", ctx.opset)])
    proto.ir_version = ctx.proto.ir_version
    try:
        inner = [x for x in import_model(proto).model.layers if x.type_name != "Input"]
    except OnnxImportError as exc:
        raise Unsupported(f"a per-step graph that does not import on its own ({exc})") from None
    if len(inner) != 1 or inner[0].type_name not in DISTRIBUTED_TYPES:
        kinds = ", ".join(x.type_name for x in inner) or "nothing"
        raise Unsupported(f"a per-step graph of {kinds} (TimeDistributed wraps one layer)")
    layer = inner[0]
    config = {k: v for k, v in layer.get_config().items() if k not in ("name", "trainable")}
    out = ctx.call_layer(
        "TimeDistributed",
        ctx.node_label(node),
        sym,
        weights=layer.get_weights(),
        layer=layer.type_name,
        **config,
    )
    ctx.set(node.output[0], Sym(out))
