"""Run on a CUDA machine (``python tests/engine/metrics/gpu_check.py``): every new metric on
CuPy arrays gives the numbers it gives on numpy, with its totals left on the device."""

from __future__ import annotations

import sys

import numpy as np

sys.path.insert(0, ".")
from engine import backend, metrics  # noqa: E402

RNG = np.random.default_rng(0)
labels = RNG.integers(0, 4, size=300)
scores = RNG.dirichlet(np.ones(4), size=300).astype(np.float32)
onehot = np.eye(4, dtype=np.float32)[labels]
y_bin = (RNG.uniform(size=(300, 1)) < 0.4).astype(np.float32)
p_bin = np.clip(0.3 * y_bin + 0.7 * RNG.uniform(size=(300, 1)), 0, 1).astype(np.float32)
reg = RNG.normal(size=(300, 2)).astype(np.float32)
weights = RNG.uniform(size=300).astype(np.float32)

CASES = {
    "precision": (lambda: metrics.Precision(), y_bin, p_bin),
    "recall_topk": (lambda: metrics.Recall(top_k=2), onehot, scores),
    "precision_thresholds": (lambda: metrics.Precision(thresholds=[0.0, 0.5, 1.0]), y_bin, p_bin),
    "auc": (lambda: metrics.AUC(), y_bin, p_bin),
    "auc_pr_multi": (lambda: metrics.AUC(curve="PR", multi_label=True), onehot, scores),
    "f1": (lambda: metrics.F1Score(), onehot, scores),
    "f1_macro_sparse": (lambda: metrics.F1Score("macro"), labels, scores),
    "top_k": (lambda: metrics.TopKCategoricalAccuracy(k=2), onehot, scores),
    "sparse_top_k": (lambda: metrics.SparseTopKCategoricalAccuracy(k=2), labels, scores),
    "iou": (lambda: metrics.MeanIoU(4, sparse_y_pred=False), labels, scores),
    "r2": (lambda: metrics.R2Score(), reg, reg + 0.3 * RNG.normal(size=reg.shape)),
}


def run(make, y, p, to_device):
    m = make()
    for start in range(0, 300, 64):
        part = slice(start, start + 64)
        m.update_state(
            to_device(y[part]), to_device(p[part]), sample_weight=to_device(weights[part])
        )
    return np.asarray(m.result(), dtype=np.float64)


expected = {k: run(mk, y, p, lambda a: a) for k, (mk, y, p) in CASES.items()}
print("device:", backend.set_device("gpu"))
failed = 0
for key, (make, y, p) in CASES.items():
    try:
        got = run(make, y, p, backend.asarray)
        ok = np.allclose(got, expected[key], rtol=1e-6, atol=1e-7)
        print(f"{key:22s} {'OK ' if ok else 'BAD'} gpu={got} cpu={expected[key]}")
    except Exception as exc:  # report every metric, not just the first failure
        ok = False
        print(f"{key:22s} ERROR {type(exc).__name__}: {exc}")
    failed += not ok
print("FAILED" if failed else "ALL OK", failed)
sys.exit(1 if failed else 0)
