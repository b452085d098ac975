"""Checks of the files a case leaves behind, made by the test after the child has exited.

They read the files with the standard library and numpy only (never the engine's loaders,
which are what the cases test): a model's weights must be finite, a history must be strict
JSON, and every saved file must have the mode a plain ``open()`` gives under the child's
umask 022, that is 0644 (defect 7)."""

from __future__ import annotations

import io
import json
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

__all__ = ["expect_mode", "finite_model", "strict_json", "all_of"]

PLAIN_MODE = 0o644  # 0o666 & ~0o022: the runner's children run under umask 022


def expect_mode(*names: str) -> Callable[[Path], None]:
    """Each of ``names`` (relative to the case folder) exists with mode 0644."""

    def check(folder: Path) -> None:
        for name in names:
            path = folder / name
            assert path.is_file(), f"{name} was not written"
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode == PLAIN_MODE, (
                f"{name} has mode {mode:04o}; a plain open() under umask 022 gives 0644"
            )

    return check


def nonfinite_members(path: Path) -> list[str]:
    """The ``weights/``/``optimizer/`` members of an .lcmodel holding NaN or infinity."""
    bad = []
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.endswith(".npy"):
                array = np.load(io.BytesIO(archive.read(name)), allow_pickle=False)
                if array.dtype.kind == "f" and not np.isfinite(array).all():
                    bad.append(name)
    return bad


def finite_model(*names: str, required: bool = True) -> Callable[[Path], None]:
    """Each model file in ``names`` holds only finite numbers (a missing optional one is fine)."""

    def check(folder: Path) -> None:
        for name in names:
            path = folder / name
            if not path.exists():
                assert not required, f"{name} is missing: the good model was removed"
                continue
            bad = nonfinite_members(path)
            assert not bad, f"{name} was written with non-finite values in {', '.join(bad)}"

    return check


def strict_json(*names: str) -> Callable[[Path], None]:
    """Each existing file in ``names`` is strict JSON: no bare NaN or Infinity."""

    def refuse(constant: str):
        raise ValueError(f"bare {constant} is not JSON")

    def check(folder: Path) -> None:
        for name in names:
            path = folder / name
            if path.exists():
                try:
                    json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)
                except ValueError as exc:
                    raise AssertionError(f"{name} is not strict JSON: {exc}") from None

    return check


def all_of(*checks: Callable[[Path], None]) -> Callable[[Path], None]:
    def check(folder: Path) -> None:
        for one in checks:
            one(folder)

    return check
