"""The convolution and pooling kernels: forward against naive loops (and scipy, and
onnxruntime for the "same" padding rule), VJPs against finite differences in float64, tie
rules, dtypes, and the same numbers under the strict array-API namespace."""

from __future__ import annotations

import math

import array_api_strict
import numpy as np
import pytest
from scipy import signal

from engine import backend
from engine.autodiff import kernels_conv
from engine.autodiff.gradcheck import check_gradients
from engine.autodiff.tensor import Tensor, grad

TOLERANCE = 1e-6

# -- independent references -------------------------------------------------------------------


def naive_conv(x, w, b, strides, pads, dilation):
    """The definition: at each output position, the dilated patch dotted with each filter."""
    (sh, sw), (dh, dw) = strides, dilation
    x = np.pad(x, ((0, 0), (0, 0), pads[0], pads[1]))
    n, _, hp, wp = x.shape
    f, _, kh, kw = w.shape
    ho = (hp - (kh - 1) * dh - 1) // sh + 1
    wo = (wp - (kw - 1) * dw - 1) // sw + 1
    out = np.zeros((n, f, ho, wo))
    for r in range(ho):
        for col in range(wo):
            patch = x[
                :,
                :,
                r * sh : r * sh + (kh - 1) * dh + 1 : dh,
                col * sw : col * sw + (kw - 1) * dw + 1 : dw,
            ]
            out[:, :, r, col] = np.einsum("nckl,fckl->nf", patch, w)
    return out if b is None else out + b[None, :, None, None]


def naive_pool(x, pool, strides, pads, reduce):
    """Pool over the real elements of each window; padding is skipped, never counted."""
    (kh, kw), (sh, sw) = pool, strides
    (top, bottom), (left, right) = pads
    n, c, h, w = x.shape
    ho = (h + top + bottom - kh) // sh + 1
    wo = (w + left + right - kw) // sw + 1
    out = np.zeros((n, c, ho, wo))
    for r in range(ho):
        r0 = r * sh - top
        for col in range(wo):
            c0 = col * sw - left
            window = x[:, :, max(r0, 0) : min(r0 + kh, h), max(c0, 0) : min(c0 + kw, w)]
            out[:, :, r, col] = reduce(window, axis=(2, 3))
    return out


def tf_same_output(size, stride):
    """TensorFlow's documented "SAME" output length."""
    return math.ceil(size / stride)


# -- cases ------------------------------------------------------------------------------------

# (x shape, kernel shape, strides, padding, dilation)
CONV_CASES = {
    "valid-3x3": ((2, 3, 6, 5), (4, 3, 3, 3), (1, 1), "valid", (1, 1)),
    "same-3x3": ((3, 2, 5, 7), (3, 2, 3, 3), (1, 1), "same", (1, 1)),
    "same-even-kernel": ((1, 2, 5, 6), (2, 2, 2, 4), (1, 1), "same", (1, 1)),
    "stride2-valid": ((3, 2, 7, 6), (3, 2, 3, 2), (2, 2), "valid", (1, 1)),
    "stride2-same-odd": ((2, 3, 7, 5), (2, 3, 3, 3), (2, 2), "same", (1, 1)),
    "stride2-same-even": ((1, 1, 6, 8), (2, 1, 3, 3), (2, 2), "same", (1, 1)),
    "stride-mixed": ((2, 2, 7, 6), (2, 2, 2, 3), (2, 1), "same", (1, 1)),
    "stride3-same": ((1, 2, 7, 8), (2, 2, 2, 2), (3, 3), "same", (1, 1)),
    "dilation2-valid": ((2, 2, 7, 6), (3, 2, 3, 2), (1, 1), "valid", (2, 2)),
    "dilation2-same": ((3, 1, 6, 5), (2, 1, 3, 3), (1, 1), "same", (2, 2)),
    "dilation-stride": ((1, 2, 9, 8), (2, 2, 2, 3), (2, 1), "same", (2, 2)),
    "1x1": ((3, 4, 3, 2), (5, 4, 1, 1), (1, 1), "valid", (1, 1)),
    "same-kernel-larger-than-image": ((1, 2, 3, 4), (2, 2, 5, 5), (1, 1), "same", (1, 1)),
    "same-dilated-wider-than-image": ((2, 1, 4, 2), (2, 1, 3, 3), (1, 1), "same", (2, 2)),
    "same-width-valid-height": ((2, 2, 6, 4), (2, 2, 3, 1), (1, 1), "valid", (1, 1)),
    "kernel-fills-input": ((2, 2, 3, 4), (3, 2, 3, 4), (1, 1), "valid", (1, 1)),
    "explicit-pads": ((2, 2, 4, 5), (2, 2, 3, 3), (1, 1), ((2, 0), (1, 3)), (1, 1)),
    "explicit-pads-stride": ((1, 3, 5, 5), (2, 3, 2, 2), (2, 2), ((0, 1), (1, 0)), (1, 1)),
}

