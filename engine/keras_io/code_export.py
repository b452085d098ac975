"""``keras_code(model, training)``: a readable Keras script that rebuilds the model.

A chain of layers becomes ``keras.Sequential([...])``, any other graph the Functional API
(one line per layer call, named as on the canvas). The layer arguments are those the
``.keras`` exporter writes (:mod:`engine.keras_io.layers`), so the script computes what the
engine computes; spatial layers are ``channels_first``. The project's training settings
become ``model.compile(...)`` and ``model.fit(...)``; the script fits on stand-in random
data of the right shapes so that it runs as is (``KERAS_BACKEND=torch python model.py``),
with a comment where the user's data goes.
"""

from __future__ import annotations

import keyword
import re

from engine.keras_io.errors import KerasExportError
from engine.keras_io.exporter import keras_layer_names
from engine.keras_io.layers import load_mappings
from engine.keras_io.layers.registry import EXPORTS
from engine.keras_io.training_config import keras_compile_config

__all__ = ["keras_code"]


def _ident(name: str, used: set[str]) -> str:
    base = re.sub(r"\W", "_", name).strip("_") or "x"
    if base[0].isdigit() or keyword.iskeyword(base):
        base = f"t_{base}"
    ident, n = base, 1
    while ident in used or ident in ("keras", "layers", "np", "model"):
        n += 1
        ident = f"{base}_{n}"
    used.add(ident)
    return ident


# Keras's defaults, left out of the script so each line shows what was chosen.
_DEFAULTS = {
    "use_bias": True,
    "kernel_initializer": "glorot_uniform",
    "padding": "valid",
    "groups": 1,
    "keepdims": False,
    "mask_zero": False,
    "depth_multiplier": 1,
    "return_sequences": False,
    "center": True,
    "scale": True,
    "epsilon": 0.001,
    "momentum": 0.99,
    "normalize": False,
    "interpolation": "nearest",
    "dropout": 0.0,
    "trainable": True,
}
_RECURRENT_DEFAULTS = {
    "activation": "tanh",
    "recurrent_activation": "sigmoid",
    "unit_forget_bias": True,
    "reset_after": True,
}


def _is_default(class_name: str, key: str, value) -> bool:
    if class_name in ("SimpleRNN", "LSTM", "GRU"):
        if key in _RECURRENT_DEFAULTS:
            return value == _RECURRENT_DEFAULTS[key]
    elif key == "activation" and class_name != "Activation":
        return value == "linear"
    if key in ("strides", "dilation_rate") and isinstance(value, list | tuple):
        return all(v == 1 for v in value)
    return key in _DEFAULTS and value == _DEFAULTS[key]


def _args(layer, names: dict[str, str]) -> str:
    mapping = EXPORTS.get(layer.type_name)
    if mapping is None:
        raise KerasExportError(f"layer {layer.name!r} ({layer.type_name}) has no Keras equivalent")
    class_name = mapping.export_class or mapping.keras_class
    args = {
        k: v
        for k, v in mapping.to_keras(layer).items()
        if v is not None and not _is_default(class_name, k, v)
    }
    parts = [f"{k}={_value(v)}" for k, v in args.items()]
    parts.append(f"name={names[layer.name]!r}")
    return ", ".join(parts)


def _value(value) -> str:
    if isinstance(value, list):
        return repr(tuple(value)) if len(value) != 1 else f"({_value(value[0])},)"
    if isinstance(value, dict):
        clean = {k: v for k, v in value.items() if k not in ("module", "registered_name")}
        return repr(clean)
    return repr(value)


def _class(layer) -> str:
    mapping = EXPORTS[layer.type_name]
    return mapping.export_class or mapping.keras_class


def keras_code(model, training: dict | None = None) -> str:
    load_mappings()
    tensors = model.graph_nodes()
    chain = (
        len(model.inputs) == 1
        and len(model.outputs) == 1
        and all(len(t.inputs) <= 1 for t in tensors)
        and _is_chain(tensors)
    )
    lines = [
        f'"""{model.name or "model"}: written by LayerCanvas (export --keras-code).',
        "",
        "Run it with KERAS_BACKEND=torch (or jax): the convolutions and pooling are",
        "channels_first, as in LayerCanvas.",
        '"""',
        "",
        "import numpy as np",
        "import keras",
        "from keras import layers",
        "",
    ]
    names = keras_layer_names([t.layer.name for t in tensors])
    if chain:
        lines += _sequential(model, tensors, names)
    else:
        lines += _functional(model, tensors, names)
    lines += _compile_and_fit(model, training)
    return "\n".join(lines) + "\n"


def _is_chain(tensors) -> bool:
    consumers: dict[int, int] = {}
    for t in tensors:
        for source in t.inputs:
            consumers[id(source.layer)] = consumers.get(id(source.layer), 0) + 1
    return all(n <= 1 for n in consumers.values())


