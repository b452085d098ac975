"""Importers for constants and shape operators.

Constants and integer shape vectors are folded here (PyTorch writes ``x.view(x.size(0),
-1)`` as ``Shape -> Gather -> Unsqueeze -> Concat -> Reshape``); on data, ``Flatten``,
``Reshape``, ``Squeeze`` and ``Unsqueeze`` become ``Flatten`` / ``Reshape`` layers as long
as the batch axis stays first, and ``Transpose`` is kept as a view for the node that
undoes it.

Nothing here allocates a folded constant before :meth:`ImportContext.fold` has checked its
declared shape against :mod:`engine.onnx.import_limits` (a ``ConstantOfShape`` to
``[1, 100000, 100000]`` is refused by name, not attempted); views (``Reshape``,
``Transpose``, ``Squeeze``, ``Unsqueeze``, ``Slice`` of a constant) allocate nothing.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
from onnx import helper

from engine.onnx.import_channel_slice import slice_axis
from engine.onnx.import_errors import Unsupported
from engine.onnx.import_file import to_array
from engine.onnx.import_limits import (
    broadcast_shape,
    check_shape,
    check_vector_length,
    shape_text,
)
from engine.onnx.import_registry import attr, imports
from engine.onnx.import_resample import crop_from_slice, expand_data
from engine.onnx.import_values import Const, Filled, Pending, ShapeVec, Sym


def reshape_sym(ctx, sym: Sym, target: tuple[int, ...], node_name: str) -> Sym:
    """``sym`` reshaped to per-sample ``target`` (a Reshape layer unless nothing changes)."""
    if tuple(target) == tuple(sym.tensor.shape):
        return sym
    out = ctx.call_layer("Reshape", node_name, sym, target_shape=tuple(target))
    return Sym(out, None, sym.dtype)


def _axes(ctx, node, index: int = 1) -> list[int] | None:
    """Axes from the attribute (before opset 13) or the second input (from 13)."""
    axes = attr(node, "axes")
    if axes is None and ctx.has_input(node, index):
        axes = ctx.ints(node.input[index], "axes")
    return None if axes is None else [int(a) for a in axes]


def _int_vector(ctx, name: str, what: str) -> tuple:
    """A 1-D integer vector that may contain the batch size (``None``)."""
    value = ctx.value(name)
    if isinstance(value, ShapeVec):
        return tuple(value.values)
    return tuple(ctx.ints(name, what))


@imports("Constant")
def import_constant(ctx, node):
    for a in node.attribute:
        if a.name == "value":
            ctx.set(node.output[0], Const(to_array(a.t)))
            return
        if a.name in ("value_float", "value_int", "value_floats", "value_ints"):
            dtype = np.float32 if "float" in a.name else np.int64
            if a.name.endswith("s"):  # checked before a Python list of them is made
                ctx.fold((max(len(a.floats), len(a.ints)),), dtype, "constant")
            value = helper.get_attribute_value(a)
            ctx.set(node.output[0], Const(np.asarray(value, dtype=dtype)))
            return
    raise Unsupported("Constant without a numeric value (sparse or string constants)")


@imports("ConstantOfShape")
def import_constant_of_shape(ctx, node):
    shape = check_shape(_int_vector(ctx, node.input[0], "the shape"), "the shape")
    fill = np.zeros(1, np.float32)
    for a in node.attribute:
        if a.name == "value":
            fill = to_array(a.t)
    if fill.size != 1:
        raise Unsupported(f"ConstantOfShape's value must hold one number, it holds {fill.size}")
    value = fill.reshape(-1)[0]
    if any(d is None for d in shape):
        ctx.set(node.output[0], Filled(tuple(shape), float(value)))
    else:
        ctx.fold(shape, fill.dtype)  # before allocating: the shape is the file's word
        ctx.set(node.output[0], Const(np.full(shape, value, dtype=fill.dtype)))


@imports("Identity")
def import_identity(ctx, node):
    ctx.set(node.output[0], ctx.value(node.input[0]))


@imports("Shape")
def import_shape(ctx, node):
    value = ctx.value(node.input[0])
    if isinstance(value, Const):
        dims = tuple(value.value.shape)
    elif isinstance(value, Sym | Pending):
        dims = tuple(value.onnx_shape)
    else:
        raise Unsupported("Shape of a value whose shape is not known")
    start, end = attr(node, "start", 0), attr(node, "end", None)
    ctx.set(node.output[0], ShapeVec(tuple(dims[slice(start, end)])))


def fold_gather(ctx, node) -> bool:
    """Gather on constants or shape vectors; False when the data is a model tensor."""
    data, indices = ctx.value(node.input[0]), ctx.value(node.input[1])
    axis = attr(node, "axis", 0)
    if isinstance(data, Const) and isinstance(indices, Const | ShapeVec):
        index = ctx.const(node.input[1], "indices")
        shape = data.value.shape
        if not -len(shape) <= axis < max(len(shape), 1):
            raise Unsupported(f"Gather axis {axis} of a constant of shape {list(shape)}")
        axis %= max(len(shape), 1)
        ctx.fold((*shape[:axis], *index.shape, *shape[axis + 1 :]), data.value.dtype)
        ctx.set(node.output[0], Const(np.take(data.value, index, axis=axis)))
        return True
    if isinstance(data, ShapeVec) and isinstance(indices, Const):
        index = indices.value
        check_vector_length(index.size, "the indices into a shape")
        picked = [data.values[int(i)] for i in index.reshape(-1)]
        ctx.set(node.output[0], ShapeVec(tuple(picked), scalar=index.ndim == 0))
        return True
    return False


@imports("Unsqueeze")
def import_unsqueeze(ctx, node):
    value = ctx.value(node.input[0])
    axes = _axes(ctx, node)
    if axes is None:
        raise Unsupported("Unsqueeze without axes")
    if isinstance(value, ShapeVec):
        if value.scalar and axes in ([0], [-1]):
            ctx.set(node.output[0], ShapeVec(value.values))
            return
        raise Unsupported("Unsqueeze of a shape vector other than a scalar")
    if isinstance(value, Const):
        ctx.set(node.output[0], Const(np.expand_dims(value.value, tuple(axes))))
        return
    sym = ctx.sym(node.input[0])
    out_rank = sym.rank + len(axes)
    in_range = all(-out_rank <= a < out_rank for a in axes)
    if not in_range or len({a % out_rank for a in axes}) < len(axes):
        raise Unsupported(f"Unsqueeze axes {axes} are repeated or out of range for rank {out_rank}")
    view = sym.unsqueezed(axes)
    if view is None:
        raise Unsupported("Unsqueeze of transposed data")
    ctx.set(node.output[0], view)  # a view: becomes a Reshape layer only if used as such


@imports("Squeeze")
def import_squeeze(ctx, node):
    value = ctx.value(node.input[0])
    axes = _axes(ctx, node)
    if isinstance(value, Const):
        squeezed = np.squeeze(value.value, axis=None if axes is None else tuple(axes))
        ctx.set(node.output[0], Const(squeezed))
        return
    if isinstance(value, ShapeVec):
        if len(value.values) == 1 and axes in (None, [0], [-1]):
            ctx.set(node.output[0], ShapeVec(value.values, scalar=True))
            return
        raise Unsupported("Squeeze of a shape vector")
    if isinstance(value, Pending) and hasattr(value, "squeeze"):
        result = value.squeeze(ctx, axes)
        if result is not None:
            ctx.set(node.output[0], result)
            return
    sym = ctx.sym(node.input[0])
    shape = list(sym.onnx_shape)
    if axes is None:
        axes = [i for i, d in enumerate(shape) if d == 1]
    axes = sorted(a % len(shape) for a in axes)
    view = sym.squeezed(axes)
    if view is not None:  # the axes a view inserted (Unsqueeze, a recurrent output)
        ctx.set(node.output[0], view)
        return
    sym = ctx.plain(node.input[0])
    shape = list(sym.onnx_shape)
    if 0 in axes:
        raise Unsupported("Squeeze of axis 0 would remove the batch axis")
    if any(shape[a] != 1 for a in axes):
        raise Unsupported(f"Squeeze of axes {axes} whose size is not 1 in {shape[1:]}")
    target = tuple(d for i, d in enumerate(shape) if i not in axes)[1:]
    if not target:
        raise Unsupported("Squeeze would leave only the batch axis")
    ctx.set(node.output[0], reshape_sym(ctx, sym, target, ctx.node_label(node)))


@imports("Transpose")
def import_transpose(ctx, node):
    value = ctx.value(node.input[0])
    if isinstance(value, Const):
        ctx.set(node.output[0], Const(np.transpose(value.value, attr(node, "perm"))))
        return
    sym = ctx.sym(node.input[0])
    perm = attr(node, "perm") or list(reversed(range(sym.rank)))
    base = sym.perm or tuple(range(sym.rank))
    composed = tuple(base[p] for p in perm)
    identity = composed == tuple(range(sym.rank))
    ctx.set(node.output[0], replace(sym, perm=None if identity else composed))


@imports("Cast")
def import_cast(ctx, node):
    value = ctx.value(node.input[0])
    to = attr(node, "to")
    if isinstance(value, Const):
        dtype = helper.tensor_dtype_to_np_dtype(to)
        ctx.fold(value.value.shape, dtype)
        ctx.set(node.output[0], Const(value.value.astype(dtype)))
        return
    if isinstance(value, ShapeVec):
        ctx.set(node.output[0], value)
        return
    sym = ctx.sym(node.input[0])
    target = helper.tensor_dtype_to_np_dtype(to)
    if np.issubdtype(target, np.floating):
        if sym.dtype != "float32":
            raise Unsupported("Cast of token ids to float has no layer equivalent")
        ctx.set(node.output[0], sym)
        return
    if np.issubdtype(target, np.integer):
        # Whole-number ids carried as floats: Embedding truncates them itself.
        ctx.set(node.output[0], replace(sym, dtype="int64"))
        return
    raise Unsupported(f"Cast to {target} has no layer equivalent")


@imports("Slice")
def import_slice(ctx, node):
    value = ctx.value(node.input[0])
    if ctx.opset < 10:
        starts, ends = attr(node, "starts"), attr(node, "ends")
        axes, steps = attr(node, "axes"), None
    else:
        starts = ctx.ints(node.input[1], "starts")
        ends = ctx.ints(node.input[2], "ends")
        axes = ctx.ints(node.input[3], "axes") if ctx.has_input(node, 3) else None
        steps = ctx.ints(node.input[4], "steps") if ctx.has_input(node, 4) else None
    if isinstance(value, ShapeVec) and axes in (None, [0]) and len(starts) == 1:
        step = steps[0] if steps else 1
        picked = value.values[slice(starts[0], ends[0], step)]
        ctx.set(node.output[0], ShapeVec(tuple(picked)))
        return
    if isinstance(value, Const):
        arr = value.value
        index = [slice(None)] * arr.ndim
        for k, axis in enumerate(axes if axes is not None else range(len(starts))):
            step = steps[k] if steps else 1
            index[axis] = slice(starts[k], ends[k], step)
        ctx.set(node.output[0], Const(arr[tuple(index)]))
        return
    if isinstance(value, Filled):
        dims = list(value.shape)
        for k, axis in enumerate(axes if axes is not None else range(len(starts))):
            if dims[axis] is None:
                raise Unsupported("slicing the batch axis")
            step = steps[k] if steps else 1
            dims[axis] = len(range(dims[axis])[slice(starts[k], ends[k], step)])
        ctx.set(node.output[0], Filled(tuple(dims), value.value))
        return
    if isinstance(value, Sym | Pending) and crop_from_slice(ctx, node, starts, ends, axes, steps):
        return
    if isinstance(value, Sym | Pending) and slice_axis(ctx, node, starts, ends, axes, steps):
        return
    raise Unsupported(
        "slicing data has no layer equivalent (only constants, one axis with step 1, and the "
        "height and width of an image: Cropping2D)"
    )


@imports("Expand")
def import_expand(ctx, node):
    """A constant broadcast to a shape: folded, or (batch-dependent) kept as Filled."""
    value = ctx.value(node.input[0])
    shape = check_shape(_int_vector(ctx, node.input[1], "the shape"), "the shape")
    if isinstance(value, Sym | Pending) and expand_data(ctx, node, shape):
        return
    if not isinstance(value, Const):
        raise Unsupported(
            "Expand of data has no layer equivalent (only constants, and a vector repeated "
            "along a new axis: RepeatVector)"
        )
    if all(d is not None for d in shape):
        full = broadcast_shape(value.value.shape, shape)
        ctx.fold(full, value.value.dtype)  # before allocating: the shape is the file's word
        ctx.set(node.output[0], Const(np.broadcast_to(value.value, full).copy()))
        return
    flat = value.value.reshape(-1)
    if flat.size == 0 or not np.all(flat == flat[0]):
        raise Unsupported("Expand of a non-uniform constant to a batch-dependent shape")
    ctx.set(node.output[0], Filled(tuple(shape), float(flat[0])))


@imports("Flatten")
def import_flatten(ctx, node):
    value = ctx.value(node.input[0])
    axis = attr(node, "axis", 1)
    if isinstance(value, Const):
        arr = value.value
        axis %= max(arr.ndim, 1)
        if not arr.flags.c_contiguous:  # a transposed view: reshaping copies it
            ctx.fold(arr.shape, arr.dtype)
        ctx.set(node.output[0], Const(arr.reshape(math.prod(arr.shape[:axis]), -1)))
        return
    if isinstance(value, Pending) and hasattr(value, "squeeze") and axis == 1:
        shape = value.onnx_shape
        result = value.squeeze(ctx, [i for i in range(2, len(shape)) if shape[i] == 1])
        if result is not None and len(result.onnx_shape) == 2:
            ctx.set(node.output[0], result)
            return
    view = ctx.sym(node.input[0])
    if not view.is_plain and axis % view.rank == 1:
        # Flatten of a view whose inserted unit axes leave (N, features): drop them.
        units = [a for a in range(view.rank) if view.engine_axis(a) is None]
        squeezed = view.squeezed(units)
        if squeezed is not None and squeezed.is_plain and squeezed.rank == 2:
            ctx.set(node.output[0], squeezed)
            return
    sym = ctx.plain(node.input[0])
    axis %= sym.rank
    if axis != 1:
        # ONNX Flatten always gives (prod(dims[:axis]), prod(dims[axis:])).
        raise Unsupported(
            f"Flatten with axis {axis} merges the batch axis with others (only axis 1 keeps "
            "the batch)"
        )
    if sym.rank == 2:
        ctx.set(node.output[0], sym)
    else:
        ctx.set(node.output[0], Sym(ctx.call_layer("Flatten", ctx.node_label(node), sym)))


def resolve_reshape(source: tuple, target: tuple, allowzero: bool) -> tuple[int, ...]:
    """The per-sample shape ONNX ``Reshape(source -> target)`` gives, batch first.

    ``source`` has ``None`` for the batch; ``target`` may hold ``None`` (the batch size from
    a Shape node), ``0`` (copy) and one ``-1``. Raises Unsupported if the batch would move.
    """
    resolved = []
    for i, t in enumerate(target):
        if t == 0 and not allowzero:
            if i >= len(source):
                raise Unsupported(f"Reshape copies axis {i}, which the input does not have")
            resolved.append(source[i])
        else:
            resolved.append(t)
    if not resolved:
        raise Unsupported("Reshape to a scalar")
    if any(t is None for t in resolved[1:]):
        raise Unsupported("Reshape moves the batch size away from axis 0")
    if allowzero and 0 in resolved:
        raise Unsupported("Reshape with allowzero and a 0 in the shape")
    if source[0] is not None or None in source[1:]:
        raise Unsupported(f"Reshape of data whose batch is not on axis 0 {tuple(source)}")
    per_sample = math.prod(d for d in source[1:])
    rest = resolved[1:]
    known = math.prod(d for d in rest if d != -1)
    if rest.count(-1) > 1:
        raise Unsupported(f"Reshape to {list(target)} has more than one -1")
    if -1 in rest:
        if resolved[0] == -1:
            raise Unsupported(f"Reshape to {list(target)} leaves the batch size ambiguous")
        if known == 0 or per_sample % known:
            raise Unsupported(f"Reshape cannot give each sample the shape {list(target)[1:]}")
        rest = [per_sample // known if d == -1 else d for d in rest]
    elif math.prod(rest) != per_sample:
        raise Unsupported(
            f"Reshape to {list(target)} changes the batch dimension (each sample has "
            f"{per_sample} values, the target's samples {math.prod(rest)})"
        )
    return tuple(int(d) for d in rest)


def view_reshape(view: Sym, target, allowzero: bool, batch: int | None = None) -> Sym | None:
    """``Reshape`` of a view that only drops axes the view inserted (a recurrent output's
    direction axis, an Unsqueeze), as the view without them; else ``None``. ``batch`` is
    the batch size a file exported with a fixed batch writes in place of ``None``."""
    source = view.onnx_shape
    resolved = [
        source[i] if t == 0 and not allowzero and i < len(source) else t
        for i, t in enumerate(target)
    ]
    if resolved.count(-1) > 1:
        return None
    units = [a for a in range(view.rank) if view.engine_axis(a) is None]
    for k in range(1, len(units) + 1):
        for drop in itertools.combinations(units, k):
            kept = [d for i, d in enumerate(source) if i not in drop]
            if len(kept) == len(resolved) and all(
                r == -1 or r == d or (d is None and r == batch)
                for r, d in zip(resolved, kept, strict=True)
            ):
                return view.squeezed(drop)
    return None


@imports("Reshape")
def import_reshape(ctx, node):
    value = ctx.value(node.input[0])
    if ctx.opset < 5:  # pragma: no cover - MIN_OPSET is higher
        raise Unsupported("Reshape before opset 5")
    target = _int_vector(ctx, node.input[1], "the target shape")
    check_shape([None if d in (None, -1) else d for d in target], "the target shape")
    allowzero = bool(attr(node, "allowzero", 0))
    if isinstance(value, Const):
        if any(t is None for t in target):
            raise Unsupported("Reshape of a constant to a batch-dependent shape")
        arr = value.value
        shape = [
            arr.shape[i] if t == 0 and not allowzero and i < arr.ndim else t
            for i, t in enumerate(target)
        ]
        known = math.prod(d for d in shape if d != -1)
        if shape.count(-1) > 1 or (-1 in shape and known == 0):
            raise Unsupported(f"Reshape of a constant to {shape_text(target)} is ambiguous")
        if -1 in shape:
            shape = [arr.size // known if d == -1 else d for d in shape]
        if math.prod(shape) != arr.size:
            raise Unsupported(
                f"Reshape of a constant of shape {shape_text(arr.shape)} ({arr.size} values) "
                f"to {shape_text(target)}"
            )
        if not arr.flags.c_contiguous:  # a transposed view: reshaping copies it
            ctx.fold(arr.shape, arr.dtype)
        ctx.set(node.output[0], Const(arr.reshape(shape)))
        return
    if isinstance(value, Pending) and hasattr(value, "reshape"):
        result = value.reshape(ctx, target, allowzero)
        if result is not None:
            ctx.set(node.output[0], result)
            return
    if not isinstance(value, Sym | Pending):
        raise Unsupported("Reshape of a shape vector")
    if not (isinstance(value, Pending) and hasattr(value, "squeeze")):
        view = ctx.sym(node.input[0])
        if not view.is_plain:
            fixed = next(iter(ctx.fixed_batches)) if len(ctx.fixed_batches) == 1 else None
            squeezed = view_reshape(view, target, allowzero, fixed)
            if squeezed is not None:
                ctx.set(node.output[0], squeezed)
                return
            value = view
    rest = resolve_reshape(value.onnx_shape, target, allowzero)
    if isinstance(target[0], int) and target[0] > 0:
        ctx.warnings.append(
            f"Reshape {ctx.node_label(node)!r} fixes the batch size to {target[0]}; the "
            "imported model keeps the batch size of its input instead"
        )
    if isinstance(value, Pending) and hasattr(value, "squeeze") and len(rest) == 1:
        # GlobalAveragePool -> Reshape(N, C): the pooling layer already gives (N, C).
        result = value.squeeze(ctx, None)
        if result is not None and tuple(result.tensor.shape) == rest:
            ctx.set(node.output[0], result)
            return
    sym = ctx.sym(node.input[0])
    if sym.perm is None and 0 not in sym.units:
        sym = Sym(sym.tensor, None, sym.dtype)  # unit axes do not reorder the values
    else:
        sym = ctx.plain(node.input[0])
    ctx.set(node.output[0], reshape_sym(ctx, sym, rest, ctx.node_label(node)))
