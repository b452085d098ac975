"""Importers for ``RNN`` / ``LSTM`` / ``GRU``: ``SimpleRNN`` / ``LSTM`` / ``GRU`` layers.

The engine's layers are batch first; ONNX's default layout is time-major. Exporters wrap
the operator accordingly (ours and PyTorch's ``batch_first`` modules write
``Transpose(perm=[1, 0, 2]) -> LSTM -> Squeeze -> Transpose`` for every step's state, and
``Squeeze`` or ``Gather(0 / -1)`` of ``Y_h`` for the last one), and those patterns are what
is recognised here; ``layout=1`` (batch first) works directly. The layer is created when
a node reads ``Y`` (``return_sequences=True``) or ``Y_h`` (``False``); a model reading both
gets two layers with the same weights. Weights are converted back to Keras's layout (the
inverse of :mod:`engine.onnx.mappings.recurrent`).
"""

from __future__ import annotations

import numpy as np

from engine.onnx.import_errors import Unsupported
from engine.onnx.import_registry import attr, imports
from engine.onnx.import_rnn_patterns import BIDIRECTIONAL_OP
from engine.onnx.import_values import Filled, Pending, Sym
from engine.onnx.mappings.recurrent import KERAS_BLOCK_OF_ONNX, reorder_blocks

LAYER_TYPE = {"RNN": "SimpleRNN", "LSTM": "LSTM", "GRU": "GRU"}
GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}
DEFAULT_ACTIVATIONS = {
    "RNN": ["Tanh"],
    "LSTM": ["Sigmoid", "Tanh", "Tanh"],
    "GRU": ["Sigmoid", "Tanh"],
}
# ONNX's defaults for the activation parameters it consumes in order.
ALPHA_DEFAULTS = {"affine": 1.0, "leakyrelu": 0.01, "elu": 1.0}
BETA_DEFAULTS = {"affine": 0.0}


def _engine_activations(node, op: str) -> list[str]:
    names = attr(node, "activations") or DEFAULT_ACTIVATIONS[op]
    alphas = list(attr(node, "activation_alpha") or [])
    betas = list(attr(node, "activation_beta") or [])
    result = []
    for name in names[: len(DEFAULT_ACTIVATIONS[op])]:
        key = name.lower()
        alpha = alphas.pop(0) if key in ALPHA_DEFAULTS and alphas else ALPHA_DEFAULTS.get(key)
        beta = betas.pop(0) if key in BETA_DEFAULTS and betas else BETA_DEFAULTS.get(key)
        if key in ("tanh", "sigmoid", "relu", "softplus"):
            result.append(key)
        elif key == "affine" and alpha == 1.0 and beta == 0.0:
            result.append("linear")
        elif key == "elu" and abs(alpha - 1.0) < 1e-6:
            result.append("elu")
        elif key == "leakyrelu" and abs(alpha - 0.2) < 1e-6:
            result.append("leaky_relu")
        else:
            raise Unsupported(f"recurrent activation {name} with these parameters")
    return result


class Recurrent:
    """One ONNX recurrent node: what its layer(s) need, created on demand."""

    def __init__(self, label, op, source: Sym, config, weights, layout, steps):
        self.label = label
        self.op = op
        self.source = source
        self.config = config
        self.weights = weights
        self.layout = layout
        self.steps = steps
        self._made: dict[bool, Sym] = {}

    def layer(self, ctx, return_sequences: bool) -> Sym:
        if return_sequences not in self._made:
            out = ctx.call_layer(
                LAYER_TYPE[self.op],
                self.label,
                self.source,
                weights=self.weights,
                return_sequences=return_sequences,
                **self.config,
            )
            self._made[return_sequences] = Sym(out)
            if return_sequences:
                ctx.sequences[id(out)] = self
            ctx.recurrent_layers.setdefault(self.label, []).append(out.layer)
        return self._made[return_sequences]


class RecurrentOutput(Pending):
    """``Y`` (``sequence=True``) or ``Y_h`` of a recurrent node. Reading it creates the
    layer; the data is then a view of the layer's batch-first output with ONNX's extra
    direction axis (and, for ``layout=0``, the time axis first), which the Squeeze /
    Transpose / Gather / Reshape after it normally undo."""

    def __init__(self, node: Recurrent, sequence: bool):
        self.node = node
        self.sequence = sequence
        self.node_name = node.label
        self._result = None

    @property
    def onnx_shape(self) -> tuple:
        units, steps = self.node.config["units"], self.node.steps
        if self.sequence:
            return (steps, 1, None, units) if self.node.layout == 0 else (None, steps, 1, units)
        return (1, None, units) if self.node.layout == 0 else (None, 1, units)

    def build(self, ctx) -> Sym:
        tensor = self.node.layer(ctx, self.sequence).tensor
        if self.sequence:  # (N, T, H) seen as (T, 1, N, H) or (N, T, 1, H)
            perm = (1, 2, 0, 3) if self.node.layout == 0 else None
            return Sym(tensor, perm, "float32", (2,))
        # (N, H) seen as (1, N, H) or (N, 1, H)
        return Sym(tensor, None, "float32", (0,) if self.node.layout == 0 else (1,))


