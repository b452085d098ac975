"""Models with a padding mask (``Embedding(mask_zero=True)``) export to ONNX exactly: the
recurrent layers through ``sequence_lens`` on the compacted sequence, Bidirectional in both
directions, GlobalAveragePooling1D as a masked mean, MultiHeadAttention with padded keys
hidden. onnxruntime matches ``predict`` on ids padded at the end, in the middle, from the
start, not at all, and entirely (at opsets 17 and 21)."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

import engine
import engine.layers as L  # noqa: N812
from engine.onnx.export import export_model

VOCAB, STEPS = 6, 5
IDS = np.array(
    [[3, 1, 2, 0, 0], [4, 0, 5, 1, 0], [0, 0, 2, 3, 1], [1, 2, 3, 4, 5], [0, 0, 0, 0, 0]],
    dtype=np.int64,
)

STACKS = {
    "lstm": [("LSTM", {"units": 4})],
    "lstm_seq": [("LSTM", {"units": 4, "return_sequences": True})],
    "gru_seq": [("GRU", {"units": 3, "return_sequences": True})],
    "gru_before": [("GRU", {"units": 3, "reset_after": False})],
    "simple_rnn_seq_pool": [
        ("Dense", {"units": 3, "activation": "tanh"}),
        ("SimpleRNN", {"units": 2, "return_sequences": True}),
        ("GlobalAveragePooling1D", {}),
    ],
    "bidirectional_seq": [
        ("Bidirectional", {"layer": "LSTM", "units": 2, "return_sequences": True})
    ],
    "bidirectional_ave_seq": [
        (
            "Bidirectional",
            {"layer": "GRU", "units": 2, "return_sequences": True, "merge_mode": "ave"},
        )
    ],
    "bidirectional_mul": [
        ("Bidirectional", {"layer": "SimpleRNN", "units": 3, "merge_mode": "mul"})
    ],
    "bidirectional_concat": [("Bidirectional", {"layer": "LSTM", "units": 2})],
    "attention": "attention",
}


def build(stack) -> engine.Model:
    ids = engine.Input((STEPS,), dtype="int64")
    x = L.Embedding(VOCAB, 4, mask_zero=True)(ids)
    if stack == "attention":
        x = L.MultiHeadAttention(num_heads=2, key_dim=2)([x, x])
        x = L.GlobalAveragePooling1D()(x)
    else:
        for type_name, config in stack:
            x = L.LAYER_TYPES[type_name](**config)(x)
    model = engine.Model(ids, x)
    rng = np.random.default_rng(0)
    for layer in model.layers[1:]:
        layer.set_weights([rng.normal(0, 0.6, size=w.shape) for w in layer.get_weights()])
    return model


@pytest.mark.parametrize("opset", [17, 21])
@pytest.mark.parametrize("name", sorted(STACKS))
def test_masked_model_exports_exactly(tmp_path, name, opset):
    model = build(STACKS[name])
    path = tmp_path / f"{name}.onnx"
    export_model(model, path, opset=opset)  # verifies on random ids (zeros anywhere) too
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: IDS})[0]
    np.testing.assert_allclose(got, model.predict(IDS, verbose=0), rtol=1e-4, atol=1e-5)


def test_the_mask_matters_in_the_export(tmp_path):
    """The same weights without mask_zero give a different ONNX answer on padded rows."""
    model = build(STACKS["lstm"])
    export_model(model, tmp_path / "masked.onnx")
    model.layers[1].mask_zero = False
    export_model(model, tmp_path / "plain.onnx")
    outputs = []
    for file in ("masked.onnx", "plain.onnx"):
        session = ort.InferenceSession(str(tmp_path / file), providers=["CPUExecutionProvider"])
        outputs.append(session.run(None, {session.get_inputs()[0].name: IDS})[0])
    np.testing.assert_allclose(outputs[0][3], outputs[1][3], rtol=1e-5)  # no padding
    assert np.abs(outputs[0][0] - outputs[1][0]).max() > 1e-4
