"""A Keras model config (Sequential, Functional, nested models) as a flat list of layer
calls, in an order where every call comes after the calls it reads.

Keras configs name the tensors a layer is called on by ``(layer, node index, tensor
index)``: Keras 3 as ``{"args": [{"class_name": "__keras_tensor__", "config":
{"keras_history": [...]}}], "kwargs": {}}``, Keras 2 as ``[["layer", 0, 0, {}]]``. Both are
read. A nested model (a Sequential inside a Functional, a Functional used as a layer) is
flattened: its layers become calls of the outer graph, named ``outer_inner``. A layer called
more than once (a shared layer) gives one call per use, each with its own node id; the
importer then decides what to do with the copies.

Each call carries where its weights are: the path of its group in a Keras 3 weights file
(``layers/dense_1``, named by class as Keras's saver names them, not by layer name) and its
layer name for a Keras 2 ``.h5`` file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from engine.keras_io.errors import LayerIssue

__all__ = ["ConfigError", "KerasCall", "KerasGraph", "flatten_config", "snake_case"]

MODEL_CLASSES = ("Sequential", "Functional", "Model")
INPUT_CLASS = "InputLayer"
MAX_NESTING = 8


class ConfigError(ValueError):
    """The config is not a Keras model config LayerCanvas can read (one message)."""


def snake_case(name: str) -> str:
    """Keras's ``naming.to_snake_case``: the class name its weights file groups use."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


@dataclass
class KerasCall:
    """One use of one Keras layer: a node of the imported graph."""

    id: str  # the engine node id (unique)
    class_name: str
    layer_name: str  # the Keras layer's own (prefixed) name; shared calls repeat it
    config: dict
    inputs: list[str]  # ids of the calls whose outputs it reads, in argument order
    weights_path: str | None = None  # group in a Keras 3 weights file
    legacy_path: tuple[str, str | None] | None = None  # (top-level group, inner layer)
    use: int = 0  # 0 for the first call of a layer, 1 for the second, ...
    # The nested models it sits in, outermost first, each as (model name, which call).
    scope: tuple[tuple[str, int], ...] = ()
    options: dict = field(default_factory=dict)  # the call's non-tensor keyword arguments


@dataclass
class KerasGraph:
    calls: list[KerasCall] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    issues: list[LayerIssue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _ids: set[str] = field(default_factory=set)

    def new_id(self, base: str) -> str:
        node_id, n = base, 1
        while node_id in self._ids:
            n += 1
            node_id = f"{base}_{n}"
        self._ids.add(node_id)
        return node_id


def flatten_config(model_config: dict) -> KerasGraph:
    """The flat call graph of a Keras model config (``{"class_name": ..., "config": ...}``)."""
    if not isinstance(model_config, dict) or not isinstance(model_config.get("config"), dict):
        raise ConfigError("the model config is not a Keras model (no 'config' object)")
    class_name = model_config.get("class_name")
    if class_name not in MODEL_CLASSES:
        raise ConfigError(
            f"the file holds a {class_name!r}, not a Sequential or Functional model "
            "(subclassed models have no config LayerCanvas can read)"
        )
    graph = KerasGraph()
    walker = _Walker(graph)
    outputs = walker.model(model_config, None, "", "", ("", None), 0)
    graph.outputs = outputs
    return graph


def _name(entry: dict) -> str:
    config = entry.get("config") if isinstance(entry.get("config"), dict) else {}
    name = entry.get("name") or config.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"a {entry.get('class_name')!r} layer has no name")
    return name


