"""The table of ONNX operator importers and the attribute reader they share.

An operator module (``import_conv``, ``import_dense``, ...) registers a function per operator
with ``@imports("Conv")``; :mod:`engine.onnx.import_operators` imports every such module so
the table is full, and :mod:`engine.onnx.import_graph` walks a graph through it. The registry
imports none of them, so there is no import cycle between the walker and the operators.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import onnx
from onnx import helper

from engine.onnx.import_limits import MAX_ATTRIBUTE_VALUES, SizeRefused

__all__ = ["IMPORTERS", "Importer", "attr", "imports"]

Importer = Callable[[Any, onnx.NodeProto], None]  # (ImportContext, node)
IMPORTERS: dict[str, Importer] = {}


def imports(*op_types: str) -> Callable[[Importer], Importer]:
    """Register ``fn`` as the importer of the named ONNX operators (default domain)."""

    def decorate(fn: Importer) -> Importer:
        for op in op_types:
            IMPORTERS[op] = fn
        return fn

    return decorate


def attr(node: onnx.NodeProto, name: str, default=None):
    """An attribute's value (ints, floats, strings decoded), or ``default``."""
    for a in node.attribute:
        if a.name == name:
            count = max(len(a.ints), len(a.floats), len(a.strings), len(a.tensors))
            if count > MAX_ATTRIBUTE_VALUES:  # checked before building a Python list of them
                raise SizeRefused(
                    f"has an attribute {name!r} of {count} values; LayerCanvas reads at most "
                    f"{MAX_ATTRIBUTE_VALUES}"
                )
            value = helper.get_attribute_value(a)
            if isinstance(value, bytes):
                return value.decode("utf-8", "replace")
            if isinstance(value, list) and value and isinstance(value[0], bytes):
                return [v.decode("utf-8", "replace") for v in value]
            return value
    return default
