"""``Embedding``: integer token ids become learned vectors.

Weight layout (``get_weights`` order): ``embeddings`` of shape ``(input_dim, output_dim)``;
row ``i`` is the vector of token ``i``. An input of shape ``(T,)`` becomes ``(T, output_dim)``
(any per-sample shape works: ``shape + (output_dim,)``). The gradient adds into the rows that
were looked up, so a token repeated in a batch accumulates its updates
(:func:`engine.autodiff.kernels_sequence.token_lookup`).
"""

from __future__ import annotations

from engine import backend
from engine.autodiff.kernels_sequence import token_lookup
from engine.autodiff.tensor import Tensor
from engine.initializers import INITIALIZERS
from engine.layers.base import Layer, WeightSpec, register
from engine.layers.schema import Param, penalty_map, penalty_params


class TokenIdError(ValueError):
    """A token id outside ``[0, input_dim)`` reached an ``Embedding``."""


@register
class Embedding(Layer):
    """Looks up one learned vector per token id (``keras.layers.Embedding``).

    ``mask_zero=True`` declares id 0 as padding, as in Keras (so ``input_dim`` should be the
    vocabulary size + 1); :meth:`compute_mask` gives the ``ids != 0`` mask for layers that
    skip padded steps. The lookup itself is the same either way.
    """

    type_name = "Embedding"
    display_name = "Embedding"
    category = "Core"
    description = "Maps integer token ids in [0, input_dim) to learned vectors."
    params = (
        Param(
            "input_dim",
            "int",
            default=1000,
            min=1,
            required=True,
            help="Vocabulary size: token ids must be in [0, input_dim)",
        ),
        Param(
            "output_dim",
            "int",
            default=16,
            min=1,
            required=True,
            help="Length of each token's vector",
        ),
        Param(
            "embeddings_initializer",
            "choice",
            default="random_uniform",
            choices=tuple(INITIALIZERS),
            help="How the vectors' first values are drawn",
        ),
        Param(
            "mask_zero",
            "bool",
            default=False,
            help="Treat id 0 as padding that later layers may skip",
        ),
        *penalty_params(("embeddings",)),
    )
    weight_penalties = penalty_map(("embeddings",))
    weight_ranks = {"embeddings": 2}

    examples = (
        {
            "config": {"input_dim": 7, "output_dim": 3},
            "input_shape": (5,),
            "input_dtype": "int64",
            "input_range": [0, 7],
        },
        {
            "config": {"input_dim": 4, "output_dim": 2, "mask_zero": True},
            "input_shape": (3,),
            "input_dtype": "int64",
            "input_range": [0, 4],
        },
        {
            "config": {
                "input_dim": 5,
                "output_dim": 2,
                "embeddings_regularizer": {"name": "l2", "l2": 0.001},
                "embeddings_constraint": "unit_norm",
            },
            "input_shape": (3,),
            "input_dtype": "int64",
            "input_range": [0, 5],
        },
    )

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def weight_specs(self, input_shape):
        return [
            WeightSpec(
                "embeddings",
                (self.input_dim, self.output_dim),
                self.embeddings_initializer,
                fan_in=self.input_dim,
                fan_out=self.output_dim,
            )
        ]

    def call(self, inputs, training=False):
        xp = backend.xp
        ids = inputs.data if isinstance(inputs, Tensor) else inputs
        if ids.dtype != xp.int64:
            # Ids fed through a float Input (as a canvas model may do) are whole numbers.
            ids = xp.astype(ids, xp.int64)
        self._check_ids(ids)
        return token_lookup(self.embeddings, ids)

    def _check_ids(self, ids) -> None:
        # One host sync per batch: a wrong id would otherwise read a wrong row (or crash
        # on the GPU with an unreadable message).
        if ids.shape and 0 in ids.shape:
            return
        xp = backend.xp
        extremes = backend.to_numpy(xp.stack([xp.min(ids), xp.max(ids)]))
        smallest, largest = int(extremes[0]), int(extremes[1])
        if largest >= self.input_dim:
            raise TokenIdError(
                f"Embedding {self.name!r} got token id {largest} but input_dim is "
                f"{self.input_dim}, so ids must be in [0, {self.input_dim - 1}]: raise "
                f"input_dim to at least {largest + 1} or re-encode the tokens"
            )
        if smallest < 0:
            raise TokenIdError(
                f"Embedding {self.name!r} got token id {smallest}: ids must be in "
                f"[0, {self.input_dim - 1}] (negative ids are not allowed)"
            )

    def creates_mask(self) -> bool:
        return self.mask_zero

    def compute_mask(self, inputs, mask=None):
        """Boolean array, True where the token is not padding (``None`` without mask_zero)."""
        if not self.mask_zero:
            return None
        ids = inputs.data if isinstance(inputs, Tensor) else backend.asarray(inputs)
        return ids != 0
