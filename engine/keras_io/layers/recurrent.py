"""``SimpleRNN``, ``LSTM`` and ``GRU``: the engine keeps Keras's weight layout and gate
order exactly (LSTM ``i, f, c, o``; GRU ``z, r, h`` with ``reset_after``), so the arrays
pass unchanged. Options the engine's fused kernels lack (returning the states, running
backwards, stateful layers, unrolling is harmless) are refused; dropout inside the cell only
acts while training, so it is dropped with a note."""

from __future__ import annotations

from engine.keras_io.layers.common import engine_activation, keras_penalties, penalties
from engine.keras_io.layers.registry import (
    EngineNode,
    KerasMapping,
    Unsupported,
    need_identity,
    register,
)

RNN_PENALTIES = (
    "kernel_regularizer",
    "recurrent_regularizer",
    "bias_regularizer",
    "activity_regularizer",
    "kernel_constraint",
    "recurrent_constraint",
    "bias_constraint",
)


def _recurrent(engine_type):
    def to_engine(config, inputs):
        for key, reason in (
            ("return_state", "returning the states (return_state=True)"),
            ("go_backwards", "reading the sequence backwards (go_backwards=True)"),
            ("stateful", "stateful recurrent layers"),
        ):
            if config.get(key):
                raise Unsupported(f"{reason} is not supported")
        params = {
            "units": int(config["units"]),
            "activation": engine_activation(config, engine_type),
            "use_bias": bool(config.get("use_bias", True)),
            "return_sequences": bool(config.get("return_sequences", False)),
            **penalties(config, RNN_PENALTIES),
        }
        if engine_type != "SimpleRNN":
            params["recurrent_activation"] = engine_activation(
                config, engine_type, "recurrent_activation"
            )
        if engine_type == "LSTM":
            params["unit_forget_bias"] = bool(config.get("unit_forget_bias", True))
        if engine_type == "GRU":
            params["reset_after"] = bool(config.get("reset_after", True))
        notes = []
        dropped = [k for k in ("dropout", "recurrent_dropout") if config.get(k)]
        if dropped:
            notes.append(
                f"{' and '.join(dropped)} (training-time only) dropped: the engine's recurrent "
                "layers have none; add a Dropout layer before it to regularise"
            )
        return EngineNode(engine_type, params, need_identity(inputs), notes=notes)

    return to_engine


def _to_keras(layer):
    c = layer.config
    out = {
        "units": c["units"],
        "activation": c["activation"],
        "use_bias": c["use_bias"],
        "return_sequences": c["return_sequences"],
        **keras_penalties(layer, RNN_PENALTIES),
    }
    for key in ("recurrent_activation", "unit_forget_bias", "reset_after"):
        if key in c:
            out[key] = c[key]
    return out


for _name in ("SimpleRNN", "LSTM", "GRU"):
    register(KerasMapping(_name, _name, _recurrent(_name), _to_keras, weight_groups=("cell",)))
