"""How fast the real window opens a 300-node project and re-validates it after an edit
(targets: open <= 0.3 s, re-validate <= 20 ms).

Builds a 300-node residual graph (``benchmarks.bench_compiler.residual_graph``), laid out by
auto-arrange, in the real :class:`app.main_window.MainWindow` (offscreen, 1280x800).

- open: ``window.set_editor(EditorDocument(project))`` and the events it posts (the check,
  the canvas items, the panels), i.e. what a user waits for after choosing the file;
- re-validate: one parameter edit through the undo stack, which re-checks the whole graph
  and repaints every node's report (canvas, summary, problems panel) before it returns.

Median of ``--repeats`` runs each. Run: ``python -m benchmarks.bench_canvas``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)

    from PySide6.QtCore import QSettings  # noqa: PLC0415
    from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: PLC0415

    from app.editing import EditorDocument  # noqa: PLC0415
    from app.main_window import MainWindow  # noqa: PLC0415
    from app.settings import AppSettings  # noqa: PLC0415
    from benchmarks.bench_compiler import residual_graph  # noqa: PLC0415
    from engine.graph.layout import arrange  # noqa: PLC0415
    from engine.graph.project import Project  # noqa: PLC0415

    app = QApplication.instance() or QApplication([])
    discard = QMessageBox.StandardButton.Discard
    QMessageBox.question = staticmethod(lambda *a, **k: discard)  # replacing asks: discard
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("LAYERCANVAS_DATA_DIR", tmp)
        settings = AppSettings(QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat))
        window = MainWindow(settings=settings)
        window.resize(1280, 800)
        window.show()
        app.processEvents()
        doc = residual_graph(args.nodes)
        positions = arrange([n.id for n in doc.nodes], [(e.source, e.target) for e in doc.edges])
        for node in doc.nodes:
            node.position = positions[node.id]

        opens = []
        for _ in range(args.repeats):
            project = Project(doc.copy())
            start = time.perf_counter()
            window.set_editor(EditorDocument(project))
            app.processEvents()
            opens.append(time.perf_counter() - start)

        editor = window.editor
        dense = [n.id for n in editor.graph.nodes if n.type == "Dense"]
        edits = []
        for i in range(args.repeats * 3):
            node_id = dense[i % len(dense)]
            units = editor.graph.node(node_id).params.get("units", 8) + 1
            start = time.perf_counter()
            editor.set_param(node_id, "units", units)
            app.processEvents()
            edits.append(time.perf_counter() - start)
        window.controller.shutdown()
        window.close()
    result = {
        "open_s": statistics.median(opens),
        "revalidate_ms": statistics.median(edits) * 1000,
    }
    print(
        f"{args.nodes}-node project in the real window (1280x800, offscreen): "
        f"open {result['open_s'] * 1000:.0f} ms (target <= 300), "
        f"re-validate after an edit {result['revalidate_ms']:.1f} ms (target <= 20)"
    )
    return result


if __name__ == "__main__":
    main()