def _absent_or(ctx, node, index: int, check, reason: str) -> None:
    if not ctx.has_input(node, index):
        return
    value = ctx.value(node.input[index])
    if isinstance(value, Filled):  # zeros shaped by the batch size (PyTorch's initial state)
        if value.value != 0:
            raise Unsupported(reason)
        return
    if not check(ctx.const(node.input[index], reason)):
        raise Unsupported(reason)


def last_step(ctx, sym: Sym, axis: int, index) -> Sym | None:
    """``sequence[:, -1]`` of a recurrent layer's every-step output is its last state."""
    node = ctx.sequences.get(id(sym.tensor))
    if node is None or index.ndim != 0:
        return None
    if sym.engine_axis(axis) == 1 and int(index) in (-1, node.steps - 1):
        return node.layer(ctx, False)
    return None


@imports("RNN", "LSTM", "GRU")
def import_recurrent(ctx, node):
    op = node.op_type
    if attr(node, "direction", "forward") != "forward":
        raise Unsupported(
            f"{attr(node, 'direction')} direction whose outputs are not merged the way "
            "Bidirectional merges them (forward then backward features, sum, mul or average)"
        )
    if attr(node, "clip") is not None:
        raise Unsupported("cell clipping (clip)")
    if attr(node, "input_forget", 0):
        raise Unsupported("coupled input and forget gates (input_forget=1)")
    if op == "LSTM" and ctx.outputs_used(node, 2):
        raise Unsupported("the cell state output Y_c of LSTM is used")
    layout = int(attr(node, "layout", 0))
    sym = ctx.sym(node.input[0])
    if sym.rank != 3 or sym.units:
        raise Unsupported(f"{op} input of shape {sym.onnx_shape}")
    expected_perm = (1, 0, 2) if layout == 0 else None
    if sym.perm != expected_perm:
        raise Unsupported(
            f"{op} input X is time-major data straight from the model input; LayerCanvas "
            "keeps the batch first (a Transpose(perm=[1, 0, 2]) of batch-first data is "
            "supported, as is layout=1)"
        )
    steps = sym.tensor.shape[0]
    k = GATES[op]
    w = ctx.float_const(node.input[1], "W")
    r = ctx.float_const(node.input[2], "R")
    if w.ndim != 3 or w.shape[0] != 1 or r.ndim != 3 or r.shape[0] != 1:
        raise Unsupported("W / R of a multi-direction recurrent node")
    units = r.shape[2]
    if attr(node, "hidden_size", units) != units or w.shape[1] != k * units:
        raise Unsupported(f"W {w.shape} / R {r.shape} do not fit hidden_size {units}")
    _absent_or(ctx, node, 4, lambda s: bool(np.all(s == steps)), "variable sequence lengths")
    _absent_or(ctx, node, 5, lambda h: not np.any(h), "a non-zero initial state (initial_h)")
    if op == "LSTM":
        _absent_or(ctx, node, 6, lambda c: not np.any(c), "a non-zero initial cell (initial_c)")
        _absent_or(ctx, node, 7, lambda p: not np.any(p), "peephole connections (P)")
    activations = _engine_activations(node, op)
    order = np.argsort(KERAS_BLOCK_OF_ONNX[LAYER_TYPE[op]]).tolist()  # ONNX -> Keras blocks
    kernel = reorder_blocks(w[0].T, order, units)
    recurrent = reorder_blocks(r[0].T, order, units)
    weights = [kernel, recurrent]
    config = {"units": int(units), "activation": activations[-1]}
    if op != "RNN":
        config["recurrent_activation"] = activations[0]
    if op == "LSTM" and len(set(activations[1:])) != 1:
        raise Unsupported("LSTM with different cell and output activations")
    if op == "GRU":
        config["reset_after"] = bool(attr(node, "linear_before_reset", 0))
    if op == "LSTM":
        config["unit_forget_bias"] = False
    if ctx.has_input(node, 3):
        b = ctx.float_const(node.input[3], "B").reshape(2, k * units)
        wb, rb = (reorder_blocks(part, order, units) for part in b)
        weights.append(np.stack([wb, rb]) if config.get("reset_after") else wb + rb)
        config["use_bias"] = True
    else:
        config["use_bias"] = False
    recurrent_node = Recurrent(
        ctx.node_label(node), op, Sym(sym.tensor), config, weights, layout, steps
    )
    if len(node.output) > 0:
        ctx.set(node.output[0], RecurrentOutput(recurrent_node, sequence=True))
    if len(node.output) > 1:
        ctx.set(node.output[1], RecurrentOutput(recurrent_node, sequence=False))


