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


def _recurrent(layer, ins, out) -> LayerCode:
    c = layer.config
    kind = layer.type_name
    units = int(c["units"])
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
    bias = bool(c.get("use_bias", True))
    features = ins[0][-1]
    if kind == "LSTM":
        module = f"nn.LSTM({features}, {units}, batch_first=True, bias={bias})"
    elif kind == "GRU":
        module = f"nn.GRU({features}, {units}, batch_first=True, bias={bias})"
    else:
        act = c.get("activation", "tanh")
        module = f"nn.RNN({features}, {units}, nonlinearity={act!r}, batch_first=True, bias={bias})"

    def order(array, axis):
        return _gru_order(array, units, axis) if kind == "GRU" else array

    def to_torch(arrays):
        kernel, recurrent = arrays[0], arrays[1]
        state = {
            "weight_ih_l0": order(kernel, 1).T,
            "weight_hh_l0": order(recurrent, 1).T,
        }
        if bias:
            b = arrays[2]
            if kind == "GRU":
                state["bias_ih_l0"], state["bias_hh_l0"] = order(b[0], 0), order(b[1], 0)
            else:
                state["bias_ih_l0"], state["bias_hh_l0"] = b, np.zeros_like(b)
        return state

    def from_torch(state):
        found = [order(state["weight_ih_l0"].T, 1), order(state["weight_hh_l0"].T, 1)]
        if bias:
            ih, hh = state["bias_ih_l0"], state["bias_hh_l0"]
            if kind == "GRU":
                found.append(np.stack([order(ih, 0), order(hh, 0)]))
            else:
                found.append(ih + hh)
        return found

    steps = ["self.{m}({x})[0]"]
    if not c.get("return_sequences"):
        steps.append("{x}[:, -1]")
    setup = []
    if bias and kind != "GRU":
        setup = [
            "self.{m}.bias_hh_l0.requires_grad_(False)  # Keras has one bias: bias_ih_l0",
        ]
    return LayerCode(module, steps, to_torch, from_torch, setup=setup)


RECURRENT = {"SimpleRNN": _recurrent, "LSTM": _recurrent, "GRU": _recurrent}