# (x shape, pool, strides, padding)
POOL_CASES = {
    "2x2": ((2, 3, 4, 6), (2, 2), None, "valid"),
    "2x2-odd-size": ((3, 2, 5, 7), (2, 2), None, "valid"),
    "2x2-same-odd": ((2, 2, 5, 7), (2, 2), None, "same"),
    "3x3-stride2-same": ((1, 2, 7, 6), (3, 3), (2, 2), "same"),
    "3x3-stride1-valid": ((2, 1, 5, 6), (3, 3), (1, 1), "valid"),
    "2x3-stride1-same": ((1, 2, 4, 5), (2, 3), (1, 1), "same"),
    "3x2-stride-mixed": ((2, 2, 7, 6), (3, 2), (2, 1), "valid"),
    "1x1": ((1, 2, 3, 3), (1, 1), None, "valid"),
    "whole-image": ((2, 3, 4, 4), (4, 4), None, "valid"),
    "stride-larger-than-pool": ((1, 2, 7, 7), (2, 2), (3, 3), "valid"),
}


def _conv_arrays(case, seed=0):
    x_shape, w_shape, *_ = CONV_CASES[case]
    rng = np.random.default_rng(seed)
    return (
        rng.standard_normal(x_shape),
        rng.standard_normal(w_shape),
        rng.standard_normal(w_shape[0]),
    )


def _pads(padding, spatial, kernel, strides, dilation=(1, 1)):
    return kernels_conv.resolve_padding(padding, spatial, kernel, strides, dilation)


# -- padding arithmetic -----------------------------------------------------------------------


