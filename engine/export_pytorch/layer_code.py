"""One engine layer as PyTorch code: the module its node owns, the forward steps, and how its
weights move between the engine's layout and the module's ``state_dict``.

:func:`layer_code` returns a :class:`LayerCode` for a layer of the built model, given the
shapes of its inputs and its output (known before anything runs, so ``padding="same"``,
crops and resizes become fixed numbers in the code). Each forward step is an expression in
which ``{x}`` stands for the value so far (``{xs}`` for the list of a merge layer's inputs).
Spatial and recurrent layers live in :mod:`engine.export_pytorch.layer_code_spatial` and
:mod:`engine.export_pytorch.layer_code_recurrent`; this module holds the dispatch, the
activations and the simple layers. A layer type with no faithful PyTorch form raises
:class:`~engine.export_pytorch.errors.PyTorchExportError` naming the node.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from engine.export_pytorch.errors import PyTorchExportError

__all__ = ["LayerCode", "activation_steps", "layer_code", "supported_types"]

#: Keras activation name -> the PyTorch expression of it (``{x}`` the input).
ACTIVATIONS: dict[str, str] = {
    "relu": "torch.relu({x})",
    "sigmoid": "torch.sigmoid({x})",
    "tanh": "torch.tanh({x})",
    "softmax": "torch.softmax({x}, dim=-1)",
    "leaky_relu": "F.leaky_relu({x}, 0.2)",
    "elu": "F.elu({x})",
    "gelu": "F.gelu({x})",
    "softplus": "F.softplus({x})",
    "relu6": "F.relu6({x})",
    "silu": "F.silu({x})",
    "swish": "F.silu({x})",
    "hard_sigmoid": "F.hardsigmoid({x})",
    "hard_silu": "F.hardswish({x})",
    "hard_swish": "F.hardswish({x})",
    "mish": "F.mish({x})",
    "selu": "F.selu({x})",
    "softsign": "F.softsign({x})",
}

# Options whose effect is outside forward (penalties in the loss, projections after each
# step): a package that silently dropped them would train a different model.
_PENALTY_KEYS = (
    "kernel_regularizer",
    "bias_regularizer",
    "activity_regularizer",
    "recurrent_regularizer",
    "depthwise_regularizer",
    "pointwise_regularizer",
    "embeddings_regularizer",
    "beta_regularizer",
    "gamma_regularizer",
    "alpha_regularizer",
    "kernel_constraint",
    "bias_constraint",
    "recurrent_constraint",
    "depthwise_constraint",
    "pointwise_constraint",
    "embeddings_constraint",
    "beta_constraint",
    "gamma_constraint",
    "alpha_constraint",
)

ToTorch = Callable[[list], dict]
FromTorch = Callable[[dict], list]


@dataclass
class LayerCode:
    """What one node becomes in ``model.py``."""

    module: str | None  # constructor expression of ``self.<node>``, or None (no module)
    steps: list[str]  # forward expressions, applied in order
    to_torch: ToTorch | None = None  # engine arrays -> {state_dict suffix: array}
    from_torch: FromTorch | None = None  # {state_dict suffix: array} -> engine arrays
    helpers: set[str] = field(default_factory=set)  # helper classes model.py must define
    # Lines run in __init__ after the module is made ("{m}" its attribute).
    setup: list[str] = field(default_factory=list)
    # The output's final activation when it is softmax/sigmoid on the last axis: training
    # then computes the loss from the logits before it, as Keras and the engine do.
    logits_activation: str | None = None


def unsupported(layer, why: str) -> PyTorchExportError:
    return PyTorchExportError(f"node {layer.name!r} ({layer.type_name}): {why}")


def activation_steps(layer, name: str) -> tuple[list[str], str | None]:
    """The steps of activation ``name`` and, when it is softmax/sigmoid, that name."""
    if name in (None, "linear"):
        return [], None
    if name not in ACTIVATIONS:
        raise unsupported(layer, f"activation {name!r} has no PyTorch equivalent here")
    return [ACTIVATIONS[name]], name if name in ("softmax", "sigmoid") else None


def check_penalties(layer) -> None:
    used = [k for k in _PENALTY_KEYS if layer.config.get(k) is not None]
    if used:
        raise unsupported(
            layer,
            f"{', '.join(used)} cannot be exported (the package would train without it); "
            "remove it to export",
        )


def _identity(arrays: list) -> dict:
    return {}


def _dense(layer, ins, out) -> LayerCode:
    c = layer.config
    bias = bool(c.get("use_bias", True))
    act, logits = activation_steps(layer, c.get("activation"))

    def to_torch(arrays):
        found = {"weight": arrays[0].T}
        if bias:
            found["bias"] = arrays[1]
        return found

    def from_torch(state):
        return [state["weight"].T] + ([state["bias"]] if bias else [])

    return LayerCode(
        f"nn.Linear({ins[0][-1]}, {c['units']}{'' if bias else ', bias=False'})",
        ["self.{m}({x})", *act],
        to_torch,
        from_torch,
        logits_activation=logits,
    )


def _activation(layer, ins, out) -> LayerCode:
    steps, logits = activation_steps(layer, layer.config.get("activation"))
    return LayerCode(None, steps or ["{x}"], logits_activation=logits)


def _softmax(layer, ins, out) -> LayerCode:
    axis = int(layer.config.get("axis", -1))
    last = axis in (-1, len(ins[0]))
    return LayerCode(
        None, [f"torch.softmax({{x}}, dim={axis})"], logits_activation="softmax" if last else None
    )


def _relu(layer, ins, out) -> LayerCode:
    c = layer.config
    top, slope, threshold = c.get("max_value"), c.get("negative_slope", 0.0), c.get("threshold", 0)
    if top is None and not slope and not threshold:
        return LayerCode(None, ["torch.relu({x})"])
    # Keras's ReLU: x from the threshold up (capped at max_value), below it
    # negative_slope * (x - threshold).
    steps = [f"torch.where({{x}} >= {threshold!r}, {{x}}, {slope!r} * ({{x}} - {threshold!r}))"]
    if top is not None:
        steps.append(f"torch.clamp({{x}}, max={float(top)!r})")
    return LayerCode(None, steps)


def _leaky(layer, ins, out) -> LayerCode:
    return LayerCode(None, [f"F.leaky_relu({{x}}, {float(layer.config['negative_slope'])!r})"])


def _elu(layer, ins, out) -> LayerCode:
    return LayerCode(None, [f"F.elu({{x}}, alpha={float(layer.config['alpha'])!r})"])


def _gelu(layer, ins, out) -> LayerCode:
    mode = "tanh" if layer.config.get("approximate") else "none"
    return LayerCode(None, [f"F.gelu({{x}}, approximate={mode!r})"])


def _prelu(layer, ins, out) -> LayerCode:
    shape = None

    def to_torch(arrays):
        return {"alpha": arrays[0]}

    def from_torch(state):
        return [state["alpha"]]

    shape = tuple(layer.weight_specs(tuple(ins[0]))[0].shape)
    return LayerCode(f"PReLU({shape!r})", ["self.{m}({x})"], to_torch, from_torch, {"PReLU"})


def _flatten(layer, ins, out) -> LayerCode:
    return LayerCode(None, ["torch.flatten({x}, 1)"])


def _reshape(layer, ins, out) -> LayerCode:
    return LayerCode(None, [f"{{x}}.reshape(-1, *{tuple(out)!r})"])


def _permute(layer, ins, out) -> LayerCode:
    dims = tuple(int(d) for d in layer.config["dims"])
    return LayerCode(None, [f"{{x}}.permute(0, {', '.join(map(str, dims))})"])


def _repeat(layer, ins, out) -> LayerCode:
    return LayerCode(None, [f"{{x}}.unsqueeze(1).repeat(1, {int(layer.config['n'])}, 1)"])


def _dropout(layer, ins, out) -> LayerCode:
    return LayerCode(f"nn.Dropout({float(layer.config['rate'])!r})", ["self.{m}({x})"])


def _spatial_dropout(layer, ins, out) -> LayerCode:
    rate = float(layer.config["rate"])
    if layer.type_name == "SpatialDropout2D":
        return LayerCode(f"nn.Dropout2d({rate!r})", ["self.{m}({x})"])
    # (N, T, F) sequences drop whole features: Dropout1d wants the channels on axis 1.
    return LayerCode(f"nn.Dropout1d({rate!r})", ["self.{m}({x}.transpose(1, 2)).transpose(1, 2)"])


def _gaussian_noise(layer, ins, out) -> LayerCode:
    return LayerCode(
        f"GaussianNoise({float(layer.config['stddev'])!r})",
        ["self.{m}({x})"],
        helpers={"GaussianNoise"},
    )


def _gaussian_dropout(layer, ins, out) -> LayerCode:
    return LayerCode(
        f"GaussianDropout({float(layer.config['rate'])!r})",
        ["self.{m}({x})"],
        helpers={"GaussianDropout"},
    )


def _activity_regularization(layer, ins, out) -> LayerCode:
    if layer.config.get("l1") or layer.config.get("l2"):
        raise unsupported(layer, "its l1/l2 penalty cannot be exported; set both to 0 to export")
    return LayerCode(None, ["{x}"])


def _embedding(layer, ins, out) -> LayerCode:
    c = layer.config
    if c.get("mask_zero"):
        raise unsupported(layer, "mask_zero=True (masked steps) has no PyTorch equivalent here")
    return LayerCode(
        f"nn.Embedding({c['input_dim']}, {c['output_dim']})",
        ["self.{m}({x}.long())"],
        lambda arrays: {"weight": arrays[0]},
        lambda state: [state["weight"]],
    )


def _merge(op: str) -> Callable:
    def make(layer, ins, out) -> LayerCode:
        return LayerCode(None, [op])

    return make


def _concatenate(layer, ins, out) -> LayerCode:
    return LayerCode(None, [f"torch.cat({{xs}}, dim={int(layer.config.get('axis', -1))})"])


def _batch_norm(layer, ins, out) -> LayerCode:
    c = layer.config
    axis = int(c.get("axis", 1))
    rank = len(ins[0]) + 1
    axis = axis % rank
    size = ins[0][axis - 1]
    center, scale = bool(c.get("center", True)), bool(c.get("scale", True))
    names = (["weight"] if scale else []) + (["bias"] if center else [])

    def to_torch(arrays):
        arrays = list(arrays)
        state = dict(zip(names, arrays[: len(names)]))
        state["running_mean"], state["running_var"] = arrays[len(names) :]
        return state

    def from_torch(state):
        return [state[n] for n in names] + [state["running_mean"], state["running_var"]]

    args = f"{size}, axis={axis}, momentum={float(c['momentum'])!r}, eps={float(c['epsilon'])!r}"
    if not (center and scale):
        args += f", center={center}, scale={scale}"
    return LayerCode(
        f"KerasBatchNorm({args})", ["self.{m}({x})"], to_torch, from_torch, {"KerasBatchNorm"}
    )


def _layer_norm(layer, ins, out) -> LayerCode:
    c = layer.config
    axis = c.get("axis", -1)
    axes = [axis] if isinstance(axis, int) else list(axis)
    rank = len(ins[0]) + 1
    if [a % rank for a in axes] != [rank - 1]:
        raise unsupported(layer, f"axis={axis!r}: only the last axis is exported")
    center, scale = bool(c.get("center", True)), bool(c.get("scale", True))
    if center and not scale:
        raise unsupported(layer, "center=True with scale=False has no PyTorch LayerNorm form")
    size = ins[0][-1]
    eps = float(c["epsilon"])

    def to_torch(arrays):
        state = {"weight": arrays[0]} if scale else {}
        if center:
            state["bias"] = arrays[1]
        return state

    def from_torch(state):
        return ([state["weight"]] if scale else []) + ([state["bias"]] if center else [])

    affine = "" if scale else ", elementwise_affine=False"
    bias = "" if center or not scale else ", bias=False"
    return LayerCode(
        f"nn.LayerNorm({size}, eps={eps!r}{affine}{bias})", ["self.{m}({x})"], to_torch, from_torch
    )


def _group_norm(layer, ins, out) -> LayerCode:
    c = layer.config
    if int(c.get("axis", 1)) not in (1, -len(ins[0])):
        raise unsupported(layer, "only channels (axis=1) are exported")
    if bool(c.get("center", True)) != bool(c.get("scale", True)):
        raise unsupported(layer, "center and scale must both be on or both off")
    channels = ins[0][0]
    groups = channels if int(c["groups"]) == -1 else int(c["groups"])
    affine = bool(c.get("center", True))

    def to_torch(arrays):
        return {"weight": arrays[0], "bias": arrays[1]} if affine else {}

    def from_torch(state):
        return [state["weight"], state["bias"]] if affine else []

    return LayerCode(
        f"nn.GroupNorm({groups}, {channels}, eps={float(c['epsilon'])!r}, affine={affine})",
        ["self.{m}({x})"],
        to_torch,
        from_torch,
    )


_SIMPLE: dict[str, Callable] = {
    "Dense": _dense,
    "Activation": _activation,
    "Softmax": _softmax,
    "ReLU": _relu,
    "LeakyReLU": _leaky,
    "ELU": _elu,
    "GELU": _gelu,
    "PReLU": _prelu,
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Permute": _permute,
    "RepeatVector": _repeat,
    "Dropout": _dropout,
    "SpatialDropout1D": _spatial_dropout,
    "SpatialDropout2D": _spatial_dropout,
    "GaussianNoise": _gaussian_noise,
    "GaussianDropout": _gaussian_dropout,
    "ActivityRegularization": _activity_regularization,
    "Embedding": _embedding,
    "Add": _merge("sum({xs})"),
    "Subtract": _merge("{x0} - {x1}"),
    "Multiply": _merge("math.prod({xs})"),
    "Average": _merge("sum({xs}) / len({xs})"),
    "Maximum": _merge("functools.reduce(torch.maximum, {xs})"),
    "Minimum": _merge("functools.reduce(torch.minimum, {xs})"),
    "Concatenate": _concatenate,
    "BatchNormalization": _batch_norm,
    "LayerNormalization": _layer_norm,
    "GroupNormalization": _group_norm,
}


def _table() -> dict[str, Callable]:
    from engine.export_pytorch.layer_code_more import MORE  # noqa: PLC0415
    from engine.export_pytorch.layer_code_recurrent import RECURRENT  # noqa: PLC0415
    from engine.export_pytorch.layer_code_spatial import SPATIAL  # noqa: PLC0415

    return {**_SIMPLE, **SPATIAL, **RECURRENT, **MORE}


def supported_types() -> set[str]:
    """The layer types a package can hold (besides ``Input``)."""
    return set(_table())


def layer_code(layer, in_shapes: list[tuple], out_shape: tuple) -> LayerCode:
    """``layer`` (built, not an Input) as PyTorch code; a clear error when it cannot be."""
    make = _table().get(layer.type_name)
    if make is None:
        raise unsupported(layer, "this layer type has no PyTorch export yet")
    check_penalties(layer)
    code = make(layer, [tuple(s) for s in in_shapes], tuple(out_shape))
    if code.to_torch is None:
        code.to_torch = _identity
    return code


def as_float32(state: dict) -> dict:
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in state.items()}
