"""How numbers read on the canvas and in the inspector: shapes, counts, FLOPs, summaries
of a node's parameters."""

from __future__ import annotations

from typing import Any

__all__ = [
    "count_text",
    "flops_text",
    "param_summary",
    "shape_text",
    "short_message",
    "value_text",
]


def shape_text(shape: tuple | list | None) -> str:
    """``(16, 8, 8)`` -> ``16 × 8 × 8`` (per sample; the batch dimension is left out)."""
    if shape is None:
        return "?"
    return " × ".join(str(d) for d in shape) if shape else "scalar"


def count_text(n: int | None) -> str:
    """Parameter counts in full with thousands separators (``8,256``) up to a million, then
    ``1.2M``."""
    if n is None:
        return "?"
    if n >= 1_000_000:
        return f"{n / 1e6:.1f}M"
    return f"{n:,}"


def flops_text(n: int | None) -> str:
    """``186700`` -> ``186.7K``."""
    if n is None:
        return "?"
    for unit, size in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def value_text(value: Any) -> str:
    """A parameter value as a person writes it: ``[3, 3]`` -> ``3×3``, ``0.5`` -> ``0.5``."""
    if isinstance(value, list | tuple):
        return "×".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def param_summary(params: dict[str, Any], schema: tuple[dict, ...], limit: int = 2) -> str:
    """A few words about a node's settings for its card, from its schema alone (no table of
    per-type rules): the first ``limit`` parameters it sets, in schema order — choices and
    sizes by value (``relu``, ``3×3``), numbers with their name (``units 64``), true flags
    by name (``return_sequences``)."""
    parts = []
    for entry in schema:
        name = entry["name"]
        if name not in params or name.endswith("initializer"):
            continue
        value = params[name]
        kind = entry["kind"]
        if kind == "bool":
            if value is True:
                parts.append(name)
            else:
                continue
        elif kind in ("choice", "int_tuple", "shape") or value is None:
            parts.append(value_text(value))
        else:
            parts.append(f"{name} {value_text(value)}")
        if len(parts) == limit:
            break
    return " · ".join(parts)


def short_message(diagnostic, type_name: str, node_id: str) -> str:
    """A diagnostic's message without what the card already says: ``Dense 'd1': parameter
    'units': -3 is out of range`` -> ``units: -3 is out of range``."""
    message = diagnostic.message
    prefix = f"{type_name} '{node_id}': "
    if message.startswith(prefix):
        message = message[len(prefix) :]
    if diagnostic.param and message.startswith(f"parameter '{diagnostic.param}': "):
        message = f"{diagnostic.param}: " + message[len(f"parameter '{diagnostic.param}': ") :]
    return message
