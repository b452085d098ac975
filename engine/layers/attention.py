"""``MultiHeadAttention`` (``keras.layers.MultiHeadAttention``, Vaswani et al., 2017).

Ports, in Keras's call order: ``query (Tq, dq)``, ``value (Tv, dv)`` and optionally
``key (Tv, dk)`` (without it the value is the key). Self-attention is the same tensor wired
to ports 0 and 1. Keras's call argument ``use_causal_mask`` is a layer parameter here
(a canvas node has no call arguments): query ``i`` then sees keys ``0..i`` only. A padding
mask (``Embedding(mask_zero=True)`` upstream) hides padded keys, as in Keras; the output
keeps the query's mask.

Weight layout (``get_weights`` order), exactly Keras's:

- ``query_kernel (dq, num_heads, key_dim)``, ``query_bias (num_heads, key_dim)``;
- ``key_kernel (dk, num_heads, key_dim)``, ``key_bias (num_heads, key_dim)``;
- ``value_kernel (dv, num_heads, value_dim)``, ``value_bias (num_heads, value_dim)``;
- ``attention_output_kernel (num_heads, value_dim, out)``, ``attention_output_bias (out,)``,

biases only with ``use_bias``; ``out`` is ``output_shape`` or, when that is empty, ``dq``.
Queries are scaled by ``1/sqrt(key_dim)`` before the dot products; ``dropout`` drops
attention probabilities in training. The projections are matmuls on the folded heads and
the attention core is one fused primitive (:mod:`engine.autodiff.kernels_attention`).
"""

from __future__ import annotations

import math

from engine import backend
from engine.autodiff import ops
from engine.autodiff.kernels_attention import scaled_dot_attention
from engine.layers.base import Layer, ShapeError, WeightSpec, register
from engine.layers.regularization import SEED, layer_generator
from engine.layers.schema import Param, penalty_params

PROJECTIONS = ("query", "key", "value")


