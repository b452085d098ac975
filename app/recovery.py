"""After a crash: offer each unsaved project back (Recover / Discard per project).

:func:`offer_recovery` runs once at start-up (``run_gui``): it scans the recovery folder
(:class:`app.recovery_store.RecoveryStore`), reports files it had to set aside, and shows
:class:`RecoveryDialog` listing the projects with their name, original file and the time of
the copy. A recovered project opens marked modified and keeps its original path, so Save
writes the user's file only when they choose to; the first one opens in the window, any
others in windows of their own. A discarded copy is deleted; "Later" keeps them all for the
next start.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QRadioButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.editing import EditorDocument
from app.recovery_store import RecoveryEntry, RecoveryStore

__all__ = ["RecoveryDialog", "offer_recovery", "open_recovered"]


def _when(saved: datetime) -> str:
    local = saved.astimezone()
    today = datetime.now().astimezone().date()
    if local.date() == today:
        return f"today {local:%H:%M:%S}"
    return f"{local:%Y-%m-%d %H:%M}"


class RecoveryDialog(QDialog):
    """The list of projects to recover, one Recover/Discard choice per row."""

    COLUMNS = ("Project", "Original file", "Autosaved", "")

    def __init__(self, entries: list[RecoveryEntry], parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("RecoveryDialog")
        self.setWindowTitle("Recover unsaved work")
        self.entries = list(entries)
        self._groups: list[QButtonGroup] = []
        n = len(self.entries)
        heading = QLabel(
            "<b>LayerCanvas closed before "
            + ("this project was" if n == 1 else f"these {n} projects were")
            + " saved.</b><br>Recover the work from the last autosave, or discard it."
        )
        heading.setWordWrap(True)
        table = QTableWidget(n, len(self.COLUMNS), self)
        table.setObjectName("recoveryTable")
        table.setHorizontalHeaderLabels(list(self.COLUMNS))
        table.verticalHeader().setVisible(False)
        table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        table.setShowGrid(False)
        table.setAlternatingRowColors(True)
        table.setWordWrap(False)
        table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # keep the file name in view
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for row, entry in enumerate(self.entries):
            original = str(entry.original) if entry.original is not None else "never saved"
            cells = (entry.name, original, _when(entry.saved))
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(str(entry.original) if column == 1 and entry.original else text)
                if column == 1 and entry.original is None:
                    item.setForeground(self.palette().placeholderText())
                table.setItem(row, column, item)
            table.setCellWidget(row, 3, self._choice(row))
        table.resizeRowsToContents()
        rows = sum(table.rowHeight(r) for r in range(min(n, 8)))
        table.setFixedHeight(rows + table.horizontalHeader().sizeHint().height() + 4)
        if n > 8:  # more than that scrolls
            table.setMinimumHeight(table.height())
            table.setMaximumHeight(16777215)
        self.table = table
        buttons = QDialogButtonBox(self)
        self.later_button = buttons.addButton("Later", QDialogButtonBox.ButtonRole.RejectRole)
        self.later_button.setToolTip("Keep the copies and ask again at the next start")
        self.continue_button = buttons.addButton("Continue", QDialogButtonBox.ButtonRole.AcceptRole)
        self.continue_button.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 16, 18, 14)
        layout.setSpacing(12)
        layout.addWidget(heading)
        layout.addWidget(table, 1)
        layout.addWidget(buttons)
        self.resize(max(900, self.sizeHint().width()), self.sizeHint().height())

    def _choice(self, row: int) -> QWidget:
        box = QWidget()
        layout = QHBoxLayout(box)
        layout.setContentsMargins(8, 0, 8, 0)
        layout.setSpacing(14)
        group = QButtonGroup(box)
        for index, text in enumerate(("Recover", "Discard")):
            button = QRadioButton(text)
            button.setObjectName(f"{text.lower()}_{row}")
            group.addButton(button, index)
            layout.addWidget(button)
        group.button(0).setChecked(True)
        self._groups.append(group)
        return box

    def set_choice(self, row: int, recover: bool) -> None:
        self._groups[row].button(0 if recover else 1).setChecked(True)

    def choices(self) -> list[tuple[RecoveryEntry, bool]]:
        """``(entry, recover?)`` per row."""
        return [(e, g.checkedId() == 0) for e, g in zip(self.entries, self._groups, strict=True)]


def open_recovered(window, entry: RecoveryEntry) -> None:
    """Open ``entry`` in ``window``: modified, with its original path (or none), its new copy
    written before the old one is deleted."""
    editor = EditorDocument(entry.project)
    # Modified until the user saves, even though nothing was edited in this session.
    editor.undo_stack.resetClean()
    window.set_editor(editor)
    window.autosaver.wait()
    window.recovery_store.discard(entry)
    where = entry.original if entry.original is not None else "a new project"
    window.statusBar().showMessage(f"Recovered '{entry.name}' ({where}); Save to keep it", 8000)


def offer_recovery(
    window,
    ask: Callable[[RecoveryDialog], bool] | None = None,
    new_window: Callable[[], object] | None = None,
    use_window: bool = True,
) -> list:
    """Offer the copies left by crashed sessions; returns the windows that got one.

    ``ask(dialog)`` shows the dialog and returns True to apply its choices (by default it
    runs the dialog modally); ``new_window()`` makes a window for each recovered project
    after the first (by default none: the rest stay for the next start). With
    ``use_window=False`` (the window already shows a project the user asked for) every
    recovered project gets a new window.
    """
    store: RecoveryStore = window.recovery_store
    entries, problems = store.scan()
    opened = []
    if entries:
        dialog = RecoveryDialog(entries, window)
        apply = ask(dialog) if ask is not None else dialog.exec() == QDialog.DialogCode.Accepted
        if apply:
            for entry, recover in dialog.choices():
                if not recover:
                    store.discard(entry)
                    continue
                if use_window and not opened:
                    target = window
                else:
                    target = new_window() if new_window is not None else None
                if target is None:
                    continue
                open_recovered(target, entry)
                opened.append(target)
        dialog.deleteLater()
    if problems:
        window.warn(
            "Recovery file set aside",
            "A recovery file could not be read and was set aside:\n\n" + "\n".join(problems),
        )
    return opened