class _Walker:
    def __init__(self, graph: KerasGraph):
        self.graph = graph
        self.scope: list[tuple[str, int]] = []

    def model(self, entry, inputs, prefix, h5_path, legacy, depth) -> list[str]:
        """Add the calls of one (possibly nested) model; ``inputs`` are the outer tensors it
        is called on (None for the top level, whose InputLayers become inputs)."""
        if depth > MAX_NESTING:
            raise ConfigError(f"models are nested more than {MAX_NESTING} levels deep")
        config = entry["config"]
        layers = config.get("layers")
        if not isinstance(layers, list) or not all(isinstance(x, dict) for x in layers):
            raise ConfigError(f"model {config.get('name')!r} has no list of layers")
        if entry.get("class_name") == "Sequential":
            return self._sequential(config, layers, inputs, prefix, h5_path, legacy, depth)
        return self._functional(config, layers, inputs, prefix, h5_path, legacy, depth)

    # -- Sequential ---------------------------------------------------------------------

    def _sequential(self, config, layers, inputs, prefix, h5_path, legacy, depth):
        used: dict[str, int] = {}
        current: list[str] | None = inputs
        body = list(layers)
        if body and body[0].get("class_name") == INPUT_CLASS:
            first = body.pop(0)
            if current is None:
                current = [self._input(first, prefix, _batch_shape(first.get("config", {})))]
        if current is None:
            shape = config.get("build_input_shape")
            if shape is None and body:
                shape = _batch_shape(body[0].get("config", {}))
            if shape is None:
                raise ConfigError(
                    f"the Sequential model {config.get('name')!r} has no input shape "
                    "(it was never built); build it before saving"
                )
            name = f"{config.get('name') or 'sequential'}_input"
            current = [self._input({"class_name": INPUT_CLASS, "config": {}}, prefix, shape, name)]
        for layer in body:
            h5 = _unique_path(h5_path, layer, used)
            current = self._layer(layer, current, prefix, h5, legacy, depth)
        return current

    # -- Functional ---------------------------------------------------------------------

    def _functional(self, config, layers, inputs, prefix, h5_path, legacy, depth):
        used: dict[str, int] = {}
        by_name = {}
        paths = {}
        for layer in layers:
            name = _name(layer)
            if name in by_name:
                raise ConfigError(f"two layers are named {name!r}")
            by_name[name] = layer
            paths[name] = _unique_path(h5_path, layer, used)
        tensors: dict[tuple[str, int], list[str]] = {}
        input_refs = _refs(config.get("input_layers"))
        if inputs is not None:
            if len(input_refs) != len(inputs):
                raise ConfigError(
                    f"model {config.get('name')!r} takes {len(input_refs)} inputs, "
                    f"called on {len(inputs)}"
                )
            for (name, node, _), tensor in zip(input_refs, inputs, strict=True):
                tensors[(name, node)] = [tensor]
        pending = [(layer, i, n) for layer in layers for i, n in enumerate(_nodes(layer))]
        for layer in layers:
            name = _name(layer)
            if layer.get("class_name") == INPUT_CLASS and (name, 0) not in tensors:
                if inputs is not None:
                    raise ConfigError(f"nested model input {name!r} is not called on anything")
                shape = _batch_shape(layer.get("config", {}))
                tensors[(name, 0)] = [self._input(layer, prefix, shape)]
        while pending:
            progress = []
            for layer, index, node in pending:
                refs = _node_refs(node, _name(layer))
                if all((n, i) in tensors for n, i, _ in refs):
                    args = [tensors[(n, i)][t] for n, i, t in refs]
                    name = _name(layer)
                    outs = self._layer(
                        layer,
                        args,
                        prefix,
                        paths[name],
                        legacy,
                        depth,
                        use=index,
                        options=call_options(node),
                    )
                    tensors[(name, index)] = outs
                    progress.append((layer, index, node))
            if not progress:
                names = ", ".join(sorted({_name(layer) for layer, _, _ in pending}))
                raise ConfigError(f"layers {names} read tensors no layer makes")
            pending = [p for p in pending if p not in progress]
        outputs = []
        for name, node, index in _refs(config.get("output_layers")):
            if (name, node) not in tensors:
                raise ConfigError(f"the model's output {name!r} is not made by any layer")
            outputs.append(tensors[(name, node)][index])
        return outputs

    # -- one layer ------------------------------------------------------------------------

    def _input(self, entry, prefix, shape, name=None) -> str:
        name = name or _name(entry)
        if shape is None:
            raise ConfigError(f"input {name!r} has no shape")
        config = dict(entry.get("config") or {})
        config["batch_shape"] = list(shape)
        node_id = self.graph.new_id(_join(prefix, name))
        self.graph.calls.append(KerasCall(node_id, INPUT_CLASS, node_id, config, []))
        self.graph.inputs.append(node_id)
        return node_id

    def _layer(self, entry, args, prefix, h5, legacy, depth, use=0, options=None) -> list[str]:
        class_name = entry.get("class_name")
        name = _name(entry)
        if class_name in MODEL_CLASSES:
            inner_legacy = (legacy[0] or name, None)
            self.scope.append((name, use))
            try:
                return self.model(entry, args, _join(prefix, name), h5, inner_legacy, depth + 1)
            finally:
                self.scope.pop()
        if class_name == INPUT_CLASS:
            return args
        config = entry.get("config")
        if not isinstance(class_name, str) or not isinstance(config, dict):
            raise ConfigError(f"layer {name!r} has no class_name and config")
        full = _join(prefix, name)
        node_id = self.graph.new_id(full)
        group = (legacy[0], name) if legacy[0] else (name, None)
        call = KerasCall(
            node_id,
            class_name,
            full,
            config,
            list(args),
            h5,
            group,
            use,
            tuple(self.scope),
            dict(options or {}),
        )
        self.graph.calls.append(call)
        return [node_id]


