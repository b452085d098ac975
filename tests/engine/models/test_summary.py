"""model.summary(): shapes, parameter counts (counted by hand), totals, connections."""

import pytest

import engine
from engine import Input, Model, Sequential
from engine.layers import Dense, Flatten


def _text(model) -> str:
    lines = []
    model.summary(print_fn=lines.append)
    return "\n".join(lines)


def test_sequential_summary_shapes_and_totals():
    model = Sequential(
        [Input((1, 8, 8)), Flatten(name="flat"), Dense(16, name="hidden"), Dense(10, name="out")],
        name="digits_mlp",
    )
    text = _text(model)
    # 64 * 16 + 16 = 1,040 and 16 * 10 + 10 = 170, 1,210 in all, float32 = 4,840 bytes.
    assert 'Model: "digits_mlp"' in text
    assert "flat (Flatten)" in text and "(None, 64)" in text
    assert "hidden (Dense)" in text and "(None, 16)" in text and "1,040" in text
    assert "out (Dense)" in text and "(None, 10)" in text and "170" in text
    assert "Total params: 1,210 (4.73 KB)" in text
    assert "Trainable params: 1,210 (4.73 KB)" in text
    assert "Non-trainable params: 0 (0.00 B)" in text
    assert "Connected to" not in text
    assert "InputLayer" not in text


def test_non_trainable_parameters_are_counted_apart():
    if not hasattr(engine.layers, "BatchNormalization"):
        pytest.skip("engine.layers.BatchNormalization is not available yet")
    model = Sequential([Input((4,)), Dense(8), engine.layers.BatchNormalization()])
    text = _text(model)
    # Dense 4*8+8 = 40; BatchNorm gamma+beta 16 trainable, moving mean+variance 16 not.
    assert "Total params: 72 (288.00 B)" in text
    assert "Trainable params: 56 (224.00 B)" in text
    assert "Non-trainable params: 16 (64.00 B)" in text


def test_functional_summary_lists_connections_and_counts_shared_layers_once():
    a, b = Input((4,), name="left_in"), Input((4,), name="right_in")
    shared = Dense(3, name="shared")
    merged = engine.layers.Add(name="sum")([shared(a), shared(b)])
    model = Model([a, b], Dense(2, name="head")(merged), name="siamese")
    text = _text(model)
    assert "Connected to" in text
    assert "left_in (InputLayer)" in text and "(None, 4)" in text
    assert "shared[0][0]" in text and "shared[1][0]" in text
    assert "left_in[0][0]" in text and "right_in[0][0]" in text
    assert text.count("shared (Dense)") == 1
    # shared 4*3+3 = 15, head 3*2+2 = 8.
    assert "Total params: 23 (92.00 B)" in text


def test_unbuilt_model_says_how_to_build_it():
    with pytest.raises(ValueError, match="not built yet"):
        Sequential([Dense(2)]).summary()


def test_summary_prints_by_default(capsys):
    Sequential([Input((2,)), Dense(1)]).summary()
    assert "Total params: 3" in capsys.readouterr().out
