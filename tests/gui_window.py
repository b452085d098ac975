"""The main window as the end-to-end and window tests drive it: offscreen, shown and exposed,
with its own settings file, "discard changes?" answered Discard, and training shut down when
the test ends. Imported only by tests that have already checked PySide6 is installed."""

from __future__ import annotations

from collections.abc import Iterator


def discarding_window(qtbot, tmp_path, monkeypatch, size=(1400, 900)) -> Iterator:
    """Yield a shown ``MainWindow`` of ``size``; use as ``yield from`` in a fixture."""
    from PySide6.QtCore import QSettings  # noqa: PLC0415
    from PySide6.QtWidgets import QMessageBox  # noqa: PLC0415

    from app.main_window import MainWindow  # noqa: PLC0415
    from app.settings import AppSettings  # noqa: PLC0415

    monkeypatch.setattr(
        QMessageBox,
        "question",
        staticmethod(lambda *a, **k: QMessageBox.StandardButton.Discard),
    )
    settings = AppSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings=settings)
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.controller.shutdown()
