"""The walk over an ONNX graph that turns its nodes into engine layers.

Each supported operator has a small importer ``fn(ctx, node)`` registered with
:func:`imports` (in the ``engine/onnx/import_*`` modules). It reads its inputs from the
:class:`ImportContext` (constants, data, pending layers), creates layers or pending layers,
and stores what each of its outputs stands for. It raises
:class:`~engine.onnx.import_errors.Unsupported` when the node has no layer equivalent.

The walk never stops at the first problem: a node that fails, or that depends on one that
failed, is recorded, and the walk goes on, so the user sees every unsupported operator in
one error. Nothing is written anywhere; the caller builds a model only if no issue remains.
The one exception is a size past :mod:`engine.onnx.import_limits` (a tensor, a layer's
weights, a shape the file declares): the walk stops at once with an
:class:`~engine.onnx.import_errors.OnnxImportError` naming the node, before allocating it.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import onnx
from onnx import TensorProto

from engine import initializers
from engine.layers.base import Input, get_layer_class
from engine.onnx import import_operators  # noqa: F401 - fills IMPORTERS (the operators register)
from engine.onnx.import_errors import Issue, OnnxImportError, Unsupported
from engine.onnx.import_file import DEFAULT_DOMAINS, default_opset, to_array
from engine.onnx.import_fold import fold_node
from engine.onnx.import_limits import (
    MAX_TENSOR_BYTES,
    Budget,
    SizeRefused,
    check_vector_length,
    size_text,
)
from engine.onnx.import_patterns import rewrite_patterns
from engine.onnx.import_registry import IMPORTERS
from engine.onnx.import_values import POISON, Const, Pending, ShapeVec, Sym

FLOAT_TYPES = {TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.BFLOAT16}
INT_TYPES = {TensorProto.INT64, TensorProto.INT32}


def layer_name_for(text: str | bytes) -> str:
    """A readable layer name from an ONNX node name (``/fc1/Gemm`` becomes ``fc1_Gemm``).
    Names that are not valid UTF-8 reach Python as bytes; they are decoded leniently."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    # PyTorch scopes repeat their parent: /layer1/layer1.0/conv1/Conv reads layer1.0_conv1_Conv.
    parts = text.strip("/").split("/")
    parts = [p for p, after in zip(parts, [*parts[1:], ""]) if not after.startswith(p + ".")]
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", "/".join(parts)).strip("_")


