"""``model.py`` of a PyTorch package: the engine model as a readable ``nn.Module``.

Each node with weights (or with train/eval behaviour) becomes an attribute named after the
node (``self.conv1``), and ``forward`` is one line per node, in the graph's order, each
reading the values of the nodes wired into it, so it reads like the canvas. The module
also carries :func:`load_weights` / :func:`save_weights` (``.npz`` of the ``state_dict``,
no pickle). :func:`model_source` writes the file and :func:`torch_state` the engine's
weights in the module's ``state_dict`` names; :func:`engine_weights` maps such a state
back to the engine's ``get_weights`` order, layer by layer.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

import numpy as np

from engine.export_pytorch.errors import PyTorchExportError
from engine.export_pytorch.layer_code import LayerCode, as_float32, layer_code
from engine.export_pytorch.model_helpers import helpers_text

__all__ = ["ModelCode", "build_model_code", "engine_weights", "model_source", "torch_state"]

# Attribute names nn.Module itself uses: a node called "train" gets another name.
_MODULE_NAMES = frozenset(  # noqa: SIM905  (a word list reads better as words)
    [
        "training",
        "forward",
        "train",
        "eval",
        "to",
        "cuda",
        "cpu",
        "float",
        "double",
        "half",
        "type",
        "apply",
        "state_dict",
        "load_state_dict",
        "parameters",
        "buffers",
        "modules",
        "children",
        "named_parameters",
        "named_buffers",
        "named_modules",
        "named_children",
        "zero_grad",
        "register_buffer",
        "register_parameter",
        "add_module",
        "requires_grad_",
        "extra_repr",
        "dump_patches",
        "call_super_init",
        "logits",
        "x",
        "self",
        "torch",
        "nn",
        "F",
        "np",
        "math",
        "functools",
        "Path",
    ]
)


@dataclass
class NodeCode:
    node: str  # the engine layer's (the canvas node's) name
    var: str  # its Python name in model.py
    type_name: str
    inputs: list[str]  # vars of the nodes it reads
    code: LayerCode | None  # None for an Input
    trainable: bool = True


@dataclass
class ModelCode:
    """The parsed-out pieces of ``model.py`` for one engine model."""

    name: str
    nodes: list[NodeCode]
    inputs: list[str]  # vars
    outputs: list[str]  # vars
    input_dtypes: list[str]

    def output_activations(self) -> dict[str, str]:
        """Output node name -> softmax/sigmoid for outputs that can return logits."""
        by_var = {n.var: n for n in self.nodes}
        found = {}
        for var in self.outputs:
            n = by_var[var]
            if n.code is not None and n.code.logits_activation:
                found[n.node] = n.code.logits_activation
        return found


def _ident(name: str, used: set[str]) -> str:
    base = re.sub(r"\W", "_", name).strip("_") or "node"
    if base[0].isdigit() or keyword.iskeyword(base) or base in _MODULE_NAMES:
        base = f"layer_{base}"
    ident, n = base, 1
    while ident in used:
        n += 1
        ident = f"{base}_{n}"
    used.add(ident)
    return ident


def build_model_code(model) -> ModelCode:
    """Every node's code; every node that cannot be exported is named in one error."""
    used: set[str] = set()
    var_of: dict[int, str] = {}
    nodes: list[NodeCode] = []
    problems: list[str] = []
    for tensor in model.graph_nodes():
        layer = tensor.layer
        var = _ident(layer.name, used)
        var_of[id(layer)] = var
        inputs = [var_of[id(t.layer)] for t in tensor.inputs]
        if layer.type_name == "Input":
            nodes.append(NodeCode(layer.name, var, "Input", [], None))
            continue
        try:
            code = layer_code(layer, [t.shape for t in tensor.inputs], tensor.shape)
        except PyTorchExportError as err:
            problems.append(str(err))
            continue
        nodes.append(NodeCode(layer.name, var, layer.type_name, inputs, code, layer.trainable))
    if problems:
        raise PyTorchExportError("; ".join(problems))
    inputs = [var_of[id(t.layer)] for t in model.inputs]
    dtypes = [str(t.layer.config.get("dtype") or "float32") for t in model.inputs]
    outputs = [var_of[id(t.layer)] for t in model.outputs]
    return ModelCode(model.name or "model", nodes, inputs, outputs, dtypes)