def _direction_weights(ctx, node, op: str, index: int, units: int, reset_after: bool):
    """Keras-layout weights of direction ``index`` of a recurrent node."""
    k = GATES[op]
    order = np.argsort(KERAS_BLOCK_OF_ONNX[LAYER_TYPE[op]]).tolist()  # ONNX -> Keras blocks
    w = ctx.float_const(node.input[1], "W")
    r = ctx.float_const(node.input[2], "R")
    weights = [reorder_blocks(w[index].T, order, units), reorder_blocks(r[index].T, order, units)]
    if ctx.has_input(node, 3):
        b = ctx.float_const(node.input[3], "B").reshape(w.shape[0], 2, k * units)[index]
        wb, rb = (reorder_blocks(part, order, units) for part in b)
        weights.append(np.stack([wb, rb]) if reset_after else wb + rb)
    return weights


@imports(BIDIRECTIONAL_OP)
def import_bidirectional(ctx, node):
    """One ``Bidirectional`` layer from a bidirectional operator and its merge
    (:mod:`engine.onnx.import_rnn_patterns` grouped them)."""
    op = attr(node, "cell")
    if attr(node, "clip") is not None:
        raise Unsupported("cell clipping (clip)")
    if attr(node, "input_forget", 0):
        raise Unsupported("coupled input and forget gates (input_forget=1)")
    sym = ctx.sym(node.input[0])
    layout = int(attr(node, "layout", 0))
    if sym.rank != 3 or sym.units or sym.perm != ((1, 0, 2) if layout == 0 else None):
        raise Unsupported(
            f"bidirectional {op} input X of shape {sym.onnx_shape}: LayerCanvas keeps the "
            "batch first (a Transpose(perm=[1, 0, 2]) of batch-first data is supported)"
        )
    steps = sym.tensor.shape[0]
    w = ctx.float_const(node.input[1], "W")
    r = ctx.float_const(node.input[2], "R")
    if w.ndim != 3 or w.shape[0] != 2 or r.ndim != 3 or r.shape[0] != 2:
        raise Unsupported(f"W {w.shape} / R {r.shape} of a bidirectional {op}")
    units = r.shape[2]
    if w.shape[1] != GATES[op] * units:
        raise Unsupported(f"W {w.shape} / R {r.shape} do not fit hidden_size {units}")
    _absent_or(ctx, node, 4, lambda s: bool(np.all(s == steps)), "variable sequence lengths")
    _absent_or(ctx, node, 5, lambda h: not np.any(h), "a non-zero initial state (initial_h)")
    if op == "LSTM":
        _absent_or(ctx, node, 6, lambda c: not np.any(c), "a non-zero initial cell (initial_c)")
        _absent_or(ctx, node, 7, lambda p: not np.any(p), "peephole connections (P)")
    names = attr(node, "activations")
    if names and names[: len(names) // 2] != names[len(names) // 2 :]:
        raise Unsupported("different activations in the two directions")
    activations = _engine_activations(node, op)
    config = {
        "layer": LAYER_TYPE[op],
        "units": int(units),
        "activation": activations[-1],
        "merge_mode": attr(node, "merge_mode"),
        "return_sequences": bool(attr(node, "return_sequences")),
        "use_bias": ctx.has_input(node, 3),
    }
    if op != "RNN":
        config["recurrent_activation"] = activations[0]
    if op == "LSTM":
        config["unit_forget_bias"] = False
    reset_after = op == "GRU" and bool(attr(node, "linear_before_reset", 0))
    if op == "GRU":
        config["reset_after"] = reset_after
    weights = [
        *_direction_weights(ctx, node, op, 0, units, reset_after),
        *_direction_weights(ctx, node, op, 1, units, reset_after),
    ]
    out = ctx.call_layer(
        "Bidirectional", ctx.node_label(node), Sym(sym.tensor), weights=weights, **config
    )
    time_major = attr(node, "sequence_layout", 0) == 1
    ctx.set(node.output[0], Sym(out, (1, 0, 2)) if time_major else Sym(out))
