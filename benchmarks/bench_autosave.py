"""How long an autosave holds the UI thread for a 300-node project (target: <= 50 ms).

Builds a 300-node residual graph (``benchmarks.bench_compiler.residual_graph``) in an
``EditorDocument`` with the digits training settings, edits it through the undo stack, and
times :meth:`app.autosave.Autosaver.save_now` — the part that runs on the UI thread (the
snapshot ``Project.to_json()`` and its compact JSON). The disk write, which runs on the
autosave worker thread, is timed separately. Median of ``--repeats`` saves, each after one
more edit; the recovery folder is a temporary one.

Run: ``python -m benchmarks.bench_autosave`` (``--nodes 300 --repeats 50``).
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

from PySide6.QtCore import QCoreApplication  # noqa: E402

from app.autosave import Autosaver  # noqa: E402
from app.editing import EditorDocument  # noqa: E402
from app.recovery_store import RecoveryStore  # noqa: E402
from benchmarks.bench_compiler import residual_graph  # noqa: E402
from engine.graph.project import Project, load_project  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "resources" / "examples"


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args(argv)
    app = QCoreApplication.instance() or QCoreApplication([])  # noqa: F841 - QObjects need one

    digits = load_project(EXAMPLES / "digits_mlp.lcproj")
    project = Project(
        graph=residual_graph(args.nodes), dataset=digits.dataset, training=digits.training
    )
    for index, node in enumerate(project.graph.nodes):  # positions as a laid-out canvas has
        node.position = [220 * (index % 12), 140 * (index // 12)]
    editor = EditorDocument(project)
    with tempfile.TemporaryDirectory() as folder:
        store = RecoveryStore(Path(folder) / "recovery")
        saver = Autosaver(store)
        saver.attach(editor)
        ui_ms, write_ms = [], []
        for i in range(args.repeats):
            editor.move_nodes({"a1": (10 * i, 40)})  # one edit through the undo stack
            started = time.perf_counter()
            assert saver.save_now()
            ui_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            saver.wait()
            write_ms.append((time.perf_counter() - started) * 1000)
        size = store.path_for(saver.key).stat().st_size
        saver.close()
    figures = {
        "ui_thread_ms_median": statistics.median(ui_ms),
        "ui_thread_ms_max": max(ui_ms),
        "worker_write_ms_median": statistics.median(write_ms),
        "file_kib": size / 1024,
    }
    print(
        f"autosave of a {len(project.graph)}-node project ({figures['file_kib']:.0f} KiB): "
        f"UI thread median {figures['ui_thread_ms_median']:.1f} ms "
        f"(max {figures['ui_thread_ms_max']:.1f} ms, target <= 50 ms); "
        f"disk write on the worker median {figures['worker_write_ms_median']:.1f} ms"
    )
    editor.close()
    return figures


if __name__ == "__main__":
    main()