def _input_line(tensor, names: dict[str, str]) -> str:
    layer = tensor.layer
    dtype = ', dtype="int32"' if layer.config.get("dtype") == "int64" else ""
    shape = tuple(layer.config["shape"])
    return f"keras.Input(shape={shape!r}{dtype}, name={names[layer.name]!r})"


def _sequential(model, tensors, names) -> list[str]:
    lines = ["model = keras.Sequential("]
    lines.append("    [")
    for tensor in tensors:
        if tensor.layer.type_name == "Input":
            lines.append(f"        {_input_line(tensor, names)},")
        else:
            lines.append(f"        layers.{_class(tensor.layer)}({_args(tensor.layer, names)}),")
    lines.append("    ],")
    lines.append(f"    name={(model.name or 'model')!r},")
    lines.append(")")
    return lines


def _functional(model, tensors, names) -> list[str]:
    used: set[str] = set()
    variables: dict[int, str] = {}
    lines = []
    for tensor in tensors:
        layer = tensor.layer
        var = _ident(layer.name, used)
        variables[id(layer)] = var
        if layer.type_name == "Input":
            lines.append(f"{var} = {_input_line(tensor, names)}")
            continue
        args = [variables[id(t.layer)] for t in tensor.inputs]
        mapping = EXPORTS[layer.type_name]
        if mapping.separate_inputs:  # attention: query, value, key as arguments
            options = mapping.call_kwargs(layer) if mapping.call_kwargs else {}
            call = ", ".join(args + [f"{k}={v!r}" for k, v in options.items()])
        else:
            call = f"[{', '.join(args)}]" if layer.max_inputs != 1 else args[0]
        lines.append(f"{var} = layers.{_class(layer)}({_args(layer, names)})({call})")
    ins = [variables[id(t.layer)] for t in model.inputs]
    outs = [variables[id(t.layer)] for t in model.outputs]
    inputs = ins[0] if len(ins) == 1 else f"[{', '.join(ins)}]"
    outputs = outs[0] if len(outs) == 1 else f"[{', '.join(outs)}]"
    lines.append(f"model = keras.Model({inputs}, {outputs}, name={(model.name or 'model')!r})")
    return lines


def _compile_and_fit(model, training: dict | None) -> list[str]:
    config = keras_compile_config(training)
    lines = ["", "model.summary()"]
    if config is None:
        return lines
    opt = config["optimizer"]
    opt_args = ", ".join(f"{k}={v!r}" for k, v in opt["config"].items())
    loss = config["loss"]
    if isinstance(loss, dict) and "class_name" not in loss:
        outs = [t.layer.name for t in model.outputs]
        loss = [loss.get(name) for name in outs]  # Keras matches a list to the outputs
    metrics = config["metrics"]
    if isinstance(metrics, dict):
        metrics = [metrics.get(t.layer.name, []) for t in model.outputs]
    lines += [
        "model.compile(",
        f"    optimizer=keras.optimizers.{opt['class_name']}({opt_args}),",
        f"    loss={_value_plain(loss)},",
        f"    metrics={_value_plain(metrics or [])},",
        ")",
        "",
        "# Stand-in data of the right shapes so the script runs as is: replace with yours.",
        "rng = np.random.default_rng(0)",
    ]
    xs = []
    for i, t in enumerate(model.inputs):
        shape = (64, *t.layer.config["shape"])
        if t.layer.config.get("dtype") == "int64":
            lines.append(f"x{i} = rng.integers(0, 2, size={shape!r})")
        else:
            lines.append(f"x{i} = rng.random({shape!r}).astype('float32')")
        xs.append(f"x{i}")
    ys = []
    losses = training.get("loss") if training else None
    for i, t in enumerate(model.outputs):
        loss = losses.get(t.layer.name) if isinstance(losses, dict) else losses
        loss = loss.get("name") if isinstance(loss, dict) else loss
        if loss == "sparse_categorical_crossentropy":  # class ids, not one-hot rows
            lines.append(f"y{i} = rng.integers(0, {t.shape[-1]}, size=(64,))")
        else:
            lines.append(f"y{i} = rng.random({(64, *t.shape)!r}).round().astype('float32')")
        ys.append(f"y{i}")
    fit = {
        "batch_size": (training or {}).get("batch_size", 32),
        "epochs": (training or {}).get("epochs", 1),
    }
    split = (training or {}).get("validation_split")
    if split:
        fit["validation_split"] = split
    fit_args = ", ".join(f"{k}={v!r}" for k, v in fit.items())
    lines += [f"model.fit({_list(xs)}, {_list(ys)}, {fit_args})"]
    return lines


def _list(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"[{', '.join(names)}]"


def _value_plain(value) -> str:
    if isinstance(value, dict) and "class_name" in value:
        return f"keras.{_family(value)}.{value['class_name']}(**{value['config']!r})"
    if isinstance(value, list):
        return "[" + ", ".join(_value_plain(v) for v in value) + "]"
    return repr(value)


def _family(value: dict) -> str:
    return str(value.get("module", "keras.losses")).split(".")[-1]
