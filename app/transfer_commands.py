"""Transfer-learning edits as undo commands: "Freeze up to here", "Unfreeze all" and
"Replace head". Each is one undo step made of the document edits of
:mod:`app.commands` (parameters set, nodes removed and added, an edge connected), planned by
:mod:`app.transfer_edits` so the command line makes the very same edit.
"""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand

from app.commands import AddNode, Connect, RemoveNode, SetParams, SetSettings, _Macro
from app.transfer_edits import (
    HeadPlan,
    classification_training,
    freeze_changes,
    head_plan,
    unfreeze_changes,
)
from engine.graph.document import GraphDocument

__all__ = ["FreezeUpTo", "ReplaceHead", "UnfreezeAll"]


class FreezeUpTo(_Macro):
    """Freeze ``node_ids`` and every layer upstream of them (``"trainable": false``), as
    one step; ``count`` is how many layers changed (0: nothing to push)."""

    def __init__(self, doc: GraphDocument, node_ids: list[str], parent: QUndoCommand | None = None):
        super().__init__(parent)
        changes = freeze_changes(doc, list(node_ids))
        self.steps = [SetParams(doc, i, params) for i, params in changes.items()]
        self.count = len(changes)
        where = node_ids[0] if len(node_ids) == 1 else f"{len(node_ids)} layers"
        self.setText(f"Freeze up to '{where}' ({self.count} layers)")


class UnfreezeAll(_Macro):
    """Make every frozen layer trainable again, as one step."""

    def __init__(self, doc: GraphDocument, parent: QUndoCommand | None = None):
        super().__init__(parent)
        changes = unfreeze_changes(doc)
        self.steps = [SetParams(doc, i, params) for i, params in changes.items()]
        self.count = len(changes)
        self.setText(f"Unfreeze all ({self.count} layers)")


class ReplaceHead(_Macro):
    """Remove the head ``head_ids`` and add ``Dense(units, softmax)`` fed by the layer
    before it, as one step (see :func:`app.transfer_edits.head_plan`, which raises
    :class:`~app.transfer_edits.TransferEditError` for a head that cannot be replaced).

    ``project`` (the :class:`app.editing.EditorDocument`, when ``doc`` is its top-level
    graph): its training loss becomes sparse categorical cross-entropy with accuracy in the
    same step, if it was not a classification loss (an imported model ending in logits)."""

    def __init__(
        self,
        doc: GraphDocument,
        head_ids: list[str],
        units: int,
        project=None,
        parent: QUndoCommand | None = None,
    ):
        super().__init__(parent)
        self.plan: HeadPlan = head_plan(doc, list(head_ids), units)
        plan = self.plan
        self.steps = [RemoveNode(doc, node_id) for node_id in plan.removed]
        self.steps.append(AddNode(doc, "Dense", plan.position, plan.params, node_id=plan.new_id))
        self.steps.append(Connect(doc, plan.source, plan.new_id, 0))
        training = classification_training(project.settings("training")) if project else None
        if training is not None:
            self.steps.append(SetSettings(project, "training", training))
        self.setText(f"Replace head with Dense({plan.units}) '{plan.new_id}'")

    @property
    def new_id(self) -> str:
        return self.plan.new_id
