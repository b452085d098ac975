"""``SimpleRNN``, ``LSTM`` and ``GRU`` as ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` (batch first).

The engine keeps Keras's layout: ``kernel (in, k*units)``, ``recurrent_kernel (units,
k*units)``, gates LSTM ``i, f, c, o`` (PyTorch: ``i, f, g, o``, the same order) and GRU
``z, r, h`` (PyTorch: ``r, z, n``, so the blocks are reordered). PyTorch has two biases
where Keras's LSTM and SimpleRNN have one: it goes to ``bias_ih`` and ``bias_hh`` is zero
and stays zero (it is not trained; read back, the two are added). Keras's GRU with
``reset_after=True`` has the input and recurrent biases PyTorch has; ``reset_after=False``
applies the reset gate before the recurrent matrix, which PyTorch's GRU cannot, so it is
refused, as are activations other than PyTorch's fixed ones.
"""

from __future__ import annotations

import numpy as np

from engine.export_pytorch.layer_code import LayerCode, unsupported

__all__ = ["RECURRENT"]


def _gru_order(blocks: np.ndarray, units: int, axis: int) -> np.ndarray:
    """Keras ``z, r, h`` <-> PyTorch ``r, z, n`` (the swap is its own inverse)."""
    z, r, h = np.split(blocks, 3, axis=axis)
    return np.concatenate([r, z, h], axis=axis)


def _check_cell(layer, kind: str, c: dict) -> None:
    if c.get("activation", "tanh") != "tanh" and not (
        kind == "SimpleRNN" and c.get("activation") == "relu"
    ):
        raise unsupported(layer, f"activation={c.get('activation')!r}: PyTorch's cell uses tanh")
    if kind != "SimpleRNN" and c.get("recurrent_activation", "sigmoid") != "sigmoid":
        raise unsupported(
            layer,
            f"recurrent_activation={c.get('recurrent_activation')!r}: PyTorch's cell uses sigmoid",
        )
    if kind == "GRU" and not c.get("reset_after", True):
        raise unsupported(
            layer, "reset_after=False has no PyTorch GRU form; use reset_after=True to export"
        )


def _module(kind: str, c: dict, features: int, both_ways: bool = False) -> str:
    units, bias = int(c["units"]), bool(c.get("use_bias", True))
    extra = ", bidirectional=True" if both_ways else ""
    if kind == "SimpleRNN":
        act = c.get("activation", "tanh")
        return (
            f"nn.RNN({features}, {units}, nonlinearity={act!r}, batch_first=True, "
            f"bias={bias}{extra})"
        )
    cls = "nn.LSTM" if kind == "LSTM" else "nn.GRU"
    return f"{cls}({features}, {units}, batch_first=True, bias={bias}{extra})"


def _maps(kind: str, units: int, bias: bool, prefix: str = "", suffix: str = ""):
    """``(to_torch, from_torch)`` for one direction: the engine's kernel, recurrent kernel
    and bias <-> ``{prefix}weight_ih_l0{suffix}`` and the rest."""

    def order(array, axis):
        return _gru_order(array, units, axis) if kind == "GRU" else array

    names = [f"{prefix}{n}_l0{suffix}" for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]

    def to_torch(arrays):
        state = {names[0]: order(arrays[0], 1).T, names[1]: order(arrays[1], 1).T}
        if bias:
            b = arrays[2]
            if kind == "GRU":
                state[names[2]], state[names[3]] = order(b[0], 0), order(b[1], 0)
            else:
                state[names[2]], state[names[3]] = b, np.zeros_like(b)
        return state

    def from_torch(state):
        found = [order(state[names[0]].T, 1), order(state[names[1]].T, 1)]
        if bias:
            ih, hh = state[names[2]], state[names[3]]
            found.append(np.stack([order(ih, 0), order(hh, 0)]) if kind == "GRU" else ih + hh)
        return found

    return to_torch, from_torch


def _frozen_hh(kind: str, bias: bool, prefix: str, suffixes) -> list[str]:
    if not bias or kind == "GRU":
        return []
    return [
        f"self.{{m}}{prefix}.bias_hh_l0{s}.requires_grad_(False)  # Keras has one bias: bias_ih"
        for s in suffixes
    ]


def _recurrent(layer, ins, out) -> LayerCode:
    c = layer.config
    kind = layer.type_name
    _check_cell(layer, kind, c)
    bias = bool(c.get("use_bias", True))
    to_torch, from_torch = _maps(kind, int(c["units"]), bias)
    steps = ["self.{m}({x})[0]"]
    if not c.get("return_sequences"):
        steps.append("{x}[:, -1]")
    setup = _frozen_hh(kind, bias, "", [""])
    return LayerCode(_module(kind, c, ins[0][-1]), steps, to_torch, from_torch, setup=setup)


def _bidirectional(layer, ins, out) -> LayerCode:
    """Keras's Bidirectional as PyTorch's bidirectional RNN inside a small helper that
    takes the last states (not the last step's outputs) and merges as Keras does."""
    c = layer.inner_config()
    kind = layer.config["layer"]
    _check_cell(layer, kind, c)
    bias = bool(c.get("use_bias", True))
    units = int(c["units"])
    forward = _maps(kind, units, bias, "rnn.")
    backward = _maps(kind, units, bias, "rnn.", "_reverse")
    half = 3 if bias else 2

    def to_torch(arrays):
        return {**forward[0](arrays[:half]), **backward[0](arrays[half:])}

    def from_torch(state):
        return forward[1](state) + backward[1](state)

    rnn = _module(kind, c, ins[0][-1], both_ways=True)
    merge = layer.config.get("merge_mode", "concat")
    sequences = bool(c.get("return_sequences"))
    module = f"Bidirectional({rnn}, {merge!r}, return_sequences={sequences})"
    setup = _frozen_hh(kind, bias, ".rnn", ["", "_reverse"])
    return LayerCode(
        module, ["self.{m}({x})"], to_torch, from_torch, {"Bidirectional"}, setup=setup
    )


RECURRENT = {
    "SimpleRNN": _recurrent,
    "LSTM": _recurrent,
    "GRU": _recurrent,
    "Bidirectional": _bidirectional,
}
