"""Upgrading project files written by older versions of LayerCanvas.

Each step from format version N to N + 1 is a function registered with :func:`migration`;
:func:`migrate` applies them in turn and refuses files from a newer LayerCanvas clearly.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from engine.graph.project_json import ProjectError

__all__ = ["CURRENT_VERSION", "FORMAT", "MIGRATIONS", "migrate", "migration"]

FORMAT = "layercanvas-project"
CURRENT_VERSION = 1

#: version N -> function upgrading a version-N project dict to version N + 1.
MIGRATIONS: dict[int, Callable[[dict], dict]] = {}


def migration(from_version: int) -> Callable[[Callable[[dict], dict]], Callable[[dict], dict]]:
    """Register ``fn(data) -> data`` as the upgrade from ``from_version`` to the next."""

    def register(fn: Callable[[dict], dict]) -> Callable[[dict], dict]:
        if from_version in MIGRATIONS:
            raise ValueError(f"a migration from version {from_version} already exists")
        MIGRATIONS[from_version] = fn
        return fn

    return register


def migrate(
    data: dict,
    file: str | None = None,
    *,
    migrations: dict[int, Callable[[dict], dict]] | None = None,
    current: int = CURRENT_VERSION,
) -> dict:
    """Bring a project dict of any older ``version`` up to ``current``, one step at a time."""
    migrations = MIGRATIONS if migrations is None else migrations
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ProjectError(file, "version", f"expected a positive integer, got {version!r}")
    if version > current:
        raise ProjectError(
            file,
            "version",
            f"this project was saved by a newer LayerCanvas (format version {version}; this "
            f"one reads up to {current}): update LayerCanvas to open it",
        )
    while version < current:
        step = migrations.get(version)
        if step is None:
            raise ProjectError(
                file, "version", f"no way to upgrade format version {version} to {version + 1}"
            )
        data = step(copy.deepcopy(data))
        version += 1
        data["version"] = version
    return data
