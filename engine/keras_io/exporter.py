"""``export_keras(model, path)``: an engine model as a Keras 3 ``.keras`` archive.

The archive is what Keras's own ``model.save`` writes: ``metadata.json``, ``config.json`` (a
Functional model: one entry per layer with its call, ``input_layers``, ``output_layers``
and, when training settings are given, a ``compile_config``) and ``model.weights.h5``
(each layer's arrays in Keras's layout under the group Keras's loader looks for: named by
class, in the order of :mod:`engine.keras_io.keras_order`; a recurrent layer's under its
``cell``: each mapping's ``weight_groups``). Spatial layers are written ``channels_first``,
the engine's own layout, so the Keras model reads the same arrays and computes the same
outputs (Keras's torch and JAX backends run channels-first convolutions on the CPU;
TensorFlow's CPU kernels do not).
Keras itself is not needed to write it; the file is written atomically.
"""

from __future__ import annotations

import io
import json
import re
import time
from dataclasses import dataclass

import numpy as np

from engine.keras_io.config_graph import snake_case
from engine.keras_io.errors import KerasExportError
from engine.keras_io.keras_order import keras_layer_order
from engine.keras_io.layers import load_mappings
from engine.keras_io.layers.registry import EXPORTS
from engine.keras_io.optimizer_state import keras_optimizer_variables
from engine.keras_io.training_config import keras_compile_config
from engine.model_files.archive import write_archive

__all__ = ["KERAS_FORMAT_VERSION", "ExportedKeras", "export_keras", "keras_model_config"]

#: The Keras version whose format is written (the oldest Keras 3 that reads it).
KERAS_FORMAT_VERSION = "3.0.0"


@dataclass
class ExportedKeras:
    path: str
    layers: int
    weights: int


def _graph(model):
    tensors = model.graph_nodes()
    inputs_of: dict[str, list[str]] = {}
    layers = {}
    shapes = {}
    for tensor in tensors:
        layer = tensor.layer
        if layer.name in layers and layers[layer.name] is not layer:
            raise KerasExportError(f"two layers are named {layer.name!r}")
        layers[layer.name] = layer
        inputs_of[layer.name] = [t.layer.name for t in tensor.inputs]
        shapes[layer.name] = tuple(tensor.shape)
    outputs = [t.layer.name for t in model.outputs]
    inputs = [t.layer.name for t in model.inputs]
    return layers, inputs_of, shapes, inputs, outputs


