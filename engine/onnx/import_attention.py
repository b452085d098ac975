"""Import of ``MultiHeadAttention`` from the MatMul / Softmax graph it exports as.

ONNX (before opset 23) has no attention operator, so the group written by
:mod:`engine.onnx.mappings.attention` is recognised before the walk and replaced by one
``MultiHeadAttentionGroup`` node (a name that only lives inside the importer), which becomes
one ``MultiHeadAttention`` layer with Keras's weights:

    query/key/value: MatMul(x, W (d, H*w)) [+ Add(b)] -> Reshape(0, 0, H, w) -> Transpose
    scores: Mul(q, 1/sqrt(key_dim)) -> MatMul(q, k^T) [-> Add(causal 0 / -1e9)] -> Softmax
    output: MatMul(probs, v) -> Transpose(0, 2, 1, 3) -> Reshape(0, 0, H*vd) -> MatMul(Wo)
            [+ Add(bo)]

Every intermediate result must feed only the next node of the group. PyTorch's
``nn.MultiheadAttention`` writes a different graph (the three projections packed in one
matrix, queries and keys scaled separately by a factor computed from shapes, a
``(steps, batch, features)`` layout): :mod:`engine.onnx.import_transformer` recognises it
after this rewrite, and :mod:`engine.onnx.import_transformer_layer` imports it.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import onnx
from onnx import helper

from engine.onnx import import_transformer_layer  # noqa: F401 - registers its importer
from engine.onnx.import_file import to_array
from engine.onnx.import_registry import attr, imports
from engine.onnx.import_transformer import rewrite_torch_attention
from engine.onnx.import_values import Sym

ATTENTION_OP = "MultiHeadAttentionGroup"


def rewrite_attention(graph: onnx.GraphProto, nodes: list) -> list:
    consts = {t.name: t for t in graph.initializer}
    producer = {out: node for node in nodes for out in node.output if out}
    readers: dict[str, list] = defaultdict(list)
    for node in nodes:
        for name in node.input:
            if name:
                readers[name].append(node)
    outputs = {o.name for o in graph.output}

    def value(name: str):
        tensor = consts.get(name)
        if tensor is None:
            return None
        try:
            return to_array(tensor)
        except Exception:  # unreadable: the walk reports it
            return None

    def made_by(name: str, op: str, reader):
        """The node of type ``op`` making ``name``, if ``reader`` is its only reader."""
        node = producer.get(name)
        if node is None or node.op_type != op or name in outputs:
            return None
        return node if readers.get(name) == [reader] else None

    def only_reader(name: str, op: str):
        found = readers.get(name, [])
        if len(found) == 1 and found[0].op_type == op and name not in outputs:
            return found[0]
        return None

    def perm(node):
        for a in node.attribute:
            if a.name == "perm":
                return list(a.ints)
        return None

    def projection(heads_first: str, reader, expected_perm):
        """(input, kernel, bias, heads, width, nodes) of one projection, or None."""
        transpose = made_by(heads_first, "Transpose", reader)
        if transpose is None or perm(transpose) != expected_perm:
            return None
        reshape = made_by(transpose.input[0], "Reshape", transpose)
        shape = value(reshape.input[1]) if reshape is not None else None
        if shape is None or shape.size != 4 or list(shape[:2]) != [0, 0]:
            return None
        heads, width = int(shape[2]), int(shape[3])
        source, bias, group = reshape.input[0], "", [transpose, reshape]
        add = made_by(source, "Add", reshape)
        if add is not None:
            bias = add.input[1]
            if value(bias) is None:
                return None
            source, group = add.input[0], [*group, add]
        matmul = made_by(source, "MatMul", add or reshape)
        kernel = value(matmul.input[1]) if matmul is not None else None
        if kernel is None or kernel.ndim != 2 or kernel.shape[1] != heads * width:
            return None
        return matmul.input[0], matmul.input[1], bias, heads, width, [*group, matmul]

    replaced, removed = {}, set()
    for softmax in nodes:
        if softmax.op_type != "Softmax":
            continue
        scores = softmax.input[0]
        causal_node = made_by(scores, "Add", softmax)
        causal = False
        if causal_node is not None:
            hidden = value(causal_node.input[1])
            steps = hidden.shape[0] if hidden is not None and hidden.ndim == 2 else 0
            expected = np.triu(np.full((steps, steps), -1e9, dtype=np.float32), k=1)
            if not steps or not np.array_equal(hidden, expected):
                continue
            causal, scores = True, causal_node.input[0]
        product = made_by(scores, "MatMul", causal_node or softmax)
        scale = made_by(product.input[0], "Mul", product) if product is not None else None
        factor = value(scale.input[1]) if scale is not None else None
        if factor is None or factor.size != 1:
            continue
        query = projection(scale.input[0], scale, [0, 2, 1, 3])
        key = projection(product.input[1], product, [0, 2, 3, 1])
        attend = only_reader(softmax.output[0], "MatMul")
        if query is None or key is None or attend is None or attend.input[0] != softmax.output[0]:
            continue
        value_ = projection(attend.input[1], attend, [0, 2, 1, 3])
        back = only_reader(attend.output[0], "Transpose")
        merge = only_reader(back.output[0], "Reshape") if back is not None else None
        out = only_reader(merge.output[0], "MatMul") if merge is not None else None
        if value_ is None or out is None or perm(back) != [0, 2, 1, 3]:
            continue
        out_kernel = value(out.input[1])
        heads, key_dim = query[3], query[4]
        if (
            out_kernel is None
            or key[3:5] != (heads, key_dim)
            or value_[3] != heads
            or abs(float(factor.reshape(-1)[0]) * math.sqrt(key_dim) - 1.0) > 1e-5
        ):
            continue
        biases = [query[2], key[2], value_[2]]
        last, out_bias = out, ""
        bias_add = only_reader(out.output[0], "Add")
        if bias_add is not None and value(bias_add.input[1]) is not None:
            last, out_bias = bias_add, bias_add.input[1]
        if len({bool(b) for b in [*biases, out_bias]}) != 1:
            continue  # Keras's layer has biases everywhere or nowhere
        inputs = [query[0], value_[0], key[0], query[1], query[2], key[1], key[2]]
        inputs += [value_[1], value_[2], out.input[1], out_bias]
        fused = helper.make_node(
            ATTENTION_OP,
            inputs,
            [last.output[0]],
            name=out.name,
            num_heads=heads,
            key_dim=key_dim,
            value_dim=value_[4],
            use_causal_mask=int(causal),
        )
        group = [*query[5], *key[5], *value_[5], scale, product, softmax, attend, back, merge, out]
        group += [causal_node] if causal_node is not None else []
        group += [bias_add] if last is bias_add else []
        replaced[id(last)] = fused
        removed.update(id(n) for n in group if n is not last)
    if replaced:
        nodes = [replaced.get(id(n), n) for n in nodes if id(n) not in removed]
    return rewrite_torch_attention(graph, nodes)  # PyTorch's blocks, once ours are fused


@imports(ATTENTION_OP)
def import_attention(ctx, node):
    query = ctx.plain(node.input[0], "the query")
    value = ctx.plain(node.input[1], "the value")
    heads, key_dim = int(attr(node, "num_heads")), int(attr(node, "key_dim"))
    value_dim = int(attr(node, "value_dim"))
    use_bias = bool(node.input[4])
    weights = []
    for kernel, bias, width in ((3, 4, key_dim), (5, 6, key_dim), (7, 8, value_dim)):
        matrix = ctx.float_const(node.input[kernel], "a projection kernel")
        weights.append(matrix.reshape(matrix.shape[0], heads, width))
        if use_bias:
            weights.append(ctx.float_const(node.input[bias], "a bias").reshape(heads, width))
    out_kernel = ctx.float_const(node.input[9], "the output kernel")
    weights.append(out_kernel.reshape(heads, value_dim, out_kernel.shape[1]))
    if use_bias:
        weights.append(ctx.float_const(node.input[10], "the output bias").reshape(-1))
    # Keras's order of ports is query, value, key; the key is left out when it is the value.
    syms = [query, value]
    if node.input[2] != node.input[1]:
        syms.append(ctx.plain(node.input[2], "the key"))
    features = out_kernel.shape[1]
    out = ctx.call_layer(
        "MultiHeadAttention",
        ctx.node_label(node),
        syms,
        weights=weights,
        num_heads=heads,
        key_dim=key_dim,
        value_dim=None if value_dim == key_dim else value_dim,
        use_bias=use_bias,
        output_shape=None if features == query.tensor.shape[-1] else int(features),
        use_causal_mask=bool(attr(node, "use_causal_mask", 0)),
    )
    ctx.set(node.output[0], Sym(out))
