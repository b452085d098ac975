"""How fast the compiler re-checks a project built of blocks after one edit.

The project is an Input and ``--uses`` linked uses of one block definition (Dense -> Dense
-> Add with the block's input -> Dense, so 4 layers, ``--inner`` of them in all when that is
raised), chained, with the widths kept so every use fits the next. It times
``GraphChecker.check`` right after each kind of edit, median of ``--repeats`` edits, and the
same edits on the hand-expanded (ungrouped) graph for comparison:

- an edit inside the definition (changes every use at once: one undo step);
- an edit of a top-level layer after the blocks;
- a move of a block node (nothing to re-evaluate);
- a check from scratch with empty caches.

Run: ``python -m benchmarks.bench_blocks`` (``--uses 75 --repeats 100``: 300 layers).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.graph.block_definition import BlockDefinition  # noqa: E402
from engine.graph.block_expand import expand_blocks  # noqa: E402
from engine.graph.compiler import GraphChecker  # noqa: E402
from engine.graph.document import GraphDocument, Node  # noqa: E402

WIDTH = 32


def block_project(uses: int) -> GraphDocument:
    inner = GraphDocument("unit")
    inner.add_node(Node("x", "BlockInput"))
    inner.add_node(Node("a", "Dense", {"units": 48, "activation": "relu"}))
    inner.add_node(Node("b", "Dense", {"units": WIDTH, "activation": "tanh"}))
    inner.add_node(Node("add", "Add"))
    inner.add_node(Node("out", "Dense", {"units": WIDTH}))
    for source, target, port in (("x", "a", 0), ("a", "b", 0), ("x", "add", 0), ("b", "add", 1)):
        inner.connect(source, target, port)
    inner.connect("add", "out")
    doc = GraphDocument("bench blocks")
    doc.add_block(BlockDefinition("unit", "Unit", "", inner, ["x"], "out"))
    doc.add_node(Node("input", "Input", {"shape": [WIDTH]}))
    previous = "input"
    for i in range(uses):
        doc.add_node(Node(f"u{i}", "Block", {"block": "unit"}, [0, 100 * i]))
        doc.connect(previous, f"u{i}")
        previous = f"u{i}"
    doc.add_node(Node("head", "Dense", {"units": 10, "activation": "softmax"}))
    doc.connect(previous, "head")
    return doc


def time_edits(doc: GraphDocument, edit, repeats: int, fresh: bool = False) -> float:
    """Median milliseconds of ``checker.check(doc)`` right after ``edit(doc, i)``."""
    checker = GraphChecker()
    checker.check(doc)
    times = []
    for i in range(repeats):
        edit(doc, i)
        if fresh:
            checker = GraphChecker()
        start = time.perf_counter()
        result = checker.check(doc)
        times.append(time.perf_counter() - start)
    assert result.ok, [str(d) for d in result.diagnostics]
    return statistics.median(times) * 1e3


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--uses", type=int, default=75)
    parser.add_argument("--repeats", type=int, default=100)
    args = parser.parse_args(argv)

    doc = block_project(args.uses)
    flat = expand_blocks(doc).flat
    activations = ["relu", "tanh", "sigmoid", "elu"]
    first = "u0.a"

    def inside(d, i):
        if d.blocks:
            d.blocks["unit"].graph.set_param("a", "units", 40 + i % 20)
        else:  # the same change, made to every copy by hand
            for node in [n for n in d.nodes if n.id.endswith(".a")]:
                d.set_param(node.id, "units", 40 + i % 20)

    def top_level(d, i):
        d.set_param("head", "activation", activations[i % 2 * 3] if i % 2 else "softmax")

    def move(d, i):
        d.move_node("u1" if d.blocks else first, (i, i))

    rows = []
    for label, edit, fresh in (
        ("edit inside the definition (all uses)", inside, False),
        ("edit a top-level layer", top_level, False),
        ("move a block node", move, False),
        ("from scratch, empty caches", top_level, True),
    ):
        rows.append((label, time_edits(doc, edit, args.repeats, fresh)))
        rows[-1] += (time_edits(flat, edit, args.repeats, fresh),)
    print(
        f"project: {len(doc)} nodes ({args.uses} uses of one block), {len(flat)} layers "
        f"expanded; median of {args.repeats} edits"
    )
    print(f"  {'':<40} {'blocks':>9} {'expanded':>9}")
    for label, with_blocks, expanded in rows:
        print(f"  {label:<40} {with_blocks:6.2f} ms {expanded:6.2f} ms")


if __name__ == "__main__":
    main()
