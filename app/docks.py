"""The window's docks: which panels exist, where they sit, and how one more is added.

Every panel is its own widget; this module only places them. To add a panel, build its
widget in :func:`build_panels` and make one :func:`add_dock` call (``tab_with`` puts it in
the same tab group as an existing dock). The View ▸ Panels menu lists ``window.docks`` in
order, so the new panel appears there without touching the menus. A panel that follows the
open project connects to ``window.projectOpened`` (it carries the new
``app.editing.EditorDocument``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QWidget

from app.data_panel import DataPanel
from app.model_summary import ModelSummary
from widgets.activations_view import ActivationsView
from widgets.diagnostics_panel import DiagnosticsPanel
from widgets.experiments import ExperimentsView
from widgets.inspector import Inspector
from widgets.palette import LayerPalette
from widgets.runs_panel import RunsPanel
from widgets.training_panel import TrainingPanel

if TYPE_CHECKING:
    from app.main_window import MainWindow

__all__ = ["AREAS", "add_dock", "build_panels"]

AREAS = {
    "left": Qt.DockWidgetArea.LeftDockWidgetArea,
    "right": Qt.DockWidgetArea.RightDockWidgetArea,
    "bottom": Qt.DockWidgetArea.BottomDockWidgetArea,
}


def add_dock(
    window: MainWindow,
    key: str,
    title: str,
    widget: QWidget,
    area: str,
    tab_with: str | None = None,
) -> QDockWidget:
    """Dock ``widget`` as ``window.docks[key]`` (object name ``{key}Dock``, which the saved
    layout refers to) in ``area`` ("left", "right", "bottom"), tabbed with the dock
    ``tab_with`` when given."""
    dock = QDockWidget(title, window)
    dock.setObjectName(f"{key}Dock")
    dock.setWidget(widget)
    dock.setFeatures(
        QDockWidget.DockWidgetFeature.DockWidgetMovable
        | QDockWidget.DockWidgetFeature.DockWidgetClosable
        | QDockWidget.DockWidgetFeature.DockWidgetFloatable
    )
    window.addDockWidget(AREAS[area], dock)
    if tab_with is not None:
        window.tabifyDockWidget(window.docks[tab_with], dock)
    window.docks[key] = dock
    return dock


def build_panels(window: MainWindow) -> None:
    """Create the panels and dock them; the first dock of each tab group is raised."""
    window.setCorner(Qt.Corner.BottomLeftCorner, AREAS["left"])
    window.setCorner(Qt.Corner.BottomRightCorner, AREAS["right"])
    window.palette_panel = LayerPalette()
    window.inspector = Inspector()
    window.diagnostics_panel = DiagnosticsPanel()
    window.summary = ModelSummary()
    window.training_panel = TrainingPanel(on_settings=window.write_training)
    window.data_panel = DataPanel(
        on_apply=window.write_dataset,
        base_dir=window.project_dir,
        fit_check=window.fit_check,
    )
    window.palette_dock = add_dock(window, "palette", "Layers", window.palette_panel, "left")
    window.data_dock = add_dock(window, "data", "Data", window.data_panel, "left", "palette")
    window.inspector_dock = add_dock(window, "inspector", "Inspector", window.inspector, "right")
    window.training_dock = add_dock(
        window, "training", "Training", window.training_panel, "right", "inspector"
    )
    window.diagnostics_dock = add_dock(
        window, "diagnostics", "Problems", window.diagnostics_panel, "bottom"
    )
    window.summary_dock = add_dock(
        window, "summary", "Summary", window.summary, "bottom", "diagnostics"
    )
    window.runs_panel = RunsPanel()
    window.runs_dock = add_dock(window, "runs", "Runs", window.runs_panel, "bottom", "diagnostics")
    window.experiments_view = ExperimentsView()
    window.experiments_dock = add_dock(
        window, "experiments", "Experiments", window.experiments_view, "bottom", "runs"
    )
    # On the left, with Layers and Data (not needed while looking inside): a sample picked
    # in Training ▸ Samples on the right and what a node makes of it are seen side by side.
    window.activations_view = ActivationsView()
    window.activations_dock = add_dock(
        window, "activations", "Activations", window.activations_view, "left", "data"
    )
    for dock in (window.palette_dock, window.inspector_dock, window.diagnostics_dock):
        dock.raise_()
    window.setDockNestingEnabled(True)
    window.resizeDocks(
        [window.palette_dock, window.inspector_dock], [270, 460], Qt.Orientation.Horizontal
    )
    window.resizeDocks([window.diagnostics_dock], [190], Qt.Orientation.Vertical)
