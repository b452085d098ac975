"""Blocks in the window: group and ungroup, the inside of a block, the block library.

:class:`BlocksController` owns what the Edit menu's block actions do and where the canvas
is: at the project's top level, or inside a block (a :class:`app.block_scope.BlockScope`
given to the canvas and the inspector, with the breadcrumb bar above the canvas).

- Group (Ctrl+G) makes the selected layers one Block node; Ungroup (Ctrl+Shift+G) puts a
  block's layers back (:mod:`app.block_commands`). Both work inside a block too: blocks nest.
- Double-clicking a block, or "Edit Inside", shows its definition's graph; the breadcrumb,
  or Esc on an empty selection, goes back out. An undo that removes the block being shown
  goes back out to the deepest level that still exists.
- A block's right-click menu adds Edit Inside, Make Independent Copy, Rename Block…, Save
  to Library… and Ungroup to the canvas's own entries.
- The palette's "Blocks" section lists the library (shipped blocks and the user's, in
  ``<data dir>/blocks``); a block dropped (onto an edge: spliced in) or double-clicked
  there, or chosen in the empty canvas's Add Block menu, is inserted — linked to the
  project's definition of the same name, or as an independent copy (asked only when the
  project already has one).
- :meth:`BlocksController.model_name` says which layer of the built model a node of the
  graph shown is (``res1.conv1`` inside ``res1``), for the panels that look at the model.

The canvas's view is not changed for this: the controller watches its key, context-menu
and drop events (an event filter), as the quick-add box and minimap are layered on it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QInputDialog, QMenu, QMessageBox

from app import block_commands
from app.block_commands import BlockError
from app.block_scope import BlockScope, block_output_id, resolve_path
from app.graph_edits import grid
from app.settings import data_dir
from engine.graph.block_definition import BLOCK, block_name_of
from widgets.canvas import edge_drop, theme
from widgets.canvas.block_item import BLOCK_MIME, BlockItem, block_uses, mark_block_output
from widgets.canvas.node_item import NodeItem

if TYPE_CHECKING:
    from app.main_window import MainWindow

__all__ = ["BlocksController"]

#: Answers of :meth:`BlocksController.ask_link`.
LINK, COPY = "link", "copy"


class BlocksController(QObject):
    """See the module docstring. ``scope`` is the block shown (``None`` at the top level)."""

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.window = window
        self.scope: BlockScope | None = None
        self.library: list = []  # the LibraryEntry items the palette lists
        self._watched_stack = None
        window.projectOpened.connect(self._on_project_opened)
        window.view.graph_scene.blockOpened.connect(self.enter)
        window.breadcrumb.levelChosen.connect(self.leave_to)
        window.palette_panel.blockActivated.connect(self.insert_at_center)
        window.diagnostics_panel.nodeActivated.connect(self._on_problem_clicked)
        window.view.graph_scene.selectedNodesChanged.connect(self.update_actions)
        self._viewport = window.view.viewport()
        window.view.installEventFilter(self)
        self._viewport.installEventFilter(self)
        window.breadcrumb.hide()
        self.refresh_library()

    # -- where the canvas is -------------------------------------------------------------------

    @property
    def editor(self):
        """The editor the canvas shows: the block's inside, or the project."""
        return self.scope if self.scope is not None else self.window.editor

    @property
    def path(self) -> list[str]:
        return list(self.scope.path) if self.scope is not None else []

    def enter(self, node_id: str) -> bool:
        """Show the inside of block ``node_id`` (a node of the graph shown now)."""
        if self.window.editor is None or node_id not in self.editor.graph:
            return False
        path = self.path + [node_id]
        if resolve_path(self.window.editor.graph, path) is None:
            node = self.editor.graph.node(node_id)
            if node.type == BLOCK:
                self._say(f"'{node_id}' uses a block this project does not define")
            return False
        self._show(path)
        return True

    def leave_to(self, depth: int) -> None:
        """Go back out to ``depth`` blocks deep (0: the project)."""
        path = self.path
        if depth >= len(path):
            return
        self._show(path[:depth])
        self.window.view.focus_node(path[depth])  # the block just left, selected

    def leave(self) -> None:
        """One level out (Esc)."""
        if self.scope is not None:
            self.leave_to(len(self.scope.path) - 1)

    def model_name(self, node_id: str) -> str:
        """The name node ``node_id`` of the graph shown has in the built model: the layer
        ``conv1`` inside block ``res1`` is ``res1.conv1``; a block node stands for the layer
        that makes its output."""
        prefix = "".join(f"{level}." for level in self.path)
        graph = self.editor.graph if self.window.editor is not None else None
        if graph is not None and node_id in graph and graph.node(node_id).type == BLOCK:
            node = graph.node(node_id)
            output = block_output_id(self._root(), node, f"{prefix}{node_id}.")
            if output is not None:
                return output
        return prefix + node_id

    def enter_selected(self) -> bool:
        """Edit inside the selected block (Edit ▸ Edit Block Inside)."""
        blocks = self._selected_blocks()
        return len(blocks) == 1 and self.enter(blocks[0])

    def update_actions(self, _ids=None) -> None:
        """Enable the block actions that apply to the selection and where the canvas is."""
        actions = self.window.actions
        if "group" not in actions:
            return  # the menus are built after this controller
        selected = self._selected()
        single_block = len(selected) == 1 and len(self._selected_blocks()) == 1
        actions["group"].setEnabled(bool(selected))
        actions["ungroup"].setEnabled(single_block)
        actions["edit_block"].setEnabled(single_block)
        actions["leave_block"].setEnabled(self.scope is not None)

    def _show(self, path: list[str]) -> None:
        window = self.window
        old, self.scope = self.scope, None
        if path:
            self.scope = BlockScope(window.editor, path, self)
        window.view.set_editor(self.editor)
        window.inspector.set_editor(self.editor)
        if old is not None:
            old.close()
            old.deleteLater()
        self._update_breadcrumb()
        self._mark_output()
        self.update_actions()
        window.view.setFocus()

    def _mark_output(self) -> None:
        output = None
        if self.scope is not None:
            definition = self.window.editor.graph.blocks.get(self.scope.levels[-1].name)
            output = definition.output if definition is not None else None
        mark_block_output(self.window.view.graph_scene, output)

    def _update_breadcrumb(self) -> None:
        bar = self.window.breadcrumb
        if self.scope is None:
            bar.hide()
            return
        root = self.window.editor.graph
        levels = self.scope.levels
        labels = [root.name or "Project"] + [level.label() for level in levels]
        uses = block_uses(root, levels[-1].name)
        if uses > 1:
            note = f"Linked: {uses} uses follow every edit here · Esc goes back out"
        else:
            note = "Esc goes back out"
        bar.set_path(labels, note)
        bar.show()

    def _on_problem_clicked(self, node_id: str) -> None:
        # Problems name the project's nodes (one inside a block is on its block node).
        if self.scope is not None and node_id not in self.scope.graph:
            self._show([])
            self.window.view.focus_node(node_id)

    def _on_project_opened(self, editor) -> None:
        if self.scope is not None:
            self.scope.close()
            self.scope.deleteLater()
            self.scope = None
        self.window.breadcrumb.hide()
        self.update_actions()
        if self._watched_stack is not None and shiboken6.isValid(self._watched_stack):
            self._watched_stack.indexChanged.disconnect(self._after_command)
        self._watched_stack = editor.undo_stack
        editor.undo_stack.indexChanged.connect(self._after_command)

    def _after_command(self, _index: int) -> None:
        """After every do/undo/redo: leave a block that is gone; titles may have changed."""
        scope = self.scope
        if scope is None:
            return
        if not scope.still_valid():
            path = scope.path
            depth = len(path) - 1
            while depth > 0 and resolve_path(self.window.editor.graph, path[:depth]) is None:
                depth -= 1
            self._show(path[:depth])
            return
        scope.levels = resolve_path(self.window.editor.graph, scope.path)
        self._update_breadcrumb()
        self._mark_output()

    # -- edits ---------------------------------------------------------------------------------

    def _selected(self) -> list[str]:
        return self.window.view.graph_scene.selected_node_ids()

    def _selected_blocks(self) -> list[str]:
        graph = self.editor.graph if self.window.editor is not None else None
        return [i for i in self._selected() if graph and i in graph and graph.node(i).type == BLOCK]

    def _root(self):
        return self.window.editor.graph

    def _push(self, make) -> object | None:
        """Build a command with ``make()`` and push it; a refused edit is said, not raised."""
        if self.window.editor is None:
            return None
        try:
            command = make()
        except BlockError as err:
            self._say(str(err))
            return None
        self.window.editor.push(command)
        return command

    def group_selection(self) -> str | None:
        """Group the selected layers into one block (Ctrl+G); returns the block's id."""
        ids = self._selected()
        graph = self.editor.graph if self.window.editor is not None else None
        command = self._push(lambda: block_commands.GroupNodes(graph, ids, root=self._root()))
        if command is None:
            return None
        self.window.view.graph_scene.select_nodes([command.block_id])
        return command.block_id

    def ungroup_selection(self) -> list[str]:
        """Put the selected block's layers back in its place (Ctrl+Shift+G)."""
        blocks = self._selected_blocks()
        if len(blocks) != 1:
            self._say("Select one block to ungroup")
            return []
        graph = self.editor.graph
        command = self._push(
            lambda: block_commands.UngroupNode(graph, blocks[0], root=self._root())
        )
        if command is None:
            return []
        self.window.view.graph_scene.select_nodes(command.node_ids)
        return command.node_ids

    def make_independent(self, node_id: str) -> str | None:
        """Give block ``node_id`` its own copy of its definition; returns the copy's name."""
        graph = self.editor.graph
        command = self._push(lambda: block_commands.CopyBlock(graph, node_id, root=self._root()))
        if command is None:
            return None
        self._say(f"'{node_id}' now uses its own copy, '{command.new_name}'")
        return command.new_name

    def rename_block(self, node_id: str, title: str | None = None) -> None:
        """Change the title of block ``node_id``'s definition (every use shows it)."""
        name = block_name_of(self.editor.graph.node(node_id))
        root = self._root()
        if name not in root.blocks:
            return
        if title is None:
            title = self.ask_text("Rename Block", "Title of the block:", root.blocks[name].title)
        title = (title or "").strip()
        if title and title != root.blocks[name].title:
            self.window.editor.push(block_commands.SetBlockTitle(root, name, title))

    # -- the library ---------------------------------------------------------------------------

    def library_dir(self) -> Path:
        return data_dir()

    def refresh_library(self) -> None:
        """List the shipped blocks and the user's in the palette."""
        from engine.graph.block_library import list_blocks  # noqa: PLC0415

        try:
            entries = list_blocks(self.library_dir())
        except (OSError, ValueError) as err:
            self._say(f"The block library could not be read: {err}")
            entries = []
        self.library = entries
        self.window.palette_panel.set_blocks(entries)

    def save_to_library(self, node_id: str, title: str | None = None) -> Path | None:
        """Save block ``node_id``'s definition (and those it uses) to the user's library."""
        name = block_name_of(self.editor.graph.node(node_id))
        root = self._root()
        if name not in root.blocks:
            return None
        if title is None:
            title = self.ask_text("Save Block to Library", "Title in the library:",
                                  root.blocks[name].title)  # fmt: skip
            if title is None:
                return None
        title = title.strip() or root.blocks[name].title
        if title != root.blocks[name].title:
            self.window.editor.push(block_commands.SetBlockTitle(root, name, title))
        try:
            path = block_commands.save_to_library(root, name, self.library_dir())
        except (OSError, ValueError) as err:
            self.window.warn("Save Block", f"The block could not be saved: {err}")
            return None
        self.refresh_library()
        self._say(f"Saved '{title}' to your block library ({path.name})")
        return path

    def insert_at_center(self, library_path: str) -> str | None:
        view = self.window.view
        center = view.mapToScene(view.viewport().rect().center())
        corner = view.free_spot_near(center - QPointF(theme.NODE_WIDTH / 2, theme.NODE_HEIGHT))
        return self.insert(library_path, corner)

    def insert(self, library_path: str | Path, corner: QPointF, edge=None) -> str | None:
        """Insert the library block in ``library_path`` with its top-left at ``corner``
        (spliced into ``edge`` when given and the block has one input, in the same undo
        step); returns the new node's id (``None`` if cancelled or it could not be read)."""
        from engine.graph.block_library import insert_block, load_block  # noqa: PLC0415

        if self.window.editor is None:
            return None
        root = self._root()
        try:
            definition, _ = load_block(Path(library_path))
            linked = False
            if definition.name in root.blocks:
                answer = self.ask_link(root.blocks[definition.name].title or definition.name)
                if answer is None:
                    return None
                linked = answer == LINK
            plan = insert_block(root, Path(library_path), linked)
        except (OSError, ValueError) as err:
            self.window.warn("Insert Block", f"The block could not be read: {err}")
            return None
        editor, graph = self.editor, self.editor.graph
        position = grid((corner.x(), corner.y()))  # stored on the grid, as layers are

        def make():
            return block_commands.InsertBlock(
                graph, plan.name, position, plan.definitions, root, plan.title
            )

        if edge is not None and edge in graph.edges and plan.port_count == 1:
            with edge_drop.one_step(editor, f"Insert '{plan.title}' into {edge.source} → "
                                            f"{edge.target}"):  # fmt: skip
                command = self._push(make)
                if command is not None:
                    editor.connect_ports(edge.source, command.node_id, 0)
                    editor.connect_ports(command.node_id, edge.target, edge.target_port)
        else:
            command = self._push(make)
        if command is None:
            return None
        self.window.view.graph_scene.select_nodes([command.node_id])
        self.window.view.setFocus()
        return command.node_id

    # -- questions (tests answer them by replacing these methods) ------------------------------

    def ask_link(self, title: str) -> str | None:
        """The project already has this block: link to it, or insert a copy? ``None``:
        cancelled."""
        box = QMessageBox(self.window)
        box.setWindowTitle("Insert Block")
        box.setIcon(QMessageBox.Icon.Question)
        box.setText(f"This project already has the block '{title}'.")
        box.setInformativeText(
            "A linked use shares its layers: an edit inside changes every use. "
            "An independent copy can be changed on its own."
        )
        link = box.addButton("Linked", QMessageBox.ButtonRole.AcceptRole)
        copy = box.addButton("Independent Copy", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(link)
        box.exec()
        clicked = box.clickedButton()
        return LINK if clicked is link else COPY if clicked is copy else None

    def ask_text(self, title: str, label: str, text: str) -> str | None:
        value, ok = QInputDialog.getText(self.window, title, label, text=text)
        return value if ok else None

    def _say(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 6000)

    # -- the canvas's events -------------------------------------------------------------------

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        view = self.window.view
        if not shiboken6.isValid(view):  # the window is being taken down
            return False
        kind = event.type()
        if watched is view and kind == QEvent.Type.KeyPress:
            if (
                event.key() == Qt.Key.Key_Escape
                and self.scope is not None
                and not view.graph_scene.connecting
                and not view.graph_scene.selectedItems()
                and not view.quick_add.isVisible()
            ):
                self.leave()
                return True
            return False
        if watched is not view and watched is not self._viewport:
            return False
        # (Drops reach the view itself when its viewport does not take them.)
        if kind == QEvent.Type.ContextMenu:
            menu = self.context_menu(event.pos())
            if menu is not None:
                menu.exec(event.globalPos())
            return True
        scene = view.graph_scene
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            if event.mimeData().hasFormat(BLOCK_MIME) and self.window.editor is not None:
                # As for a layer: the edge it would be spliced into lights up.
                spot = view.mapToScene(event.position().toPoint())
                scene.edge_highlight.show_edge(scene, edge_drop.edge_at(scene, spot))
                event.acceptProposedAction()
                return True
            return False
        if kind == QEvent.Type.Drop and event.mimeData().hasFormat(BLOCK_MIME):
            path = bytes(event.mimeData().data(BLOCK_MIME)).decode("utf-8", errors="replace")
            drop = view.mapToScene(event.position().toPoint())
            edge = edge_drop.edge_at(scene, drop)
            scene.edge_highlight.show_edge(scene, None)
            corner = drop - QPointF(theme.NODE_WIDTH / 2, theme.NODE_HEIGHT / 2)
            self.insert(path, corner, edge)
            event.acceptProposedAction()
            return True
        return False

    def _add_block_menu(self, menu: QMenu, scene_pos: QPointF) -> None:
        """On empty canvas: Add Block ▸ every library block, inserted where clicked."""
        if not self.library:
            return
        sub = _insert_submenu(menu, "Add Block")
        corner = scene_pos - QPointF(theme.NODE_WIDTH / 2, theme.NODE_HEIGHT / 2)
        for entry in self.library:
            label = entry.title + ("" if entry.source == "shipped" else "  (yours)")
            action = _action(sub, label, lambda p=entry.path: self.insert(p, corner))
            action.setToolTip(entry.description)
            sub.addAction(action)

    def context_menu(self, view_pos) -> QMenu | None:
        """The canvas's right-click menu with the block entries added (for a block card, or
        Group for selected layers)."""
        view = self.window.view
        menu = view.context_menu(view_pos)
        if menu is None:
            return None
        item = view.itemAt(view_pos)
        while item is not None and not isinstance(item, NodeItem):
            item = item.parentItem()
        if item is None:
            self._add_block_menu(menu, view.mapToScene(view_pos))
            return menu
        first = menu.actions()[0] if menu.actions() else None
        entries: list[QAction] = []
        if isinstance(item, BlockItem):
            node_id = item.node_id
            entries.append(_action(menu, "Edit Inside", lambda: self.enter(node_id)))
            copy = _action(menu, "Make Independent Copy", lambda: self.make_independent(node_id))
            copy.setEnabled(item.block.uses > 1)
            entries.append(copy)
            entries.append(_action(menu, "Rename Block…", lambda: self.rename_block(node_id)))
            entries.append(_action(menu, "Save to Library…", lambda: self.save_to_library(node_id)))
            entries.append(self.window.actions["ungroup"])
        else:
            entries.append(self.window.actions["group"])
        for action in entries:
            menu.insertAction(first, action)
        menu.insertSeparator(first)
        return menu


def _insert_submenu(menu: QMenu, title: str) -> QMenu:
    """A submenu placed after the menu's first entry (its "Add Layer")."""
    sub = QMenu(title, menu)
    actions = menu.actions()
    menu.insertMenu(actions[1] if len(actions) > 1 else None, sub)
    return sub


def _action(parent, text: str, slot) -> QAction:
    action = QAction(text, parent)
    action.triggered.connect(lambda _checked=False: slot())
    return action
