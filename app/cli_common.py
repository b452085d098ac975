"""What the ``layercanvas`` subcommands share: the program name, exit statuses, one-line
messages on stderr, and the argument types of their options."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_INVALID",
    "EXIT_OK",
    "EXIT_USAGE",
    "PROG",
    "count",
    "fail",
    "format_diagnostic",
    "non_negative_int",
    "one_line",
    "positive_int",
]

PROG = "layercanvas"
EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def one_line(err: BaseException | str | None) -> str:
    """An error's text on one line (its type's name when it has none)."""
    return " ".join(str(err).split()) or type(err).__name__


def fail(message: str) -> None:
    """Print ``message`` to stderr (the caller has made it one line)."""
    print(message, file=sys.stderr, flush=True)


def format_diagnostic(d) -> str:
    """``error: graph.nodes[2].params.units: ...``, as ``check`` and ``train`` print them."""
    where = f"{d.key}: " if d.key else ""
    nodes = f"[{', '.join(d.node_ids)}] " if d.node_ids and not d.key else ""
    return f"{d.severity}: {where}{nodes}{d.text()}"


def count(n: int, word: str) -> str:
    """``1 epoch``, ``3 epochs``."""
    return f"{n} {word}" + ("" if n == 1 else "s")


def positive_int(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {shown(text)}")
    return value


def non_negative_int(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {shown(text)}")
    return value


#: Longer integers are refused before ``int()`` sees them (no count or size needs more).
MAX_INT_DIGITS = 18


def _int(text: str) -> int:
    if len(text.strip().lstrip("+-")) > MAX_INT_DIGITS:
        raise argparse.ArgumentTypeError(
            f"expected an integer of at most {MAX_INT_DIGITS} digits, got {shown(text)}"
        )
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {shown(text)}") from None


def shown(text: str, limit: int = 40) -> str:
    """``text`` quoted for a message, its middle left out when long, so one bad argument
    cannot turn an error line into pages."""
    if len(text) <= limit:
        return repr(text)
    half = limit // 2
    return f"{text[:half]!r}...{text[-half:]!r} ({len(text)} characters)"


def import_destination(out: str | Path, force: bool) -> tuple[Path, Path, str | None]:
    """The project file and the weights beside it that an import writes, and why it cannot
    write them (``None`` when it can): every importer (ONNX, Keras, a PyTorch checkpoint)
    refuses the same way before reading anything."""
    out = Path(out)
    weights = out.with_suffix(".lcmodel")
    if out.suffix.lower() != ".lcproj":
        return out, weights, f"{out}: the project file must end in .lcproj"
    existing = [p for p in (out, weights) if p.exists()]
    if existing and not force:
        return out, weights, f"{existing[0]} already exists; pass --force to overwrite it"
    return out, weights, None
