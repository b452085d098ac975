"""``engine`` never imports Qt, ``widgets`` or ``app`` (DESIGN.md, "who may import whom").

Two independent checks: every module under ``engine/`` is imported in a fresh interpreter
where any import of a Qt binding raises ``ImportError`` (so the engine works on a machine
without PySide6), and every ``import`` statement under ``engine/`` (including ones inside
functions) is read from the source and must not name Qt, ``widgets`` or ``app``.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "engine"
QT_PACKAGES = {"PySide6", "PySide2", "shiboken6", "shiboken2", "PyQt5", "PyQt6", "pyqtgraph"}
FORBIDDEN = QT_PACKAGES | {"widgets", "app"}


def engine_modules() -> list[str]:
    names = []
    for path in sorted(ENGINE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return names


IMPORT_ALL_WITHOUT_QT = textwrap.dedent(
    """
    import importlib, json, sys, traceback

    BLOCKED = set(json.loads(sys.argv[1]))

    class RefuseQt:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"Qt is not installed here (refused {name!r})")
            return None

    sys.meta_path.insert(0, RefuseQt())
    failures = {}
    for module in json.loads(sys.argv[2]):
        try:
            importlib.import_module(module)
        except BaseException:
            failures[module] = traceback.format_exc(limit=-3)
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    print(json.dumps({"failures": failures, "loaded": loaded}))
    """
)


def test_every_engine_module_imports_without_qt():
    modules = engine_modules()
    assert "engine.autodiff.ops" in modules and "engine.layers.base" in modules
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL_WITHOUT_QT, json.dumps(sorted(QT_PACKAGES)),
         json.dumps(modules)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert not report["failures"], "\n".join(
        f"{name}:\n{trace}" for name, trace in report["failures"].items()
    )
    assert not report["loaded"], f"Qt modules loaded: {report['loaded']}"


def imported_roots(path: Path) -> set[str]:
    """Top-level package of every absolute import in a source file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            roots.add(node.args[0].value.split(".")[0])
    return roots


def test_no_engine_source_imports_qt_widgets_or_app():
    offenders = {}
    for path in sorted(ENGINE.rglob("*.py")):
        bad = imported_roots(path) & FORBIDDEN
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert not offenders, f"engine files importing Qt/widgets/app: {offenders}"


def test_the_source_check_can_fail(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import numpy\n"
        "def lazy():\n"
        "    from widgets.canvas import NodeItem\n"
        "    import PySide6.QtCore\n"
        "    importlib.import_module('app.main')\n"
    )
    assert imported_roots(sample) & FORBIDDEN == {"widgets", "PySide6", "app"}