class ImportContext:
    """Everything the operator importers share while one graph is walked."""

    def __init__(self, proto: onnx.ModelProto):
        self.proto = proto
        self.graph = proto.graph
        self.opset = default_opset(proto)
        self.values: dict[str, object] = {}
        self.warnings: list[str] = []
        self.node_layers: dict[str, list[str]] = {}
        self._used_names: set[str] = set()
        self.graph_outputs = {o.name for o in self.graph.output}
        self.nodes: list[onnx.NodeProto] = rewrite_patterns(self, list(self.graph.node))
        self.consumers: Counter[str] = Counter()
        for node in self.nodes:
            for name in node.input:
                if name:
                    self.consumers[name] += 1
        self.fixed_batches: set[int] = set()  # batch sizes written into the inputs' shapes
        self._plain: dict[str, Sym] = {}  # views made real by a Reshape layer
        self.producers: dict[str, str] = {}  # tensor name -> label of the node making it
        # Recurrent layers by their every-step output, and by ONNX node (import_rnn).
        self.sequences: dict[int, object] = {}
        self.recurrent_layers: dict[str, list] = {}
        self.budget = Budget()  # what folding and layer weights have used (import_limits)
        self.op_types: dict[str, str] = {}  # node label -> operator, for size refusals

    # -- reading values -------------------------------------------------------------------

    def value(self, name: str):
        if not name:
            return None
        if name not in self.values:
            raise Unsupported(f"input {name!r} is not produced by any node or graph input")
        return self.values[name]

    def has_input(self, node: onnx.NodeProto, index: int) -> bool:
        return len(node.input) > index and bool(node.input[index])

    def const(self, name: str, what: str) -> np.ndarray:
        """A constant input (weights, shapes); refuses data computed from the model input."""
        value = self.value(name)
        if isinstance(value, Const):
            return value.value
        if isinstance(value, ShapeVec) and value.as_array_or_none() is not None:
            return value.as_array_or_none()
        raise Unsupported(
            f"{what} ({name!r}) must be a constant stored in the file, but it is computed "
            "from the model's input"
        )

    def ints(self, name: str, what: str) -> list[int]:
        """A small constant integer vector (axes, slice bounds) as Python ints; its length is
        checked before any conversion."""
        value = self.const(name, what)
        check_vector_length(value.size, what)
        return [int(v) for v in value.reshape(-1).tolist()]

    def float_const(self, name: str, what: str) -> np.ndarray:
        """A constant input (weights) as float32, refused before the conversion if that
        would pass :data:`~engine.onnx.import_limits.MAX_TENSOR_BYTES`."""
        value = self.const(name, what)
        if value.size * 4 > MAX_TENSOR_BYTES:
            raise SizeRefused(
                f"would make {what} of shape {list(value.shape)} float32, "
                f"{size_text(value.size * 4)}; LayerCanvas makes weights of at most "
                f"{size_text(MAX_TENSOR_BYTES)} each"
            )
        return value.astype(np.float32, copy=False)  # a VGG's 400 MB are not copied twice

    def fold(self, shape, dtype, what: str = "tensor") -> None:
        """Refuse (:class:`SizeRefused`) a folded constant of ``shape`` and ``dtype`` that
        would pass the import's limits; call it before allocating the array."""
        self.budget.fold(shape, dtype, what)

    def sym(self, name: str) -> Sym:
        """The data tensor behind ``name``, creating a pending layer if needed."""
        value = self.value(name)
        if isinstance(value, Pending):
            value = value.materialize(self)
            self.values[name] = value
        if isinstance(value, Sym):
            return value
        if isinstance(value, Const | ShapeVec):
            raise Unsupported(
                f"input {name!r} is a constant where LayerCanvas expects data from the model "
                "input (no layer computes with a constant tensor like this)"
            )
        raise Unsupported(f"input {name!r} cannot be used here")

    def plain(self, name: str, what: str = "the input") -> Sym:
        """Data in the engine's own layout, batch first. A view that only inserts unit axes
        after the batch becomes a Reshape layer; any other view is refused."""
        sym = self.sym(name)
        if sym.is_plain:
            return sym
        if name in self._plain:
            return self._plain[name]
        if sym.perm is None and 0 not in sym.units:
            label = f"{self.producers.get(name, layer_name_for(name))}_reshape"
            out = self.call_layer(
                "Reshape", label, Sym(sym.tensor), target_shape=tuple(sym.onnx_shape[1:])
            )
            self._plain[name] = Sym(out, None, sym.dtype)
            return self._plain[name]
        if sym.perm is not None and sym.perm[0] == 0 and not sym.units:
            # A transpose that keeps the batch first is a Permute layer (Keras's 1-based dims).
            label = self.producers.get(name, layer_name_for(name))
            out = self.call_layer("Permute", label, Sym(sym.tensor), dims=tuple(sym.perm[1:]))
            self._plain[name] = Sym(out, None, sym.dtype)
            return self._plain[name]
        if sym.onnx_shape[0] is not None:
            raise Unsupported(
                f"{what} ({name!r}) does not have the batch on axis 0 (it has shape "
                f"{_fmt_shape(sym.onnx_shape)}); LayerCanvas keeps the batch first, so only "
                "a Transpose / Squeeze / Reshape that brings it back is supported here"
            )
        raise Unsupported(
            f"{what} ({name!r}) is transposed with perm {list(sym.perm)}; a Transpose is only "
            "supported around BatchNormalization, LayerNormalization, activations and "
            "recurrent layers, or when a later Transpose undoes it"
        )

    def private(self, name: str) -> bool:
        """True when exactly one node reads ``name`` and it is not a graph output: the
        producer may then be fused with that node."""
        return self.consumers[name] == 1 and name not in self.graph_outputs

    def outputs_used(self, node: onnx.NodeProto, start: int) -> list[str]:
        """Names of ``node``'s outputs from index ``start`` that anything reads."""
        return [
            name
            for name in node.output[start:]
            if name and (self.consumers[name] or name in self.graph_outputs)
        ]

    # -- creating layers --------------------------------------------------------------------

    def unique_name(self, hint: str) -> str:
        base = layer_name_for(hint) or "layer"
        name, k = base, 1
        while name in self._used_names:
            k += 1
            name = f"{base}_{k}"
        self._used_names.add(name)
        return name

    def node_label(self, node: onnx.NodeProto) -> str:
        return node.name or f"{node.op_type}_{node.output[0] if node.output else ''}"

    def call_layer(self, type_name: str, node_name: str, inputs, weights=None, **config):
        """Create layer ``type_name`` named after ``node_name``, call it, set its weights."""
        cls = get_layer_class(type_name)
        name = self.unique_name(node_name)
        layer = cls(name=name, **config)
        items = inputs if isinstance(inputs, list) else [inputs]
        tensors = [s.tensor for s in items]
        shapes = [t.shape for t in tensors]
        try:  # the weight shapes, known before building allocates them
            specs = layer.weight_specs(shapes if layer.max_inputs != 1 else shapes[0])
        except Exception:  # noqa: BLE001 - a shape the layer refuses: building says why
            specs = None
        if specs:
            self.budget.weights_of(name, specs, node_name)
        if weights is None:
            out = layer(tensors if isinstance(inputs, list) else tensors[0])
        else:
            # Every weight comes from the file: building need not draw random ones first.
            with initializers.weights_set_afterwards():
                out = layer(tensors if isinstance(inputs, list) else tensors[0])
            layer.set_weights([np.asarray(w, dtype=np.float32) for w in weights])
        self.node_layers.setdefault(node_name, []).append(name)
        return out

    def set(self, name: str, value) -> None:
        if name:
            self.values[name] = value


