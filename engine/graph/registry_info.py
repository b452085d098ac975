"""What the app reads about each layer type: palette entries, inspector forms, port counts.

Everything here is read from the layer classes registered in
:data:`engine.layers.base.LAYER_TYPES` — nothing is duplicated — so a new layer type shows up
in the palette, the inspector and the compiler by registering itself.

The two pseudo types of blocks are described here too, though no layer class stands behind
them: :func:`block_info` for a ``Block`` node (its ports come from its definition) and
:func:`block_input_info` for a ``BlockInput`` port inside a definition. ``layer_info`` and
the palette's sections list only registered layers.
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass
from typing import Any

__all__ = [
    "BLOCKS_CATEGORY",
    "CATEGORY_ORDER",
    "LayerInfo",
    "all_layer_info",
    "block_info",
    "block_input_info",
    "by_category",
    "closest_type",
    "default_params",
    "layer_info",
    "layer_types",
]

#: The palette's section order; categories not listed here follow, alphabetically.
CATEGORY_ORDER = (
    "Core",
    "Convolution",
    "Pooling",
    "Recurrent",
    "Attention",
    "Normalization",
    "Regularization",
    "Activation",
    "Merging",
    "Embedding",
    "Reshaping",
)
#: The palette section of the block library (after the layer categories).
BLOCKS_CATEGORY = "Blocks"


@dataclass(frozen=True)
class LayerInfo:
    """One layer type as the app sees it.

    ``params`` are the schema entries as plain data (``Param.to_json()``: name, kind,
    default, help, choices/min/max/length, nullable, required). ``max_inputs`` is ``None``
    for variadic types (``Add``, ``Concatenate``).
    """

    type_name: str
    display_name: str
    category: str
    description: str
    params: tuple[dict[str, Any], ...]
    min_inputs: int
    max_inputs: int | None

    @property
    def variadic(self) -> bool:
        return self.max_inputs is None

    def port_count(self, connected: int = 0) -> int:
        """Input ports to draw: the fixed count, or for a variadic type one more than the
        inputs connected (a free port to drop the next edge on), at least ``min_inputs``."""
        if self.max_inputs is not None:
            return self.max_inputs
        return max(self.min_inputs, connected + 1)

    def param(self, name: str) -> dict[str, Any] | None:
        return next((p for p in self.params if p["name"] == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "type_name": self.type_name,
            "display_name": self.display_name,
            "category": self.category,
            "description": self.description,
            "params": [dict(p) for p in self.params],
            "min_inputs": self.min_inputs,
            "max_inputs": self.max_inputs,
        }


def _registry() -> dict[str, type]:
    import engine.layers  # noqa: F401, PLC0415 - importing the package registers every family
    from engine.layers.base import LAYER_TYPES  # noqa: PLC0415

    return LAYER_TYPES


def layer_types() -> list[str]:
    """Every registered type name."""
    return sorted(_registry())


def layer_info(type_name: str) -> LayerInfo:
    """The app-facing description of one type; ``KeyError`` (with a suggestion) if unknown."""
    try:
        cls = _registry()[type_name]
    except KeyError:
        hint = closest_type(type_name)
        suffix = f"; did you mean {hint!r}?" if hint else ""
        raise KeyError(f"unknown layer type {type_name!r}{suffix}") from None
    # A type's declarations never change once registered, and building the schema's JSON is
    # the expensive part (the canvas, inspector and sweep editor ask for it on every edit).
    info = _INFO_CACHE.get(cls)
    if info is None:
        info = _INFO_CACHE[cls] = LayerInfo(
            type_name=cls.type_name,
            display_name=cls.display_name or cls.type_name,
            category=cls.category,
            description=cls.description or (cls.__doc__ or "").strip().split("\n")[0],
            params=tuple(p.to_json() for p in cls.params),
            min_inputs=cls.min_inputs,
            max_inputs=cls.max_inputs,
        )
    return info


_INFO_CACHE: dict[type, LayerInfo] = {}


def block_info(definition) -> LayerInfo:
    """A ``Block`` node using ``definition`` (a
    :class:`~engine.graph.block_definition.BlockDefinition`) as the app sees it: its title,
    description, one input port per block input and the one parameter naming the block."""
    param = {
        "name": "block",
        "kind": "str",
        "default": definition.name,
        "help": "The block definition this node uses (uses of one definition are linked)",
        "nullable": False,
        "required": True,
    }
    return LayerInfo(
        type_name="Block",
        display_name=definition.title or definition.name,
        category=BLOCKS_CATEGORY,
        description=definition.description or f"The block '{definition.name}'",
        params=(param,),
        min_inputs=definition.port_count,
        max_inputs=definition.port_count,
    )


def block_input_info() -> LayerInfo:
    """A ``BlockInput`` node: an input port inside a block definition."""
    return LayerInfo(
        type_name="BlockInput",
        display_name="Block input",
        category=BLOCKS_CATEGORY,
        description="Where data enters the block: its shape is whatever feeds the block's port",
        params=(),
        min_inputs=0,
        max_inputs=0,
    )


def all_layer_info() -> list[LayerInfo]:
    """Every type, in palette order (category, then display name)."""
    infos = [layer_info(name) for name in _registry()]
    return sorted(infos, key=lambda i: (_category_rank(i.category), i.display_name.lower()))


def by_category() -> dict[str, list[LayerInfo]]:
    """Palette sections: category -> its types, sections in :data:`CATEGORY_ORDER`."""
    sections: dict[str, list[LayerInfo]] = {}
    for info in all_layer_info():
        sections.setdefault(info.category, []).append(info)
    return sections


def _category_rank(category: str) -> tuple[int, str]:
    try:
        return (CATEGORY_ORDER.index(category), "")
    except ValueError:
        return (len(CATEGORY_ORDER), category)


def default_params(type_name: str) -> dict[str, Any]:
    """Parameters for a node freshly dropped on the canvas: each required parameter with
    its default, so the node is valid at once where the schema allows it."""
    info = layer_info(type_name)
    return {
        p["name"]: p["default"] for p in info.params if p["required"] and p["default"] is not None
    }


def closest_type(name: str) -> str | None:
    """The registered type name most like ``name`` (case-insensitive), or ``None``."""
    if not isinstance(name, str):
        return None
    return _closest(name.lower(), tuple(_registry()))


@functools.lru_cache(maxsize=1024)
def _closest(lowered_name: str, names: tuple[str, ...]) -> str | None:
    # Cached: a file with thousands of nodes of one unknown type asks the same question
    # thousands of times, and difflib is slow.
    lowered = {n.lower(): n for n in names}
    if lowered_name in lowered:
        return lowered[lowered_name]
    match = difflib.get_close_matches(lowered_name, list(lowered), n=1, cutoff=0.5)
    return lowered[match[0]] if match else None
