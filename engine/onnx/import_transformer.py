"""PyTorch's ``nn.MultiheadAttention`` (as ``nn.TransformerEncoderLayer`` uses it), found in
an exported graph and replaced by one node before the walk.

``torch.onnx.export`` writes a self-attention block as about a hundred nodes: the packed
``in_proj`` ``MatMul`` (+ ``Add`` of ``in_proj_bias``), a ``Reshape`` / ``Unsqueeze`` /
``Transpose`` / ``Squeeze`` / ``Gather`` split into query, key and value, per-head
``Reshape`` / ``Transpose`` on a ``(steps, batch, features)`` layout, the scale computed
at run time (``Shape -> Slice -> Cast -> Sqrt -> Div -> Sqrt``, multiplied into queries and
keys), ``MatMul`` / ``Softmax`` / ``MatMul``, the heads merged back and the ``out_proj``
``Gemm``, plus the ``Shape`` / ``Gather`` / ``Concat`` arithmetic feeding every ``Reshape``.
No single one of those nodes has a layer equivalent, so the block is recognised as a whole:

- by structure, from each ``Softmax``: the ``MatMul`` that makes its scores and the one
  that reads its probabilities; query, key and value each traced back through
  single-data-input nodes to a projection (``MatMul`` or ``Gemm`` with a constant weight),
  all reading one source tensor (self-attention); forward from the probabilities through
  ``Transpose`` / ``Reshape`` to the output projection and its trailing ``Reshape``;
- the group is every node that computes the block's output from the source and constants.
  Node scope names (``/encoder/layers.0/self_attn/...``) only name the new node.

The group becomes one ``TorchSelfAttention`` node (a name that only lives inside the
importer) carrying the group itself as a subgraph and the projection weights. Its importer
(:mod:`engine.onnx.import_transformer_layer`) runs the subgraph once on random data with
ONNX's reference implementation and accepts it only if ``MultiHeadAttention`` with those
weights gives the same numbers, which also fixes the number of heads, the causal mask and
which axis the attention runs along. A block that reads other data (a mask given as a graph
input or computed from the model's input) becomes the same node carrying the reason, so
the walk refuses it by name instead of at its first ``Sqrt``.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import onnx
from onnx import helper, numpy_helper

from engine.onnx.import_file import to_array

TORCH_ATTENTION_OP = "TorchSelfAttention"
MAX_GROUP_NODES = 1000  # a block is ~100 nodes; past this it is not one block
MAX_TRACE = 64  # nodes followed along one query / key / value path

# Nodes a query, key or value passes through between its projection and the scores: one
# data input each (the others constants or shape arithmetic).
PASS_THROUGH = frozenset(
    {
        "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Gather", "Slice", "Split",
        "Mul", "Div", "Add", "Sub", "Identity", "Cast", "Flatten",
    }
)  # fmt: skip


class _Index:
    """Who makes and who reads each tensor, and which tensors are known without data
    (initializers, ``Constant``, shape arithmetic)."""

    def __init__(self, graph: onnx.GraphProto, nodes: list):
        self.nodes = nodes
        self.inits = {t.name: t for t in graph.initializer}
        self.outputs = {o.name for o in graph.output}
        self.producer: dict[str, onnx.NodeProto] = {}
        self.position: dict[int, int] = {}
        self.readers: dict[str, list] = defaultdict(list)
        self.static: set[str] = set(self.inits)
        for i, node in enumerate(nodes):
            self.position[id(node)] = i
            ins = [n for n in node.input if n]
            for name in ins:
                self.readers[name].append(node)
            # Shape and Size read only a tensor's size: what follows is shape arithmetic.
            known = node.op_type in ("Shape", "Size") or all(n in self.static for n in ins)
            for out in node.output:
                if out:
                    self.producer[out] = node
                    if known:
                        self.static.add(out)

    def data_inputs(self, node) -> list[str]:
        return [n for n in node.input if n and n not in self.static]

    def only_reader(self, name: str):
        found = self.readers.get(name, [])
        return found[0] if len(found) == 1 and name not in self.outputs else None

    def data_reader(self, name: str):
        """The one node reading ``name`` as data (``Shape`` / ``Size`` read only its size)."""
        found = [r for r in self.readers.get(name, []) if r.op_type not in ("Shape", "Size")]
        return found[0] if len(found) == 1 and name not in self.outputs else None

    def constant(self, name: str) -> np.ndarray | None:
        """The value of a weight: an initializer, a ``Constant`` or an ``Identity`` of one."""
        for _ in range(8):
            if name in self.inits:
                try:
                    return to_array(self.inits[name])
                except Exception:  # unreadable: the walk reports it
                    return None
            node = self.producer.get(name)
            if node is None:
                return None
            if node.op_type == "Identity":
                name = node.input[0]
                continue
            if node.op_type == "Constant":
                for a in node.attribute:
                    if a.name == "value":
                        return numpy_helper.to_array(a.t)
            return None
        return None


def _projection(index: _Index, node) -> tuple[np.ndarray, np.ndarray | None, object] | None:
    """``(kernel (in, out) for x @ kernel, bias or None, last node)`` of a projection."""
    if node.op_type == "Gemm":
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0:
            return None
        kernel = index.constant(node.input[1])
        if kernel is None or kernel.ndim != 2:
            return None
        kernel = kernel.T if attrs.get("transB", 0) else kernel
        bias = None
        if len(node.input) > 2 and node.input[2]:
            bias = index.constant(node.input[2])
            if bias is None or attrs.get("beta", 1.0) != 1.0:
                return None
        return kernel, bias, node
    kernel = index.constant(node.input[1])
    if kernel is None or kernel.ndim != 2:
        return None
    add = index.data_reader(node.output[0])
    if add is not None and add.op_type == "Add":
        other = add.input[1] if add.input[0] == node.output[0] else add.input[0]
        bias = index.constant(other)
        if bias is not None and bias.size == kernel.shape[1]:
            return kernel, bias.reshape(-1), add
    return kernel, None, node


def _trace_to_projection(index: _Index, name: str):
    """The projection node a query / key / value path starts from, or None."""
    for _ in range(MAX_TRACE):
        node = index.producer.get(name)
        if node is None:
            return None
        data = index.data_inputs(node)
        if node.op_type in ("MatMul", "Gemm") and data == [node.input[0]]:
            return node
        if node.op_type not in PASS_THROUGH or len(data) != 1:
            return None
        name = data[0]
    return None


def _scores_product(index: _Index, softmax):
    """``(MatMul of queries and keys, mask node or None)`` feeding ``softmax``."""
    name, mask = softmax.input[0], None
    for _ in range(8):
        node = index.producer.get(name)
        if node is None:
            return None, None
        data = index.data_inputs(node)
        if node.op_type == "MatMul" and len(data) == 2:
            return node, mask
        if node.op_type in ("Add", "Where") and len(data) == 2:
            # A mask computed from data: follow the operand the scores come from.
            made = [index.producer.get(n) for n in data]
            scores = [n for n, p in zip(data, made, strict=True) if p and p.op_type == "MatMul"]
            if len(scores) != 1:
                return None, None
            name, mask = scores[0], node
            continue
        if len(data) != 1:
            return None, None
        if node.op_type in ("Add", "Where", "Sub") and mask is None:
            mask = node
        name = data[0]
    return None, None


def _output_end(index: _Index, attend):
    """``(out projection (kernel, bias, node), last node of the block)`` after ``attend``."""
    name = attend.output[0]
    for _ in range(8):
        node = index.data_reader(name)
        if node is None:
            return None
        if node.op_type in ("Transpose", "Reshape"):
            name = node.output[0]
            continue
        if node.op_type in ("Gemm", "MatMul") and index.data_inputs(node) == [name]:
            projection = _projection(index, node)
            if projection is None:
                return None
            end = projection[2]
            nxt = index.data_reader(end.output[0])
            while nxt is not None and nxt.op_type == "Reshape" and nxt.input[0] == end.output[0]:
                end = nxt
                nxt = index.data_reader(end.output[0])
            return projection, end
        return None
    return None


def _split(kernels: dict, bias: dict, roles: dict, index: _Index) -> bool:
    """Fill ``kernels`` / ``bias`` per role (query, key, value) from the projection nodes;
    a packed ``in_proj`` is split in thirds, PyTorch's order (q, k, v)."""
    nodes = {id(n): n for n in roles.values()}
    if len(nodes) == 1:
        projection = _projection(index, roles["query"])
        if projection is None or projection[0].shape[1] % 3:
            return False
        kernel, b, _ = projection
        width = kernel.shape[1] // 3
        for i, role in enumerate(("query", "key", "value")):
            kernels[role] = kernel[:, i * width : (i + 1) * width]
            bias[role] = None if b is None else b[i * width : (i + 1) * width]
        return True
    if len(nodes) != 3:
        return False
    for role, node in roles.items():
        projection = _projection(index, node)
        if projection is None:
            return False
        kernels[role], bias[role] = projection[0], projection[1]
    return True


