"""Nested Keras models become LayerCanvas blocks.

The importer first flattens a nested model (a Sequential used as a layer, a Functional
inside a Functional) into prefixed layers; here each nested model's layers are grouped
into one Block node named after it (:func:`engine.graph.blocks.plan_group`, what the
canvas's Group command does), innermost first, so a model nested in a nested model becomes
a block inside a block. Each call of a shared nested model becomes its own block. A nested
model that cannot be one block (it has several outputs) stays flattened, with a note.

The model then compiles from the grouped document, whose layers are named
``<block>.<layer>`` (:mod:`engine.graph.block_expand`); :func:`group_nested` returns that
name for every flat node so the weights can be loaded into them.
"""

from __future__ import annotations

from engine.graph.blocks import BlockError, apply_group, plan_group

__all__ = ["group_nested"]

Scope = tuple[tuple[str, int], ...]


def group_nested(doc, scopes: dict[str, Scope]) -> tuple[dict[str, str], list[str]]:
    """Group ``doc`` in place; ``scopes`` gives each flat node's nested-model chain.
    Returns ``(layer name of each flat node id, notes)``."""
    notes: list[str] = []
    chains = sorted(
        {s[:n] for s in scopes.values() for n in range(1, len(s) + 1)}, key=len, reverse=True
    )
    top = {node: node for node in scopes}
    path: dict[str, list[str]] = {node: [] for node in scopes}
    for chain in chains:
        members = [node for node, scope in scopes.items() if scope[: len(chain)] == chain]
        selection = list(dict.fromkeys(top[m] for m in members))
        name = chain[-1][0]
        try:
            plan = plan_group(doc, selection, name, name, description=_description(chain))
        except BlockError as err:
            notes.append(f"nested model {name!r} stays flattened (layers {name}_...): {err}")
            continue
        apply_group(plan, doc)
        block_id = plan.block_node.id
        for member in members:
            path[member].insert(0, block_id)
            top[member] = block_id
    if any(path.values()):
        blocks = sorted({p[0] for p in path.values() if p})
        notes.append(
            f"nested model(s) imported as block(s) {', '.join(blocks)} (Ungroup turns a block "
            "back into its layers)"
        )
    return {node: ".".join([*path[node], node]) for node in scopes}, notes


def _description(chain: Scope) -> str:
    where = " in ".join(name for name, _ in reversed(chain))
    return f"Imported from the nested Keras model {where}."
