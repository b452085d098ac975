"""LAYERS-A's layer types under ``array_api_strict`` (the stand-in for CuPy: any numpy-only
spelling in their kernels raises there) give the numpy run's outputs and gradients."""

from __future__ import annotations

import pytest

import engine.layers as L  # noqa: N812
from tests.engine.layers import harness

pytest.importorskip("array_api_strict")

TYPES = [
    L.Conv2D, L.MaxPooling2D, L.AveragePooling2D, L.ZeroPadding2D, L.Cropping2D,
    L.UpSampling2D, L.Permute, L.RepeatVector, L.MaxPooling1D, L.AveragePooling1D,
    L.GlobalAveragePooling1D, L.GlobalMaxPooling1D, L.Conv1D, L.Conv2DTranspose,
    L.DepthwiseConv2D, L.SeparableConv2D,
]  # fmt: skip
CASES = [
    pytest.param(cls, example, id=f"{cls.type_name}-{i}")
    for cls in TYPES
    for i, example in enumerate(cls.examples)
]


@pytest.mark.parametrize(("cls", "example"), CASES)
def test_strict_namespace(cls, example):
    harness.check_strict_namespace(cls, example)