def _group(index: _Index, end, source: str, limit: int):
    """Every node computing ``end``'s output from ``source`` and constants (graph order),
    and the data tensors it reads besides ``source`` (a mask from elsewhere)."""
    descendants = {source}
    last = index.position[id(end)]
    for node in index.nodes[: last + 1]:
        if any(n in descendants for n in node.input if n):
            descendants.update(o for o in node.output if o)
    found, extras, sized, stack = {}, [], [], [end]
    while stack:
        node = stack.pop()
        if id(node) in found:
            continue
        found[id(node)] = node
        if len(found) > limit:
            return None, None, None
        for name in node.input:
            if not name or name == source or name in index.inits:
                continue
            producer = index.producer.get(name)
            if name not in index.static and (producer is None or name not in descendants):
                # Data that does not come from the source: only its size if a Shape reads
                # it (a mask built for the model's length), else a real extra input.
                (sized if node.op_type in ("Shape", "Size") else extras).append(name)
            elif producer is not None:
                stack.append(producer)
    ordered = sorted(found.values(), key=lambda n: index.position[id(n)])
    return ordered, list(dict.fromkeys(extras)), list(dict.fromkeys(sized))


def _scope(core, fallback: str) -> str:
    """The scope the block's core nodes share (``/encoder/layers.0/self_attn``): a hint
    for the layer's name only."""
    names = [n.name for n in core]
    if not all(name.startswith("/") for name in names):
        return fallback
    prefix = names[0][: names[0].rfind("/")]
    while prefix and not all(name.startswith(prefix + "/") for name in names):
        prefix = prefix[: prefix.rfind("/")]
    return prefix if prefix.strip("/") else fallback