@register
class MultiHeadAttention(Layer):
    """Multi-head scaled dot-product attention of a query sequence over a value sequence.

    Weights: ``query_kernel (dq, heads, key_dim)``, ``query_bias (heads, key_dim)``,
    ``key_kernel (dk, heads, key_dim)``, ``key_bias``, ``value_kernel (dv, heads,
    value_dim)``, ``value_bias``, ``attention_output_kernel (heads, value_dim, out)``,
    ``attention_output_bias (out,)`` (Keras's layout and order).
    """

    type_name = "MultiHeadAttention"
    display_name = "Multi-Head Attention"
    category = "Attention"
    description = "Each query step attends to every value step, in several heads."
    params = (
        Param("num_heads", "int", default=2, min=1, max=1024, required=True, help="Heads"),
        Param(
            "key_dim",
            "int",
            default=16,
            min=1,
            max=100_000,
            required=True,
            help="Size of each head's query and key vectors",
        ),
        Param(
            "value_dim",
            "int",
            default=None,
            min=1,
            max=100_000,
            nullable=True,
            help="Size of each head's value vectors (empty: key_dim)",
        ),
        Param(
            "dropout",
            "float",
            default=0.0,
            min=0.0,
            max=1.0,
            max_exclusive=True,
            help="Fraction of attention weights dropped in training",
        ),
        Param("use_bias", "bool", default=True, help="Add learned biases to the projections"),
        Param(
            "output_shape",
            "int",
            default=None,
            min=1,
            max=1_000_000,
            nullable=True,
            help="Features of each output step (empty: the query's features)",
        ),
        Param(
            "use_causal_mask",
            "bool",
            default=False,
            help="Step i attends only to steps 0..i (Keras's call argument; decoders)",
        ),
        Param(
            "kernel_initializer",
            "choice",
            default="glorot_uniform",
            choices=("glorot_uniform", "glorot_normal", "he_uniform", "he_normal"),
            help="How the projection kernels' first values are drawn",
        ),
        SEED,
        *penalty_params(("kernel", "bias")),
    )
    min_inputs = 2
    max_inputs = 3
    uses_training_flag = True
    consumes_mask = True
    weight_penalties = {
        **{f"{p}_kernel": ("kernel_regularizer", "kernel_constraint") for p in PROJECTIONS},
        **{f"{p}_bias": ("bias_regularizer", "bias_constraint") for p in PROJECTIONS},
        "attention_output_kernel": ("kernel_regularizer", "kernel_constraint"),
        "attention_output_bias": ("bias_regularizer", "bias_constraint"),
    }
    # The key bias shifts every score of a query equally, so softmax makes its gradient
    # exactly zero and a finite-difference check sees only rounding noise: the generic
    # examples leave biases out (tests/engine/layers/test_torch_parity_sequences.py checks
    # them against PyTorch).
    examples = (
        {
            "config": {"num_heads": 2, "key_dim": 3, "use_bias": False},
            "input_shape": [(4, 5), (4, 5)],
        },
        {
            "config": {
                "num_heads": 1,
                "key_dim": 2,
                "value_dim": 3,
                "output_shape": 4,
                "use_bias": False,
            },
            "input_shape": [(3, 2), (5, 3), (5, 4)],
        },
        {
            "config": {"num_heads": 2, "key_dim": 2, "use_causal_mask": True, "use_bias": False},
            "input_shape": [(4, 3), (4, 3)],
        },
        {
            "config": {"num_heads": 2, "key_dim": 2, "dropout": 0.3, "use_bias": False},
            "input_shape": [(3, 4), (3, 4)],
        },
    )

    @property
    def head_value_dim(self) -> int:
        return self.value_dim or self.key_dim

    def _shapes(self, input_shape):
        shapes = [tuple(s) for s in input_shape]
        names = ("query", "value", "key")
        for name, shape in zip(names, shapes, strict=False):
            if len(shape) != 2:
                raise ShapeError(
                    f"MultiHeadAttention expects its {name} as a sequence (timesteps, "
                    f"features), got {shape}",
                    f"insert Reshape to ({math.prod(shape[:-1])}, {shape[-1]})"
                    if len(shape) > 2
                    else f"insert Reshape to ({shape[0]}, 1)",
                )
        query, value = shapes[0], shapes[1]
        key = shapes[2] if len(shapes) > 2 else value
        if key[0] != value[0]:
            raise ShapeError(
                f"MultiHeadAttention's key has {key[0]} steps but its value has {value[0]}",
                "give key and value the same number of timesteps (one key per value)",
            )
        if self.use_causal_mask and query[0] != value[0]:
            raise ShapeError(
                f"use_causal_mask needs as many query steps as value steps, got {query[0]} "
                f"and {value[0]}",
                "turn use_causal_mask off or give query and value the same length",
            )
        return query, value, key

    def compute_output_shape(self, input_shape):
        query, _, _ = self._shapes(input_shape)
        return (query[0], self.output_shape or query[1])

    def weight_specs(self, input_shape):
        query, value, key = self._shapes(input_shape)
        heads, kd, vd = self.num_heads, self.key_dim, self.head_value_dim
        out = self.output_shape or query[1]
        init = self.kernel_initializer
        specs = []
        for name, features, width in (
            ("query", query[1], kd),
            ("key", key[1], kd),
            ("value", value[1], vd),
        ):
            specs.append(
                WeightSpec(
                    f"{name}_kernel",
                    (features, heads, width),
                    init,
                    fan_in=features,
                    fan_out=heads * width,
                )
            )
            if self.use_bias:
                specs.append(WeightSpec(f"{name}_bias", (heads, width), "zeros"))
        specs.append(
            WeightSpec(
                "attention_output_kernel", (heads, vd, out), init, fan_in=heads * vd, fan_out=out
            )
        )
        if self.use_bias:
            specs.append(WeightSpec("attention_output_bias", (out,), "zeros"))
        return specs

    def weight_rank(self, weight: str) -> int | None:
        if weight.endswith("kernel"):
            return 3
        return 1 if weight == "attention_output_bias" else 2

    def flops(self, input_shape) -> int:
        query, value, key = self._shapes(input_shape)
        heads, kd, vd = self.num_heads, self.key_dim, self.head_value_dim
        out = self.output_shape or query[1]
        tq, tv = query[0], value[0]
        projections = 2 * heads * (tq * query[1] * kd + tv * key[1] * kd + tv * value[1] * vd)
        core = 2 * heads * tq * tv * (kd + vd) + 5 * heads * tq * tv
        return projections + core + 2 * tq * heads * vd * out

    def _project(self, x, name: str):
        """``x (N, T, d)`` through ``<name>_kernel``: heads first, ``(N, H, T, width)``."""
        kernel = getattr(self, f"{name}_kernel")
        features, heads, width = kernel.shape
        y = ops.matmul(x, ops.reshape(kernel, (features, heads * width)))
        if self.use_bias:
            y = y + ops.reshape(getattr(self, f"{name}_bias"), (heads * width,))
        y = ops.reshape(y, (x.shape[0], x.shape[1], heads, width))
        return ops.transpose(y, (0, 2, 1, 3))

    def _allowed(self, tq: int, tv: int, masks):
        """Boolean ``(N or 1, 1, Tq, Tv)``: which key each query may see (None: all)."""
        xp = backend.xp
        allowed = None
        if self.use_causal_mask:
            rows = xp.reshape(xp.arange(tq), (tq, 1))
            cols = xp.reshape(xp.arange(tv), (1, tv))
            allowed = xp.reshape(cols <= rows, (1, 1, tq, tv))
        query_mask, value_mask = (list(masks) + [None, None])[:2] if masks else (None, None)
        if len(masks or ()) > 2 and masks[2] is not None:
            value_mask = masks[2] if value_mask is None else value_mask & masks[2]
        for mask, shape in ((query_mask, (-1, 1, tq, 1)), (value_mask, (-1, 1, 1, tv))):
            if mask is not None:
                part = xp.reshape(mask, shape)
                allowed = part if allowed is None else allowed & part
        return allowed

    def call(self, inputs, training=False, mask=None):
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        q = self._project(query, "query") * (1.0 / math.sqrt(self.key_dim))
        k = self._project(key, "key")
        v = self._project(value, "value")
        keep = None
        if training and self.dropout > 0:
            shape = (query.shape[0], self.num_heads, query.shape[1], value.shape[1])
            kept = layer_generator(self).random(shape) >= self.dropout
            xp = backend.xp
            keep = xp.astype(backend.asarray(kept), q.dtype) * (1.0 / (1.0 - self.dropout))
        attended = scaled_dot_attention(q, k, v, self._allowed(q.shape[2], k.shape[2], mask), keep)
        heads, vd = self.num_heads, self.head_value_dim
        merged = ops.reshape(
            ops.transpose(attended, (0, 2, 1, 3)), (query.shape[0], query.shape[1], heads * vd)
        )
        kernel = self.attention_output_kernel
        out = ops.matmul(merged, ops.reshape(kernel, (heads * vd, kernel.shape[-1])))
        if self.use_bias:
            out = out + self.attention_output_bias
        return out

    def compute_mask(self, inputs, mask=None):
        """The output keeps the query's mask (Keras)."""
        return mask[0] if mask else None
