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


def shape_text(shape: tuple | list | None, tight: bool = False) -> str:
    """``(16, 8, 8)`` -> ``16 × 8 × 8`` (per sample; the batch dimension is left out), or
    ``16×8×8`` when ``tight`` (on the cards)."""
    if shape is None:
        return "?"
    return (" × " if not tight else "×").join(str(d) for d in shape) if shape else "scalar"


def count_text(n: int | None, compact: bool = False) -> str:
    """Parameter counts in full with thousands separators (``8,256``) up to a million, then
    ``1.2M``; ``compact`` (for the cards) abbreviates from a thousand: ``8.3K``."""
    if n is None:
        return "?"
    if n >= 1_000_000:
        return f"{n / 1e6:.1f}M"
    if compact and n >= 1_000:
        return f"{n / 1e3:.1f}K"
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
        elif kind == "int_tuple" and isinstance(value, int) and (entry.get("length") or 1) > 1:
            parts.append(value_text([value] * entry["length"]))  # kernel_size=3 reads 3×3
        elif kind in ("choice", "int_tuple", "shape") or value is None:
            parts.append(value_text(value))
        else:
            parts.append(f"{name} {value_text(value)}")
        if len(parts) == limit:
            break
    return " · ".join(parts)


#: What a card's footer says for diagnostics whose full message names the node itself
#: (the tooltip and the problems panel give the whole message).
_SHORT = {
    "unconnected_port": "input not connected",
    "too_few_inputs": "needs more inputs",
    "too_many_inputs": "too many inputs",
    "port_conflict": "two edges into one input",
    "port_out_of_range": "edge into a missing port",
    "dangling_edge": "edge to a missing layer",
    "cycle": "part of a cycle",
    "unknown_type": "unknown layer type",
    "duplicate_id": "name used twice",
    "no_output": "nothing follows it",
    "unused_input": "not connected",
    "unreachable": "not reachable from an Input",
    "internal": "internal error (see tooltip)",
}


def short_message(diagnostic, type_name: str, node_id: str) -> str:
    """A diagnostic in a few words for a card: ``Dense 'd1': parameter 'units': -3 is out of
    range`` -> ``units: -3 is out of range``; ``Dense expects a flat input ...`` -> ``expects a
    flat input ...``; port and graph problems by a short phrase."""
    if diagnostic.code in _SHORT:
        return _SHORT[diagnostic.code]
    message = diagnostic.message
    for prefix in (f"{type_name} '{node_id}': ", f"{type_name} "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
            break
    if diagnostic.param and message.startswith(f"parameter '{diagnostic.param}': "):
        message = f"{diagnostic.param}: " + message[len(f"parameter '{diagnostic.param}': ") :]
    return message