@pytest.mark.parametrize("size", range(1, 12))
@pytest.mark.parametrize("kernel", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("dilation", [1, 2])
def test_same_padding_gives_tensorflow_output_length(size, kernel, stride, dilation):
    before, after = kernels_conv.same_padding(size, kernel, stride, dilation)
    assert 0 <= before <= after <= before + 1  # the odd element goes after (SAME_UPPER)
    length = kernels_conv.output_length(size, kernel, stride, before, after, dilation)
    assert length == tf_same_output(size, stride)
    # No more padding than needed: the last window must still touch real data.
    span = (kernel - 1) * dilation + 1
    assert (length - 1) * stride + span <= size + before + after


def test_same_padding_known_values():
    # TensorFlow's documentation: in 5 / 6, kernel 3, stride 2 -> pads (1, 1) / (0, 1).
    assert kernels_conv.same_padding(5, 3, 2) == (1, 1)
    assert kernels_conv.same_padding(6, 3, 2) == (0, 1)
    assert kernels_conv.same_padding(28, 3, 1) == (1, 1)
    assert kernels_conv.same_padding(4, 2, 1) == (0, 1)
    assert kernels_conv.same_padding(7, 1, 3) == (0, 0)


# -- convolution ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(CONV_CASES))
def test_conv2d_forward_matches_naive_loops(case):
    x, w, b = _conv_arrays(case)
    _, _, strides, padding, dilation = CONV_CASES[case]
    pads = _pads(padding, x.shape[2:], w.shape[2:], strides, dilation)
    got = kernels_conv.conv2d(x, w, b, strides, padding, dilation).numpy()
    want = naive_conv(x, w, b, strides, pads, dilation)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_conv2d_matches_scipy_correlate():
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((1, 1, 9, 7)), rng.standard_normal((1, 1, 4, 3))
    got = kernels_conv.conv2d(x, w).numpy()[0, 0]
    np.testing.assert_allclose(got, signal.correlate2d(x[0, 0], w[0, 0], mode="valid"))
    # Several channels: the sum of per-channel correlations.
    x, w = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((2, 3, 3, 3))
    got = kernels_conv.conv2d(x, w, padding="same").numpy()
    for n in range(2):
        for f in range(2):
            want = sum(signal.correlate2d(x[n, c], w[f, c], mode="same") for c in range(3))
            np.testing.assert_allclose(got[n, f], want, atol=1e-12)


@pytest.mark.parametrize("case", sorted(CONV_CASES))
def test_conv2d_gradients_match_finite_differences(case):
    x, w, b = _conv_arrays(case, seed=1)
    _, _, strides, padding, dilation = CONV_CASES[case]

    def fn(x, w, b):
        return kernels_conv.conv2d(x, w, b, strides, padding, dilation)

    assert check_gradients(fn, [x, w, b]) < TOLERANCE


def test_conv2d_without_bias_and_partial_gradients():
    x, w, _ = _conv_arrays("stride2-same-odd")
    assert check_gradients(lambda x, w: kernels_conv.conv2d(x, w, padding="same"), [x, w]) < (
        TOLERANCE
    )
    # Only the kernel tracked (a first layer): the input gradient is skipped, not wrong.
    xt, wt = Tensor(x), Tensor(w, requires_grad=True)
    gx, gw = grad(kernels_conv.conv2d(xt, wt), [xt, wt])
    assert gx is None and gw.shape == w.shape


@pytest.mark.parametrize("case", ["same-3x3", "stride2-same-odd", "dilation2-valid"])
def test_conv2d_fused_relu_equals_relu_after_the_convolution(case):
    x, w, b = _conv_arrays(case, seed=2)
    _, _, strides, padding, dilation = CONV_CASES[case]
    pads = _pads(padding, x.shape[2:], w.shape[2:], strides, dilation)
    got = kernels_conv.conv2d(x, w, b, strides, padding, dilation, relu=True).numpy()
    want = np.maximum(naive_conv(x, w, b, strides, pads, dilation), 0.0)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert (got == 0).any() and (got > 0).any()  # both branches of the ReLU are exercised

    def fn(x, w, b):
        return kernels_conv.conv2d(x, w, b, strides, padding, dilation, relu=True)

    assert check_gradients(fn, [x, w, b]) < TOLERANCE


def test_conv2d_float32_stays_float32():
    x, w, b = (a.astype(np.float32) for a in _conv_arrays("same-3x3"))
    tensors = [Tensor(a, requires_grad=True) for a in (x, w, b)]
    for strides in ((1, 1), (2, 2)):
        out = kernels_conv.conv2d(*tensors, strides=strides, padding="same")
        assert out.dtype == np.float32
        assert all(g.dtype == np.float32 for g in grad(out, tensors))
        assert out.numpy().flags.c_contiguous  # downstream reshapes stay free


def test_conv2d_errors():
    x = np.zeros((1, 3, 4, 4))
    with pytest.raises(ValueError, match="3 channels but the kernel expects 2"):
        kernels_conv.conv2d(x, np.zeros((1, 2, 3, 3)))
    with pytest.raises(ValueError, match="does not fit"):
        kernels_conv.conv2d(x, np.zeros((1, 3, 5, 5)))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        kernels_conv.conv2d(np.zeros((3, 4, 4)), np.zeros((1, 3, 3, 3)))


# -- "same" padding against onnxruntime (the exporter relies on SAME_UPPER) -------------------


def _run_onnx(node, x, w=None):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper  # noqa: PLC0415

    # onnxruntime's CPU Conv is float32 only.
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))]
    feeds = {"x": x}
    if w is not None:
        inputs.append(helper.make_tensor_value_info("w", TensorProto.FLOAT, list(w.shape)))
        feeds["w"] = w
    graph = helper.make_graph(
        [node], "g", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None] * 4)]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)[0]