def _match(index: _Index, softmax):
    """The fused node and the group it replaces, or None where ``softmax`` is not the core
    of a PyTorch-style self-attention block."""
    attend = index.only_reader(softmax.output[0])
    if attend is None or attend.op_type != "MatMul" or attend.input[0] != softmax.output[0]:
        return None
    product, mask = _scores_product(index, softmax)
    if product is None:
        return None
    roles = {
        "query": _trace_to_projection(index, product.input[0]),
        "key": _trace_to_projection(index, product.input[1]),
        "value": _trace_to_projection(index, attend.input[1]),
    }
    if any(node is None for node in roles.values()):
        return None
    sources = {node.input[0] for node in roles.values()}
    if len(sources) != 1:
        return None  # cross-attention: not recognised (the walk refuses its nodes)
    (source,) = sources
    kernels, biases = {}, {}
    if not _split(kernels, biases, roles, index):
        return None
    found = _output_end(index, attend)
    if found is None:
        return None
    (out_kernel, out_bias, _), end = found
    group, extras, sized = _group(index, end, source, MAX_GROUP_NODES)
    if group is None:
        return None
    name = _scope([*roles.values(), product, softmax, attend, end], softmax.name or end.name)
    attrs = {}
    if extras:
        reader = next(n for n in group if any(i in extras for i in n.input))
        attrs["refusal"] = (
            f"this self-attention block (scores made by node {product.name!r}) also reads "
            f"{extras[0]!r} in node {reader.name!r} ({reader.op_type}), data that does not "
            "come from its input: an attention or padding mask given to the model has no "
            "MultiHeadAttention equivalent (only a causal mask does)"
        )
    else:
        attrs["body"] = _body(index, group, [source, *sized], end.output[0], softmax.output[0])
        weights = {f"{r}_kernel": kernels[r] for r in kernels}
        weights.update({f"{r}_bias": biases[r] for r in biases if biases[r] is not None})
        weights["output_kernel"] = out_kernel
        if out_bias is not None:
            weights["output_bias"] = out_bias
        for key, array in weights.items():
            attrs[key] = numpy_helper.from_array(np.asarray(array, dtype=np.float32), key)
        if mask is not None:
            attrs["mask_node"] = mask.name
    # Inputs after the first are only read for their shapes by the check run.
    inputs = [source, *sized] if not extras else [source]
    fused = helper.make_node(TORCH_ATTENTION_OP, inputs, [end.output[0]], name=name, **attrs)
    return fused, group, end


