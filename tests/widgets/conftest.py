"""Fixtures for the Qt widget tests: an editor on an example project and a shown canvas.

Qt is imported inside the fixtures only, so this file loads on a machine without PySide6
(each test module skips itself with ``pytest.importorskip``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


@pytest.fixture
def editor(qtbot):
    from app.editing import EditorDocument  # noqa: PLC0415

    editor = EditorDocument.open(EXAMPLES / "two_branch_functional.lcproj")
    yield editor
    editor.close()


@pytest.fixture
def view(qtbot, editor):
    from widgets.canvas import GraphView  # noqa: PLC0415

    view = GraphView()
    qtbot.addWidget(view)
    view.resize(1100, 600)
    view.set_editor(editor)
    view.show()
    qtbot.waitExposed(view)
    view.reset_zoom()
    view.centerOn(550, 40)
    return view