def _class_name(name: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", name)
    ident = "".join(w[:1].upper() + w[1:] for w in words) or "Model"
    return ident if ident[0].isalpha() else f"Model{ident}"


def _forward_lines(n: NodeCode, logits_of: dict[str, str]) -> list[str]:
    code = n.code
    steps = list(code.steps)
    current = n.inputs[0] if n.inputs else None
    fields = {"m": n.var, "xs": f"[{', '.join(n.inputs)}]"}
    fields.update({f"x{i}": v for i, v in enumerate(n.inputs)})
    lines = []
    if n.var in logits_of:  # the activation is kept apart so training can see the logits
        last = steps.pop()
        for step in steps:
            lines.append(f"{logits_of[n.var]} = {step.format(x=current, **fields)}")
            current = logits_of[n.var]
        if not steps:
            lines.append(f"{logits_of[n.var]} = {current}")
            current = logits_of[n.var]
        lines.append(f"{n.var} = {last.format(x=current, **fields)}")
        return lines
    for step in steps:
        text = step.format(x=current, **fields)
        if text != n.var:
            lines.append(f"{n.var} = {text}")
        current = n.var
    return lines


def model_source(mc: ModelCode, project_name: str | None = None) -> str:
    """The text of ``model.py``."""
    cls = _class_name(project_name or mc.name)
    outs_act = mc.output_activations()
    by_var = {n.var: n for n in mc.nodes}
    logits_of = {v: f"{v}_logits" for v in mc.outputs if by_var[v].node in outs_act}
    helpers = set().union(*(n.code.helpers for n in mc.nodes if n.code is not None))
    lines = [
        f'"""{project_name or mc.name}: the LayerCanvas graph as a PyTorch module.',
        "",
        "Written by LayerCanvas (export --pytorch). Each attribute is a node of the canvas,",
        "and forward() computes the nodes in the graph's order. Layouts are LayerCanvas's",
        "(channels first: images (N, C, H, W); sequences (N, T, F)).",
        '"""',
        "",
        *_std_imports(mc, helpers),
        "from pathlib import Path",
        "",
        "import numpy as np",
        "import torch",
        "import torch.nn.functional as F  # noqa: N812",
        "from torch import nn",
        "",
        "HERE = Path(__file__).resolve().parent",
        "",
        f"INPUTS = {[by_var[v].node for v in mc.inputs]!r}",
        f"INPUT_DTYPES = {mc.input_dtypes!r}",
        f"OUTPUTS = {[by_var[v].node for v in mc.outputs]!r}",
        "# Outputs ending in softmax/sigmoid: forward(..., logits=True) returns the values",
        "# before it, which the loss uses (as Keras does, exact and stable).",
        f"OUTPUT_ACTIVATIONS = {outs_act!r}",
        "",
    ]
    lines += helpers_text(helpers)
    lines += [
        "",
        f"class {cls}(nn.Module):",
        "    def __init__(self):",
        "        super().__init__()",
    ]
    for n in mc.nodes:
        if n.code is None or n.code.module is None:
            continue
        lines.append(f"        self.{n.var} = {n.code.module}")
        for line in n.code.setup:
            lines.append(f"        {line.format(m=n.var)}")
        if not n.trainable:
            lines.append(f"        self.{n.var}.requires_grad_(False)  # frozen on the canvas")
    args = ", ".join(mc.inputs)
    lines += ["", f"    def forward(self, {args}, logits=False):"]
    for n in mc.nodes:
        if n.code is None:
            continue
        for line in _forward_lines(n, logits_of):
            lines.append(f"        {line}")
    plain = mc.outputs
    raw = [logits_of.get(v, v) for v in mc.outputs]
    if logits_of:
        lines += ["        if logits:", f"            return {_tuple(raw)}"]
    lines += [f"        return {_tuple(plain)}", ""]
    lines += _io_text(cls)
    return "\n".join(lines) + "\n"


def _std_imports(mc: ModelCode, helpers: set[str]) -> list[str]:
    """``import functools`` / ``import math`` when a step or helper uses them."""
    text = " ".join(step for n in mc.nodes if n.code is not None for step in n.code.steps)
    text += " ".join(helpers_text(helpers))
    return [f"import {name}" for name in ("functools", "math") if f"{name}." in text]


def _tuple(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"({', '.join(names)})"


def torch_state(model, mc: ModelCode) -> dict[str, np.ndarray]:
    """The engine model's weights under the generated module's ``state_dict`` names."""
    layers = {layer.name: layer for layer in model.layers}
    state: dict[str, np.ndarray] = {}
    for n in mc.nodes:
        if n.code is None or n.code.module is None:
            continue
        arrays = [np.asarray(a) for a in layers[n.node].get_weights()]
        for key, array in as_float32(n.code.to_torch(arrays)).items():
            state[f"{n.var}.{key}"] = array
    return state


def engine_weights(model, mc: ModelCode, state: dict) -> dict[str, list[np.ndarray]]:
    """Layer name -> ``get_weights`` arrays, from a ``state_dict`` of the generated module."""
    found: dict[str, list[np.ndarray]] = {}
    for n in mc.nodes:
        if n.code is None or n.code.from_torch is None:
            continue
        prefix = f"{n.var}."
        part = {k[len(prefix) :]: np.asarray(v) for k, v in state.items() if k.startswith(prefix)}
        try:
            found[n.node] = [np.asarray(a, dtype=np.float32) for a in n.code.from_torch(part)]
        except KeyError as err:
            raise PyTorchExportError(
                f"the checkpoint has no {prefix}{err.args[0]} for node {n.node!r}"
            ) from None
    return found


def _io_text(cls: str) -> list[str]:
    return [
        "",
        "def build_model():",
        f'    """A fresh {cls}."""',
        f"    return {cls}()",
        "",
        "",
        "def load_weights(model, path=HERE / 'weights.npz'):",
        '    """Load a state dict saved as .npz (no pickle: np.load with allow_pickle=False)."""',
        "    with np.load(path, allow_pickle=False) as arrays:",
        "        state = {k: torch.from_numpy(arrays[k]) for k in arrays.files if '.' in k}",
        "    model.load_state_dict(state)",
        "    return model",
        "",
        "",
        "def state_arrays(model):",
        '    """The state dict as numpy arrays (what save_weights and checkpoints write)."""',
        "    return {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}",
        "",
        "",
        "def save_weights(model, path):",
        "    np.savez(path, **state_arrays(model))",
    ]
