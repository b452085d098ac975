"""Axis orders: how the engine's channels-first tensors relate to Keras's channels-last ones.

A *layout* is a permutation ``p`` of a tensor's axes (the batch axis 0 included) such that
the engine tensor is the Keras tensor transposed by ``p``: ``engine = keras.transpose(p)``.
The identity means both hold the same array; ``channels_first(4) = (0, 3, 1, 2)`` means
Keras has ``(N, H, W, C)`` where the engine has ``(N, C, H, W)``.

The importer tracks a layout per tensor, keeps it through layers that do not care (an
activation, Dropout, Add), maps the ``axis`` of layers that do (BatchNormalization,
Concatenate, Softmax), and inserts a ``Permute`` node where a layer needs another layout
(Flatten, Dense and Reshape need Keras's own order; Conv2D and pooling need channels first).
"""

from __future__ import annotations

Layout = tuple[int, ...]

__all__ = [
    "Layout",
    "channels_first",
    "engine_axis",
    "identity",
    "is_identity",
    "permute_dims",
]


def identity(rank: int) -> Layout:
    return tuple(range(rank))


def is_identity(layout: Layout) -> bool:
    return layout == identity(len(layout))


def channels_first(rank: int) -> Layout:
    """Keras ``(N, d1, ..., C)`` -> engine ``(N, C, d1, ...)``."""
    if rank < 3:
        return identity(rank)
    return (0, rank - 1, *range(1, rank - 1))


def moved_channels_last(rank: int) -> Layout:
    """What Keras's ``Flatten(data_format="channels_first")`` reads: axis 1 moved last."""
    if rank < 3:
        return identity(rank)
    return (0, *range(2, rank), 1)


def engine_axis(axis: int, layout: Layout) -> int:
    """The engine axis (batch counted) that holds Keras's ``axis`` under ``layout``."""
    rank = len(layout)
    full = axis + rank if axis < 0 else axis
    if not 0 <= full < rank:
        raise ValueError(f"axis {axis} does not exist for a rank-{rank} tensor")
    return layout.index(full)


def permute_dims(source: Layout, target: Layout) -> tuple[int, ...]:
    """Keras ``Permute`` dims (1-based, batch excluded) turning an engine tensor held in
    layout ``source`` into the same Keras tensor held in layout ``target``."""
    order = [source.index(axis) for axis in target]
    return tuple(order[1:])