SAME_UPPER_CASES = [((7, 6), (3, 3), (2, 2)), ((6, 8), (2, 3), (2, 3)), ((5, 5), (4, 2), (1, 1))]


@pytest.mark.parametrize(("spatial", "kernel", "strides"), SAME_UPPER_CASES)
def test_same_padding_equals_onnx_same_upper(spatial, kernel, strides):
    from onnx import helper  # noqa: PLC0415

    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 2, *spatial), dtype=np.float32)
    w = rng.standard_normal((3, 2, *kernel), dtype=np.float32)
    conv = helper.make_node("Conv", ["x", "w"], ["y"], auto_pad="SAME_UPPER", strides=list(strides))
    got = kernels_conv.conv2d(x, w, strides=strides, padding="same").numpy()
    np.testing.assert_allclose(got, _run_onnx(conv, x, w), rtol=1e-5, atol=1e-6)

    attrs = {"auto_pad": "SAME_UPPER", "kernel_shape": list(kernel), "strides": list(strides)}
    max_pool = helper.make_node("MaxPool", ["x"], ["y"], **attrs)
    got = kernels_conv.max_pool2d(x, kernel, strides, "same").numpy()
    np.testing.assert_array_equal(got, _run_onnx(max_pool, x))
    avg_pool = helper.make_node("AveragePool", ["x"], ["y"], count_include_pad=0, **attrs)
    got = kernels_conv.avg_pool2d(x, kernel, strides, "same").numpy()
    np.testing.assert_allclose(got, _run_onnx(avg_pool, x), rtol=1e-6, atol=1e-7)


# -- window pooling ---------------------------------------------------------------------------


def _pool_args(case):
    shape, pool, strides, padding = POOL_CASES[case]
    strides_used = pool if strides is None else strides
    return shape, pool, strides, padding, _pads(padding, shape[2:], pool, strides_used)


@pytest.mark.parametrize("case", sorted(POOL_CASES))
def test_pool_forward_matches_naive_loops(case):
    shape, pool, strides, padding, pads = _pool_args(case)
    x = np.random.default_rng(0).standard_normal(shape)
    used = pool if strides is None else strides
    got = kernels_conv.max_pool2d(x, pool, strides, padding).numpy()
    np.testing.assert_array_equal(got, naive_pool(x, pool, used, pads, np.max))
    got = kernels_conv.avg_pool2d(x, pool, strides, padding).numpy()
    np.testing.assert_allclose(got, naive_pool(x, pool, used, pads, np.mean), rtol=1e-12)


@pytest.mark.parametrize("case", sorted(POOL_CASES))
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_gradients_match_finite_differences(case, kind):
    shape, pool, strides, padding, _ = _pool_args(case)
    # Standard normal values have no ties, so the max-pool derivative is well defined.
    x = np.random.default_rng(1).standard_normal(shape)
    fn = kernels_conv.max_pool2d if kind == "max" else kernels_conv.avg_pool2d
    assert check_gradients(lambda x: fn(x, pool, strides, padding), [x]) < TOLERANCE


def test_same_average_pooling_divides_by_real_elements():
    # A 3x3 image of ones: every window's average is exactly 1 whatever its padding.
    x = np.ones((1, 1, 3, 3))
    out = kernels_conv.avg_pool2d(x, (2, 2), None, "same").numpy()
    np.testing.assert_array_equal(out, np.ones((1, 1, 2, 2)))
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    out = kernels_conv.avg_pool2d(x, (2, 2), None, "same").numpy()[0, 0]
    # Windows: [[0,1],[3,4]], [[2],[5]], [[6,7]], [[8]] (padding at the bottom/right).
    np.testing.assert_allclose(out, [[2.0, 3.5], [6.5, 8.0]])