def _join(prefix: str, name: str) -> str:
    return f"{prefix}_{name}" if prefix else name


def _unique_path(h5_path: str, layer: dict, used: dict[str, int]) -> str:
    """Keras's saver names each layer's group by its class, ``dense``, ``dense_1``, ..."""
    base = snake_case(str(layer.get("class_name", "")))
    if base in used:
        used[base] += 1
        base = f"{base}_{used[base]}"
    else:
        used[base] = 0
    return f"{h5_path}/layers/{base}" if h5_path else f"layers/{base}"


def _batch_shape(config: dict):
    shape = config.get("batch_shape", config.get("batch_input_shape"))
    if shape is None:
        return None
    if not isinstance(shape, list) or not shape:
        raise ConfigError(f"bad input shape {shape!r}")
    return shape


def _refs(value) -> list[tuple[str, int, int]]:
    """``input_layers`` / ``output_layers``: one ``[name, node, tensor]`` or a list."""
    if value is None:
        return []
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
        value = [value]
    if isinstance(value, dict):  # Keras 3 may key them by name
        value = list(value.values())
    out = []
    for ref in value if isinstance(value, list) else []:
        if not (isinstance(ref, list) and len(ref) >= 3 and isinstance(ref[0], str)):
            raise ConfigError(f"bad layer reference {ref!r}")
        out.append((ref[0], int(ref[1]), int(ref[2])))
    return out


def _nodes(layer: dict) -> list:
    nodes = layer.get("inbound_nodes") or []
    if layer.get("class_name") == INPUT_CLASS:
        return []
    if not isinstance(nodes, list):
        raise ConfigError(f"layer {_name(layer)!r} has malformed inbound_nodes")
    return nodes


# Call arguments that are inputs when named (MultiHeadAttention(query, value=..., key=...)).
_TENSOR_KWARGS = ("value", "key")


def call_options(node) -> dict:
    """A call's keyword arguments that are not tensors (``use_causal_mask=True``)."""
    if not isinstance(node, dict):
        return {}
    out = {}
    for key, value in (node.get("kwargs") or {}).items():
        found: list = []
        _collect_tensors(value, found)
        if not found and value is not None:
            out[key] = value
    return out


def _node_refs(node, layer_name: str) -> list[tuple[str, int, int]]:
    """The tensors one call reads, in order, in either config format."""
    if isinstance(node, dict):  # Keras 3
        refs: list[tuple[str, int, int]] = []
        _collect_tensors(node.get("args", []), refs)
        kwargs = dict(node.get("kwargs") or {})
        for key in _TENSOR_KWARGS:  # attention's value and key, given by name
            if key in kwargs:
                _collect_tensors(kwargs.pop(key), refs)
        kwargs_refs: list[tuple[str, int, int]] = []
        _collect_tensors(kwargs, kwargs_refs)
        if kwargs_refs:
            raise ConfigError(
                f"layer {layer_name!r} is called with tensors as keyword arguments "
                "(a mask or an attention input), which LayerCanvas cannot represent"
            )
        return refs
    if isinstance(node, list):  # Keras 2: [[name, node, tensor, kwargs], ...]
        out = []
        for ref in node:
            if not (isinstance(ref, list) and len(ref) >= 3 and isinstance(ref[0], str)):
                raise ConfigError(f"layer {layer_name!r} has a malformed inbound node")
            out.append((ref[0], int(ref[1]), int(ref[2])))
        return out
    raise ConfigError(f"layer {layer_name!r} has a malformed inbound node")


def _collect_tensors(value, out: list) -> None:
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            history = (value.get("config") or {}).get("keras_history")
            if not (isinstance(history, list) and len(history) == 3):
                raise ConfigError("a tensor reference has no keras_history")
            out.append((str(history[0]), int(history[1]), int(history[2])))
            return
        for item in value.values():
            _collect_tensors(item, out)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect_tensors(item, out)