def _fmt_shape(shape) -> str:
    return "(" + ", ".join("N" if d is None else str(d) for d in shape) + ")"


def _type_name(elem: int) -> str:
    try:
        return TensorProto.DataType.Name(elem)
    except ValueError:
        return f"unknown ({elem})"


def _input_layer(ctx: ImportContext, value_info: onnx.ValueInfoProto) -> Sym:
    """An engine ``Input`` for a graph input: batch first, every other size known."""
    name = value_info.name
    tensor_type = value_info.type.tensor_type
    if not value_info.type.HasField("tensor_type"):
        raise Unsupported(f"graph input {name!r} is not a tensor")
    elem = tensor_type.elem_type
    if elem in FLOAT_TYPES:
        dtype = "float32"
        if elem != TensorProto.FLOAT:
            ctx.warnings.append(
                f"input {name!r} is {_type_name(elem).lower()} in the file; "
                "LayerCanvas computes in float32"
            )
    elif elem in INT_TYPES:
        dtype = "int64"
    else:
        raise Unsupported(
            f"graph input {name!r} has element type {_type_name(elem)}; "
            "LayerCanvas models take float32 data or int64 token ids"
        )
    if not tensor_type.HasField("shape"):
        raise Unsupported(f"graph input {name!r} declares no shape")
    dims = list(tensor_type.shape.dim)
    if len(dims) < 2:
        raise Unsupported(
            f"graph input {name!r} has rank {len(dims)}; LayerCanvas inputs are a batch of "
            "samples, (batch, ...) with at least one more dimension"
        )
    shape = []
    for i, dim in enumerate(dims[1:], start=1):
        if not dim.HasField("dim_value") or dim.dim_value <= 0:
            label = dim.dim_param or "unknown"
            raise Unsupported(
                f"graph input {name!r} has a variable size ({label!r}) at axis {i}; only the "
                "batch axis (axis 0) may vary"
            )
        shape.append(int(dim.dim_value))
    if dims[0].HasField("dim_value") and dims[0].dim_value > 0:
        ctx.fixed_batches.add(int(dims[0].dim_value))
    if dims[0].HasField("dim_value") and dims[0].dim_value > 1:
        ctx.warnings.append(
            f"input {name!r} has a fixed batch size of {dims[0].dim_value} in the file; the "
            "imported model accepts any batch size"
        )
    layer_name = ctx.unique_name(name)
    return Sym(Input(tuple(shape), name=layer_name, dtype=dtype), None, dtype)