def keras_layer_names(names) -> dict[str, str]:
    """A Keras-safe unique name for each engine layer name: a layer inside a block is
    ``block.dense`` in the engine, and PyTorch (Keras's torch backend) refuses dots."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        safe = re.sub(r"[^\w-]", "_", name) or "layer"
        candidate, n = safe, 1
        while candidate in taken:
            n += 1
            candidate = f"{safe}_{n}"
        taken.add(candidate)
        out[name] = candidate
    return out


def keras_model_config(model, training: dict | None = None) -> tuple[dict, list[str]]:
    """``(config, order)``: Keras's ``config.json`` for ``model`` and its layers in Keras's
    ``model.layers`` order."""
    load_mappings()
    layers, inputs_of, shapes, inputs, outputs = _graph(model)
    order = keras_layer_order(inputs_of, outputs)
    for name in inputs:
        if name not in order:  # an input no output depends on: Keras keeps it first
            order.insert(0, name)
    keras_name = keras_layer_names(order)
    entries = []
    for name in order:
        layer = layers[name]
        mapping = EXPORTS.get(layer.type_name)
        if mapping is None:
            raise KerasExportError(
                f"layer {name!r} ({layer.type_name}) has no Keras equivalent LayerCanvas can write"
            )
        args = mapping.to_keras(layer)
        keras_class = mapping.export_class or mapping.keras_class
        if layer.type_name == "Input":
            config = {"name": keras_name[name], **args}
            if config.get("dtype") == "int64":
                config["dtype"] = "int32"  # token ids: Keras's usual integer input
            nodes = []
        else:
            config = {"name": keras_name[name], "dtype": "float32", **args}
            if not layer.trainable:  # only when frozen: some Keras layers refuse the key
                config["trainable"] = False
            refs = [_tensor(keras_name[src], shapes[src]) for src in inputs_of[name]]
            listed = layer.max_inputs != 1 and not mapping.separate_inputs
            kwargs = mapping.call_kwargs(layer) if mapping.call_kwargs else {}
            nodes = [{"args": [refs] if listed else refs, "kwargs": kwargs}]
        entries.append(
            {
                "module": "keras.layers",
                "class_name": keras_class,
                "config": config,
                "registered_name": None,
                "name": keras_name[name],
                "inbound_nodes": nodes,
            }
        )
    refs_in = [[keras_name[n], 0, 0] for n in inputs]
    refs_out = [[keras_name[n], 0, 0] for n in outputs]
    document = {
        "module": "keras.src.models.functional",
        "class_name": "Functional",
        "config": {
            "name": _keras_name(model.name),
            "trainable": True,
            "layers": entries,
            "input_layers": refs_in[0] if len(refs_in) == 1 else refs_in,
            "output_layers": refs_out[0] if len(refs_out) == 1 else refs_out,
        },
        "registered_name": "Functional",
    }
    compile_config = keras_compile_config(training)
    if compile_config is not None:
        document["compile_config"] = compile_config
    return document, order


def _keras_name(name: str | None) -> str:
    return name if name else "functional"


def _tensor(source: str, shape) -> dict:
    return {
        "class_name": "__keras_tensor__",
        "config": {"shape": [None, *shape], "dtype": "float32", "keras_history": [source, 0, 0]},
    }


def keras_weights_h5(model, order: list[str], training: dict | None = None) -> bytes:
    """``model.weights.h5``: each layer's arrays, in Keras's layout, where Keras looks."""
    import h5py  # noqa: PLC0415

    layers = {layer.name: layer for layer in model.layers}
    used: dict[str, int] = {}
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        group = h5.create_group("layers")
        for name in order:
            layer = layers[name]
            base = snake_case("InputLayer" if layer.type_name == "Input" else _class(layer))
            if base in used:
                used[base] += 1
                base = f"{base}_{used[base]}"
            else:
                used[base] = 0
            arrays = layer.get_weights()
            if not arrays:
                continue
            mapping = EXPORTS[layer.type_name]
            arrays = mapping.weights_to_keras(layer, arrays)
            target = group.create_group(base)
            subpaths = mapping.weight_groups or ("",)
            share = len(arrays) // len(subpaths)
            for k, subpath in enumerate(subpaths):
                where = target.require_group(subpath) if subpath else target
                var_group = where.create_group("vars")
                for i, array in enumerate(arrays[k * share : (k + 1) * share]):
                    var_group.create_dataset(str(i), data=np.asarray(array, dtype=np.float32))
        h5.create_group("vars")
        optimizer = keras_optimizer_variables(model, order, training)
        if optimizer is not None:
            var_group = h5.create_group("optimizer").create_group("vars")
            for i, array in enumerate(optimizer):
                var_group.create_dataset(str(i), data=array)
    return buffer.getvalue()


def _class(layer) -> str:
    mapping = EXPORTS[layer.type_name]
    return mapping.export_class or mapping.keras_class


def export_keras(model, path, training: dict | None = None) -> ExportedKeras:
    """Write ``model`` (built, with its weights) as a Keras 3 archive at ``path``;
    ``training`` (a project's settings) becomes its ``compile_config``."""
    config, order = keras_model_config(model, training)
    weights = keras_weights_h5(model, order, training)
    metadata = {
        "keras_version": KERAS_FORMAT_VERSION,
        "date_saved": time.strftime("%Y-%m-%d@%H:%M:%S"),
        "producer": "LayerCanvas",
    }
    members = [
        ("metadata.json", json.dumps(metadata).encode("utf-8")),
        ("config.json", json.dumps(config, allow_nan=False).encode("utf-8")),
        ("model.weights.h5", weights),
    ]
    write_archive(path, members, overwrite=True)
    count = sum(int(np.prod(w.shape)) for w in model.weights)
    return ExportedKeras(str(path), len(order), count)