def _max_pool_grad(x, pool=(2, 2), strides=None, padding="valid"):
    xt = Tensor(x, requires_grad=True)
    out = kernels_conv.max_pool2d(xt, pool, strides, padding)
    return grad(out, [xt], grad_output=np.ones(out.shape))[0]


def test_max_pool_ties_send_the_whole_gradient_to_one_element():
    # All-equal windows: one element per window (the top-left) takes the gradient.
    g = _max_pool_grad(np.zeros((1, 1, 4, 4)))
    np.testing.assert_array_equal(g[0, 0], np.kron(np.ones((2, 2)), [[1, 0], [0, 0]]))
    # Ties between (0, 1) and (1, 0): the leftmost column wins, then the topmost row.
    g = _max_pool_grad(np.array([[[[1.0, 5.0], [5.0, 1.0]]]]))
    np.testing.assert_array_equal(g[0, 0], [[0, 0], [1, 0]])
    g = _max_pool_grad(np.array([[[[1.0, 5.0], [2.0, 5.0]]]]))
    np.testing.assert_array_equal(g[0, 0], [[0, 1], [0, 0]])
    # Overlapping windows full of ties, against the rule written as loops.
    x = np.random.default_rng(0).integers(0, 2, size=(2, 3, 6, 7)).astype(np.float64)
    # The tiled path (stride = window, no padding), covering the input or not.
    cases = [((3, 3), (1, 1), "valid"), ((3, 2), (2, 1), "same")]
    cases += [((2, 2), (2, 2), "valid"), ((3, 2), (3, 2), "valid"), ((2, 1), (2, 1), "valid")]
    for pool, strides, padding in cases:
        pads = _pads(padding, x.shape[2:], pool, strides)
        np.testing.assert_array_equal(
            _max_pool_grad(x, pool, strides, padding),
            naive_max_pool_tie_gradient(x, pool, strides, pads),
        )