def walk_graph(ctx: ImportContext) -> tuple[list[Sym], list[Sym], list[Issue]]:
    """Import every node; return the model's inputs, its outputs, and every issue."""
    graph = ctx.graph
    issues: list[Issue] = []
    for tensor in graph.initializer:
        try:
            ctx.set(tensor.name, Const(to_array(tensor)))
        except Exception as exc:  # data that does not fit its dims or type
            issues.append(Issue(tensor.name, "initializer", f"unreadable tensor data ({exc})"))
            ctx.set(tensor.name, POISON)
    inputs: list[Sym] = []
    for value_info in graph.input:
        if value_info.name in ctx.values:
            continue  # an input with a default value (old IR): used as the constant
        try:
            sym = _input_layer(ctx, value_info)
        except (Unsupported, ValueError) as exc:
            issues.append(Issue(value_info.name, "graph input", getattr(exc, "reason", str(exc))))
            ctx.set(value_info.name, POISON)
            continue
        inputs.append(sym)
        ctx.set(value_info.name, sym)

    for node in ctx.nodes:
        label = ctx.node_label(node)
        problem = _unsupported_operator(node)
        if problem is None and any(ctx.values.get(n) is POISON for n in node.input if n):
            for out in node.output:
                ctx.set(out, POISON)
            continue
        ctx.op_types.setdefault(label, _qualified(node))
        if problem is not None and node.domain in DEFAULT_DOMAINS:
            try:  # arithmetic on constants and static shapes: folded (import_fold)
                if fold_node(ctx, node):
                    for out in node.output:
                        ctx.producers.setdefault(out, label)
                    continue
            except SizeRefused as exc:
                raise _refusal(ctx, exc, label) from None
        if problem is None:
            try:
                with np.errstate(all="ignore"):  # folding NaN or dividing by 0 is the file's
                    IMPORTERS[node.op_type](ctx, node)
                for out in node.output:
                    ctx.producers.setdefault(out, label)
                missing = [o for o in node.output[:1] if o and o not in ctx.values]
                if missing:
                    raise Unsupported(f"output {missing[0]!r} could not be produced")
                continue
            except SizeRefused as exc:
                raise _refusal(ctx, exc, label) from None
            except Unsupported as exc:
                problem = exc.reason
            except ValueError as exc:  # ShapeError / ParameterError from a layer
                problem = str(exc)
            except (IndexError, KeyError, TypeError, ArithmeticError) as exc:  # malformed
                problem = f"the node could not be read ({type(exc).__name__}: {exc})"
        issues.append(Issue(label, _qualified(node), problem))
        for out in node.output:
            ctx.set(out, POISON)

    outputs: list[Sym] = []
    for value_info in graph.output:
        value = ctx.values.get(value_info.name)
        if value is POISON:
            continue
        try:
            sym = ctx.plain(value_info.name, "graph output")
            if any(sym is i or sym.tensor is i.tensor for i in inputs):
                # An output that is an input unchanged still needs a layer of its own.
                label = ctx.producers.get(value_info.name, f"{value_info.name}_identity")
                out = ctx.call_layer("Activation", label, sym, activation="linear")
                sym = Sym(out)
            outputs.append(sym)
        except SizeRefused as exc:
            raise _refusal(ctx, exc, f"graph output {value_info.name!r}") from None
        except (Unsupported, ValueError) as exc:  # ValueError: a layer refused its config
            issues.append(Issue(value_info.name, "graph output", getattr(exc, "reason", str(exc))))
    return inputs, outputs, issues


def _refusal(ctx: ImportContext, exc: SizeRefused, label: str) -> OnnxImportError:
    """The import's error for a size past the limits: the node, its operator, the reason."""
    node = exc.node or label
    op_type = ctx.op_types.get(node)
    where = f"node {node!r} ({op_type})" if op_type else node
    return OnnxImportError(f"{where} {exc.reason}")


def _qualified(node: onnx.NodeProto) -> str:
    return node.op_type if node.domain in DEFAULT_DOMAINS else f"{node.domain}.{node.op_type}"


def _unsupported_operator(node: onnx.NodeProto) -> str | None:
    if node.domain not in DEFAULT_DOMAINS:
        return (
            f"custom operator domain {node.domain!r}: LayerCanvas reads only standard ONNX "
            "operators"
        )
    if node.op_type not in IMPORTERS:
        return f"operator {node.op_type} has no LayerCanvas layer equivalent"
    return None