def _body(index: _Index, group, inputs: list, output: str, probs: str) -> onnx.GraphProto:
    """The group as a graph of its own: the source (and tensors whose shapes it reads) in,
    the block's output and the attention probabilities out, its initializers copied in."""
    made = {o for n in group for o in n.output}
    used = {i for n in group for i in n.input if i and i not in made}
    inits = [index.inits[n] for n in sorted(used) if n in index.inits]
    floats = onnx.TensorProto.FLOAT
    return helper.make_graph(
        [onnx.NodeProto.FromString(n.SerializeToString()) for n in group],
        "torch_self_attention",
        [helper.make_tensor_value_info(name, floats, None) for name in inputs],
        [
            helper.make_tensor_value_info(output, floats, None),
            helper.make_tensor_value_info(probs, floats, None),
        ],
        initializer=inits,
    )


def rewrite_torch_attention(graph: onnx.GraphProto, nodes: list) -> list:
    """``nodes`` with each PyTorch self-attention block replaced by one fused node."""
    if not any(n.op_type == "Softmax" for n in nodes):
        return nodes
    index = _Index(graph, nodes)
    replaced, removed = {}, set()
    for softmax in nodes:
        if softmax.op_type != "Softmax" or id(softmax) in removed:
            continue
        try:
            match = _match(index, softmax)
        except (IndexError, KeyError, ValueError, TypeError):  # malformed: the walk says so
            match = None
        if match is None:
            continue
        fused, group, end = match
        members = {id(n) for n in group}
        # A node of the group whose output is also read outside it stays (a shared
        # constant or shape); if that would keep data the block computes, no fusion.
        kept = set()
        for node in group:
            escapes = any(
                out in index.outputs or any(id(r) not in members for r in index.readers[out])
                for out in node.output
                if out and node is not end
            )
            if escapes:
                kept.add(id(node))
        for node in reversed(group):  # what a kept node reads is kept too
            if id(node) in kept:
                for name in node.input:
                    producer = index.producer.get(name)
                    if producer is not None and id(producer) in members:
                        kept.add(id(producer))
        if any(id(n) in kept and any(o not in index.static for o in n.output if o) for n in group):
            continue
        replaced[id(end)] = fused
        removed.update(id(n) for n in group if id(n) not in kept and n is not end)
    if not replaced:
        return nodes
    result = [replaced.get(id(n), n) for n in nodes if id(n) not in removed]
    return _drop_unread_constants(result, index)


def _drop_unread_constants(nodes: list, index: _Index) -> list:
    """Drop the constant and shape arithmetic the fused blocks no longer need (a mask
    built once for every layer of an encoder), so the walk does not refuse what nothing
    reads."""
    read = defaultdict(int)
    for node in nodes:
        for name in node.input:
            read[name] += 1
    keep = []
    for node in reversed(nodes):
        outs = [o for o in node.output if o]
        orphan = (
            outs
            and node.op_type != TORCH_ATTENTION_OP
            and all(o in index.static and not read[o] and o not in index.outputs for o in outs)
            and any(index.readers.get(o) for o in outs)  # read before the fusion, not now
        )
        if orphan:
            for name in node.input:
                read[name] -= 1
        else:
            keep.append(node)
    return keep[::-1]
