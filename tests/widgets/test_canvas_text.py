"""How the canvas words shapes, counts, settings and problems."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from engine.graph.diagnostics import ERROR, Diagnostic  # noqa: E402
from engine.graph.registry_info import layer_info  # noqa: E402
from widgets.canvas.text import (  # noqa: E402
    count_text,
    flops_text,
    param_summary,
    shape_text,
    short_message,
)


def test_shapes_counts_and_flops():
    assert shape_text((16, 8, 8)) == "16 × 8 × 8"
    assert shape_text((10,)) == "10"
    assert shape_text(None) == "?"
    assert count_text(8256) == "8,256"
    assert shape_text((16, 8, 8), tight=True) == "16×8×8"
    assert count_text(8256, compact=True) == "8.3K"
    assert count_text(999, compact=True) == "999"
    assert count_text(2_500_000) == "2.5M"
    assert flops_text(186_700) == "186.7K"
    assert flops_text(999) == "999"
    assert flops_text(3_200_000_000) == "3.2G"


@pytest.mark.parametrize(
    ("type_name", "params", "expected"),
    [
        ("Dense", {"units": 64, "activation": "relu"}, "units 64 · relu"),
        ("Conv2D", {"filters": 16, "kernel_size": 3, "padding": "same"}, "filters 16 · 3×3"),
        ("Conv2D", {"kernel_size": [3, 5], "filters": 8}, "filters 8 · 3×5"),
        ("Input", {"shape": [1, 8, 8]}, "1×8×8"),
        ("LSTM", {"units": 32, "return_sequences": True}, "units 32 · return_sequences"),
        ("LSTM", {"units": 32, "return_sequences": False}, "units 32"),
        ("Dropout", {"rate": 0.25}, "rate 0.25"),
        ("Dense", {"units": 8, "kernel_initializer": "zeros"}, "units 8"),
        ("Flatten", {}, ""),
    ],
)
def test_param_summary_reads_the_schema(type_name, params, expected):
    assert param_summary(params, layer_info(type_name).params) == expected


def test_short_messages_drop_what_the_card_already_says():
    param = Diagnostic(
        ERROR, "parameter", "Dense 'd1': parameter 'units': -3 is out of range", param="units"
    )
    assert short_message(param, "Dense", "d1") == "units: -3 is out of range"
    shape = Diagnostic(ERROR, "shape", "Dense expects a flat input of rank 2, got (1, 8, 8)")
    assert short_message(shape, "Dense", "d1") == "expects a flat input of rank 2, got (1, 8, 8)"
    port = Diagnostic(ERROR, "unconnected_port", "Dense 'd1' has nothing connected to its input")
    assert short_message(port, "Dense", "d1") == "input not connected"
