"""The importer against ONNX's own backend node tests (see ``conformance.py``).

Every in-scope case must either import and reproduce ONNX's expected outputs, or be refused
with an ``OnnxImportError`` naming the node and the reason; a floor on the number matched
keeps a broken importer from passing by refusing everything.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.onnx import OnnxImportError, import_model
from tests.engine.onnx.conformance import adapt, in_scope, node_test_cases

# 94 cases match with this importer (onnx 1.23); the floor leaves room for a newer onnx
# to add or reshape a few cases, not for a regression.
MIN_MATCHED = 85
# Operators that must each have at least one matching case.
MUST_MATCH = {
    "Add", "AveragePool", "BatchNormalization", "Concat", "Conv", "Dropout", "Elu", "Flatten",
    "GRU", "Gelu", "Gemm", "GlobalAveragePool", "GlobalMaxPool", "Identity", "LSTM",
    "LayerNormalization", "LeakyRelu", "MatMul", "MaxPool", "Mul", "RNN", "Relu", "Reshape",
    "Sigmoid", "Softmax", "Softplus", "Sub", "Tanh",
}  # fmt: skip


def _run(case):
    """``("matched", None)``, or ``("refused", reason)``; raises on a wrong result."""
    adapted = adapt(case)
    try:
        result = import_model(adapted.model)
    except OnnxImportError as err:
        assert err.issues, f"{case.name}: refused without saying which node: {err}"
        for issue in err.issues:
            assert issue.reason.strip(), f"{case.name}: an issue without a reason"
        return "refused", str(err)
    arrays = adapted.inputs
    predicted = result.model.predict(arrays if len(arrays) > 1 else arrays[0], verbose=0)
    predicted = predicted if isinstance(predicted, list) else [predicted]
    assert len(predicted) == len(adapted.expected)
    for got, want in zip(predicted, adapted.expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5, err_msg=case.name)
    return "matched", None


@pytest.fixture(scope="module")
def outcomes():
    cases = [c for c in node_test_cases() if in_scope(c)]
    assert len(cases) > 150, "ONNX's node test generators changed: check the adaptation"
    return {case.name: (case, *_run(case)) for case in cases}


def test_every_in_scope_case_imports_and_matches_or_is_refused_clearly(outcomes):
    matched = [name for name, (_, status, _) in outcomes.items() if status == "matched"]
    refused = {name: why for name, (_, status, why) in outcomes.items() if status == "refused"}
    print(f"\n{len(matched)} matched, {len(refused)} refused:")
    for name, why in sorted(refused.items()):
        print(f"  {name}: {why.splitlines()[-1].strip()}")
    assert len(matched) >= MIN_MATCHED


def test_each_supported_operator_has_matching_cases(outcomes):
    covered = set()
    for case, status, _ in outcomes.values():
        if status == "matched":
            covered |= {node.op_type for node in case.model.graph.node}
    assert covered >= MUST_MATCH, f"no matching case for {sorted(MUST_MATCH - covered)}"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("test_lstm_bidirectional", "bidirectional direction"),
        ("test_lstm_with_peepholes", "peephole"),
        ("test_gemm_transposeA", "transA"),
        ("test_averagepool_2d_pads_count_include_pad", "count_include_pad=1"),
        ("test_training_dropout", "training mode"),
        ("test_add_int8", "INT8"),
        ("test_softmax_axis_0", "batch axis"),
    ],
)
def test_unrepresentable_cases_are_refused_with_their_reason(outcomes, name, reason):
    _, status, why = outcomes[name]
    assert status == "refused" and reason in why
