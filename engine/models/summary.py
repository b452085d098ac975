"""``model.summary()``: the Keras table of layers, output shapes and parameter counts.

Functional models get a fourth column, *Connected to*, listing each call's inputs as
``layer_name[node][tensor]`` like Keras; a layer used twice (shared weights) appears once,
with every connection and its parameters counted once. Columns widen to fit their content,
so long names are never cut. The last line estimates the memory training needs at batch 32
(:mod:`engine.graph.memory`): weights, gradients, optimizer state and activations.
"""

from __future__ import annotations

import math

__all__ = ["readable_size", "summary_text", "training_memory"]


def readable_size(n_bytes: int) -> str:
    """``4.82 KB`` (base 1024, as Keras prints it)."""
    size = float(n_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.2f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _shape_text(shapes: list[tuple]) -> str:
    unique = list(dict.fromkeys(shapes))
    texts = ["(" + ", ".join(["None", *map(str, s)]) + ")" for s in unique]
    return texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"


def _rows(model) -> tuple[list[list[str]], bool]:
    """One row (a list of cell lines) per layer, and whether to show connections."""
    from engine.models.sequential import Sequential  # noqa: PLC0415 - avoids a cycle

    functional = not isinstance(model, Sequential)
    nodes = model.graph_nodes()
    rows = []
    for layer in model.layers:
        calls = [t for t in nodes if t.layer is layer]
        type_label = "InputLayer" if layer.type_name == "Input" else layer.type_name
        params = sum(w.size for w in layer.weights)
        connected = [
            f"{p.layer.name}[{model.node_index(p)}][0]" for t in calls for p in t.inputs
        ] or ["-"]
        row = [
            f"{layer.name} ({type_label})",
            _shape_text([tuple(t.shape) for t in calls]),
            f"{params:,}",
        ]
        if functional:
            row.append(connected)
        rows.append(row)
    return rows, functional


def summary_text(model, line_length: int | None = None, batch_size: int = 32) -> str:
    """The summary table as one string, ending with the training-memory estimate at
    ``batch_size`` (see :func:`training_memory`)."""
    if not model.built:
        raise ValueError(
            f"model {model.name!r} is not built yet, so its shapes are unknown: start it with "
            "engine.Input(shape), call model.build(input_shape), or call it on data first"
        )
    rows, functional = _rows(model)
    headers = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if functional else [])
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            lines = cell if isinstance(cell, list) else [cell]
            widths[i] = max(widths[i], *(len(line) for line in lines))
    gap = 3
    total = sum(widths) + gap * (len(widths) - 1) + 1
    if line_length is not None and line_length > total:
        widths[0] += line_length - total
        total = line_length

    def fmt(cells: list[str]) -> str:
        parts = []
        for i, (cell, width) in enumerate(zip(cells, widths)):
            parts.append(cell.rjust(width) if i == 2 else cell.ljust(width))
        return (" " + (" " * gap).join(parts)).rstrip()

    out = [f'Model: "{model.name}"', "_" * total, fmt(headers), "=" * total]
    for k, row in enumerate(rows):
        extra = row[3] if functional else [""]
        first = [row[0], row[1], row[2]] + ([extra[0]] if functional else [])
        out.append(fmt(first))
        for more in extra[1:]:
            out.append(fmt(["", "", "", more]))
        out.append("=" * total if k == len(rows) - 1 else "_" * total)
    if not rows:
        out.append("=" * total)

    def count(weights) -> str:
        n = sum(w.size for w in weights)
        n_bytes = sum(w.size * w.data.dtype.itemsize for w in weights)
        return f"{n:,} ({readable_size(n_bytes)})"

    out.append(f"Total params: {count(model.weights)}")
    out.append(f"Trainable params: {count(model.trainable_weights)}")
    out.append(f"Non-trainable params: {count(model.non_trainable_weights)}")
    out.append(training_memory(model, batch_size).summary_line())
    out.append("_" * total)
    return "\n".join(out)


def training_memory(model, batch_size: int = 32):
    """The :class:`engine.graph.memory.MemoryEstimate` of a built model: its weights as they
    are, gradients and optimizer state for the trainable ones (the compiled optimizer's slots,
    Adam's before ``compile``), and every layer call's output at ``batch_size``."""
    from engine.graph.memory import NodeMemory, estimate, optimizer_slots  # noqa: PLC0415

    outputs: dict[int, int] = {}  # id(layer) -> bytes of one sample's outputs, every call
    layers = {}
    for tensor in model.graph_nodes():
        layer = tensor.layer
        layers[id(layer)] = layer
        itemsize = 8 if getattr(layer, "dtype", None) == "int64" else 4
        outputs[id(layer)] = outputs.get(id(layer), 0) + math.prod(tensor.shape) * itemsize
    nodes = [
        NodeMemory(
            layer.name,
            sum(w.size * w.data.dtype.itemsize for w in layer.weights),
            sum(w.size * w.data.dtype.itemsize for w in layer.trainable_weights),
            outputs[key],
        )
        for key, layer in layers.items()
    ]
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        name, slots = type(optimizer).__name__, len(optimizer.slot_names())
    else:
        name, slots = optimizer_slots(None)
    return estimate(nodes, batch_size, name, slots)
