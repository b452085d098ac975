"""The model-file modules import without cycles: each one alone in a fresh interpreter, and
the container code (:mod:`engine.model_files`) without :mod:`engine.models`, so the models
can call into :mod:`engine.io` (``model.save``) without an import cycle through it."""

from __future__ import annotations

import subprocess
import sys

import pytest

MODULES = [
    "engine.io",
    "engine.model_files",
    "engine.model_files.archive",
    "engine.model_files.compile_config",
    "engine.model_files.npy_header",
    "engine.model_files.zip_member",
    "engine.models.finite",
    "engine.applications",
]


def _fresh(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("module", MODULES)
def test_each_module_imports_alone_in_a_fresh_interpreter(module):
    result = _fresh(f"import {module}")
    assert result.returncode == 0, result.stderr


def test_the_container_code_does_not_import_the_models():
    code = (
        "import sys\n"
        "import engine.model_files.archive, engine.model_files.compile_config\n"
        "print(sorted(m for m in sys.modules if m.startswith('engine.models')))\n"
    )
    result = _fresh(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
