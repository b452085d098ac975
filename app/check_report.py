"""What ``layercanvas check`` prints about a graph: a Keras-style table of its layers (type,
output shape, parameters, FLOPs per sample), the totals, and the training-memory estimate at
the project's batch size and optimizer (see :mod:`engine.graph.memory`).
"""

from __future__ import annotations

__all__ = ["summary_table"]


def summary_table(project, result) -> str:
    """The table for ``result`` (a :class:`engine.graph.compiler.CheckResult` of
    ``project``'s graph)."""
    order = list(result.order) + [n for n in result.nodes if n not in result.order]
    rows = [("Layer (type)", "Output shape", "Param #", "FLOPs")]
    for node_id in order:
        report = result.nodes[node_id]
        if report.output_shape is not None:
            shape = "(None, " + ", ".join(map(str, report.output_shape)) + ")"
        else:
            shape = "error" if report.status == "error" else "?"
        rows.append(
            (
                f"{node_id} ({report.type_name})",
                shape,
                "-" if report.param_count is None else f"{report.param_count:,}",
                "-" if report.flops is None else _human(report.flops),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    line = "-" * (sum(widths) + 6)

    def fmt(row) -> str:
        return "  ".join(
            cell.ljust(w) if i < 2 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )

    body = [line, fmt(rows[0]), "=" * len(line)] + [fmt(r) for r in rows[1:]] + [line]
    body.append(
        f"Total params: {result.total_params:,}    FLOPs per sample: {_human(result.total_flops)}"
    )
    memory = getattr(result, "memory", None)
    if memory is not None:
        # While a node is broken the shapes after it are unknown: the figure is a floor.
        floor = "" if all(r.status == "ok" for r in result.nodes.values()) else " (at least)"
        body.append(memory.summary_line() + floor)
    return "\n".join(body)


def _human(n: int) -> str:
    for factor, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if n >= factor:
            return f"{n / factor:.2f}{suffix}"
    return str(n)