def naive_max_pool_tie_gradient(x, pool, strides, pads):
    """Gradient of sum(max_pool(x)): per window, +1 on the first maximum in column-major
    order (leftmost column holding the maximum, topmost in it)."""
    (kh, kw), (sh, sw), ((top, bottom), (left, right)) = pool, strides, pads
    n, c, h, w = x.shape
    g = np.zeros_like(x)
    for r in range((h + top + bottom - kh) // sh + 1):
        rows = range(max(r * sh - top, 0), min(r * sh - top + kh, h))
        for col in range((w + left + right - kw) // sw + 1):
            cols = range(max(col * sw - left, 0), min(col * sw - left + kw, w))
            for i in range(n):
                for ch in range(c):
                    order = [(y, z) for z in cols for y in rows]
                    best = max(x[i, ch, y, z] for y, z in order)
                    y, z = next(p for p in order if x[i, ch, p[0], p[1]] == best)
                    g[i, ch, y, z] += 1
    return g


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_float32_stays_float32(kind):
    fn = kernels_conv.max_pool2d if kind == "max" else kernels_conv.avg_pool2d
    x = Tensor(np.random.default_rng(0).standard_normal((2, 3, 5, 5), dtype=np.float32), True)
    for padding in ("valid", "same"):
        out = fn(x, (2, 2), None, padding)
        assert out.dtype == np.float32 and grad(out, [x])[0].dtype == np.float32


def test_pool_errors():
    with pytest.raises(ValueError, match="does not fit"):
        kernels_conv.max_pool2d(np.zeros((1, 1, 2, 2)), (3, 3))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        kernels_conv.avg_pool2d(np.zeros((2, 4, 4)), (2, 2))


# -- global pooling ---------------------------------------------------------------------------


@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pools_forward_and_gradients(keepdims):
    x = np.random.default_rng(2).standard_normal((3, 2, 4, 5))
    avg = kernels_conv.global_avg_pool2d(x, keepdims).numpy()
    mx = kernels_conv.global_max_pool2d(x, keepdims).numpy()
    np.testing.assert_allclose(avg, x.mean(axis=(2, 3), keepdims=keepdims), rtol=1e-12)
    np.testing.assert_array_equal(mx, x.max(axis=(2, 3), keepdims=keepdims))
    for fn in (kernels_conv.global_avg_pool2d, kernels_conv.global_max_pool2d):
        assert check_gradients(lambda x, fn=fn: fn(x, keepdims), [x]) < TOLERANCE


def test_global_max_pool_ties_go_to_the_first_maximum():
    x = np.array([[[[0.0, 3.0], [3.0, 1.0]], [[2.0, 2.0], [2.0, 2.0]]]])
    xt = Tensor(x, requires_grad=True)
    g = grad(kernels_conv.global_max_pool2d(xt), [xt], grad_output=np.array([[1.0, 2.0]]))[0]
    np.testing.assert_array_equal(g[0], [[[0, 1], [0, 0]], [[2, 0], [0, 0]]])


# -- the strict array-API namespace gives the numpy numbers -----------------------------------

STRICT_CASES = {
    # "same" at stride 1 takes the shifted-run im2col; the others take window slices.
    "conv-shifted": lambda x, w, b: kernels_conv.conv2d(x, w, b, (1, 1), "same", (1, 1)),
    "conv-shifted-dilated": lambda x, w, b: kernels_conv.conv2d(x, w, b, (1, 1), "same", (2, 2)),
    "conv-dilated": lambda x, w, b: kernels_conv.conv2d(x, w, b, (1, 1), "valid", (2, 1)),
    "conv-strided": lambda x, w, b: kernels_conv.conv2d(x, w, b, (2, 1), "same", (1, 1)),
    "conv-no-bias": lambda x, w, b: kernels_conv.conv2d(x, w, None, (2, 2), "valid", (1, 1)),
    "conv-relu": lambda x, w, b: kernels_conv.conv2d(x, w, b, (1, 1), "same", relu=True),
    "max-tiled": lambda x, w, b: kernels_conv.max_pool2d(x, (2, 2), None, "valid"),
    "max-overlap-same": lambda x, w, b: kernels_conv.max_pool2d(x, (3, 2), (2, 1), "same"),
    "avg-tiled": lambda x, w, b: kernels_conv.avg_pool2d(x, (2, 2), None, "valid"),
    "avg-overlap-same": lambda x, w, b: kernels_conv.avg_pool2d(x, (3, 3), (2, 2), "same"),
    "avg-gaps": lambda x, w, b: kernels_conv.avg_pool2d(x, (2, 2), (3, 3), "valid"),
    "global-avg": lambda x, w, b: kernels_conv.global_avg_pool2d(x, True),
    "global-max": lambda x, w, b: kernels_conv.global_max_pool2d(x),
}


@pytest.mark.parametrize("case", sorted(STRICT_CASES))
def test_strict_namespace_gives_the_numpy_result(case):
    fn = STRICT_CASES[case]
    rng = np.random.default_rng(7)
    host = [rng.standard_normal(s) for s in [(2, 3, 7, 6), (4, 3, 3, 2), (4,)]]

    def run():
        tensors = [Tensor(backend.asarray(a), requires_grad=True) for a in host]
        out = fn(*tensors)
        weights = backend.asarray(np.random.default_rng(8).standard_normal(out.shape))
        grads = grad(out, tensors, grad_output=weights)
        return [backend.to_numpy(out.data)] + [
            None if g is None else backend.to_numpy(g) for g in grads
        ]

    expected = run()
    with backend.use_namespace(array_api_strict, "strict"):
        got = run()
    for want, have in zip(expected, got, strict=True):
        assert (want is None) == (have is None)
        if want is not None:
            np.testing.assert_allclose(have, want, rtol=1e-12, atol=1e-12)
