"""The graph edits of transfer learning, as plain data (no Qt): which layers "Freeze up to
here" freezes, and what "Replace head" removes, adds and connects.

The undo commands (:mod:`app.transfer_commands`) and the command line
(``layercanvas finetune``) both apply these plans, so the app and the CLI make the same
edit. A plan is computed from the document before anything changes, and raises
:class:`TransferEditError` (a user error: one line, naming the node) when the edit makes no
sense for the graph it is given.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.graph.document import GraphDocument
from engine.graph.registry_info import layer_types

__all__ = [
    "HeadPlan",
    "TransferEditError",
    "apply_head_plan",
    "classification_training",
    "downstream",
    "freeze_changes",
    "head_plan",
    "unfreeze_changes",
    "upstream",
]

#: The parameter the compiler reads to freeze a layer (Keras's ``layer.trainable``).
TRAINABLE = "trainable"


class TransferEditError(ValueError):
    """A transfer-learning edit that cannot apply to this graph (names the node)."""


def _freezable(graph: GraphDocument, node_id: str) -> bool:
    # Input has no weights, and a block node's layers are frozen inside the block.
    node_type = graph.node(node_id).type
    return node_type != "Input" and node_type in layer_types()


def upstream(graph: GraphDocument, node_id: str) -> list[str]:
    """``node_id`` and every node it depends on, in document order."""
    if node_id not in graph:
        raise TransferEditError(f"there is no layer called '{node_id}'")
    seen = {node_id}
    stack = [node_id]
    while stack:
        for edge in graph.edges_into(stack.pop()):
            if edge.source not in seen:
                seen.add(edge.source)
                stack.append(edge.source)
    return [n.id for n in graph.nodes if n.id in seen]


def downstream(graph: GraphDocument, node_ids: list[str]) -> set[str]:
    """Every node that depends on one of ``node_ids`` (those included)."""
    seen = set(node_ids)
    stack = list(node_ids)
    while stack:
        for edge in graph.edges_from(stack.pop()):
            if edge.target not in seen:
                seen.add(edge.target)
                stack.append(edge.target)
    return seen


def freeze_changes(graph: GraphDocument, node_ids: list[str]) -> dict[str, dict]:
    """New params (node id -> params) that freeze ``node_ids`` and everything upstream of
    them; nodes already frozen are left out, so an empty dict means nothing to do.
    Downstream layers are left as they are (the head keeps training)."""
    targets: list[str] = []
    for node_id in node_ids:
        targets += [n for n in upstream(graph, node_id) if n not in targets]
    changes = {}
    for node_id in targets:
        node = graph.node(node_id)
        if _freezable(graph, node_id) and node.params.get(TRAINABLE) is not False:
            changes[node_id] = {**node.params, TRAINABLE: False}
    return changes


def unfreeze_changes(graph: GraphDocument) -> dict[str, dict]:
    """New params that make every frozen layer trainable again (the key is removed, so the
    project file reads as if it had never been frozen)."""
    return {
        node.id: {k: v for k, v in node.params.items() if k != TRAINABLE}
        for node in graph.nodes
        if node.params.get(TRAINABLE) is False
    }


@dataclass(frozen=True)
class HeadPlan:
    """Replace ``removed`` (the old head) by one ``Dense(units, softmax)`` called
    ``new_id`` at ``position``, fed by ``source``."""

    removed: tuple[str, ...]
    source: str
    new_id: str
    units: int
    position: tuple[float, float]

    @property
    def params(self) -> dict:
        return {"units": self.units, "activation": "softmax"}


def head_plan(
    graph: GraphDocument, head_ids: list[str], units: int, new_id: str = "head"
) -> HeadPlan:
    """Plan the replacement of the head ``head_ids`` (the nodes to remove: the output layer
    and whatever else of the old head is chosen) by a new ``Dense(units, softmax)``.

    The head must be fed by exactly one node outside it, and nothing outside it may read
    from it (the model's output must be one of the removed nodes, not an inner layer).
    """
    if isinstance(units, bool) or not isinstance(units, int) or units < 2:
        raise TransferEditError(f"the new head needs at least 2 classes, got {units!r}")
    ids = list(dict.fromkeys(head_ids))
    if not ids:
        raise TransferEditError("choose the head's layer(s) to replace")
    for node_id in ids:
        if node_id not in graph:
            raise TransferEditError(f"there is no layer called '{node_id}'")
        if graph.node(node_id).type == "Input":
            raise TransferEditError(f"'{node_id}' is the model's input, not part of its head")
    chosen = set(ids)
    feeding = {e.source for n in ids for e in graph.edges_into(n) if e.source not in chosen}
    if len(feeding) != 1:
        names = ", ".join(sorted(feeding)) or "nothing"
        raise TransferEditError(
            f"the head ({', '.join(ids)}) must be fed by exactly one layer, but is fed by "
            f"{names}; choose the last layers of one branch"
        )
    readers = sorted({e.target for n in ids for e in graph.edges_from(n)} - chosen)
    if readers:
        raise TransferEditError(
            f"'{readers[0]}' reads from the head ({', '.join(ids)}); include it in the head "
            "or choose the model's last layers"
        )
    # Reuse a removed id when one is "head"-like, else a fresh one: the id names the output.
    taken = {n.id for n in graph.nodes} - chosen
    new_id = new_id if new_id not in taken else graph.unique_id(new_id)
    last = [n for n in graph.nodes if n.id in chosen][-1]
    return HeadPlan(
        removed=tuple(n.id for n in graph.nodes if n.id in chosen),
        source=feeding.pop(),
        new_id=new_id,
        units=units,
        position=(float(last.position[0]), float(last.position[1])),
    )


def apply_head_plan(graph: GraphDocument, plan: HeadPlan) -> None:
    """Apply ``plan`` directly to ``graph`` (the command line; the app uses an undo
    command doing the same steps)."""
    for node_id in plan.removed:
        graph.remove_node(node_id)
    graph.create_node("Dense", plan.params, plan.position, node_id=plan.new_id)
    graph.connect(plan.source, plan.new_id, 0)


def known_class_count(dataset: dict, base_dir=None) -> int | None:
    """The number of classes a project's dataset settings name without loading the data:
    the class sub-folders of an image folder, or a built-in set's ``classes`` list."""
    from pathlib import Path  # noqa: PLC0415 - only this helper reads the disk

    if not isinstance(dataset, dict):
        return None
    if isinstance(dataset.get("classes"), list) and len(dataset["classes"]) >= 2:
        return len(dataset["classes"])
    if dataset.get("format") == "images" and isinstance(dataset.get("path"), str):
        folder = Path(dataset["path"])
        if not folder.is_absolute() and base_dir is not None:
            folder = Path(base_dir) / folder
        try:
            count = sum(1 for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
        except OSError:
            return None
        return count if count >= 2 else None
    return None


#: The losses that train a softmax classification head.
CLASSIFICATION_LOSSES = ("sparse_categorical_crossentropy", "categorical_crossentropy")


def classification_training(training: dict) -> dict | None:
    """The training settings for a new softmax head: ``training`` with its loss made sparse
    categorical cross-entropy and accuracy among the metrics, or ``None`` when they already
    fit (an imported ImageNet model ends in logits, so its import chose ``mse``)."""
    if not isinstance(training, dict) or isinstance(training.get("loss"), dict):
        return None  # several outputs: the user's choice per output stays
    metrics = list(training.get("metrics") or [])
    if training.get("loss") in CLASSIFICATION_LOSSES and "accuracy" in metrics:
        return None
    new = dict(training)
    if new.get("loss") not in CLASSIFICATION_LOSSES:
        new["loss"] = "sparse_categorical_crossentropy"
    new["metrics"] = metrics if "accuracy" in metrics else [*metrics, "accuracy"]
    return new
