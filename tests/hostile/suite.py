"""Build the whole corpus in a folder and run it through ``run_cases`` in one subprocess.

Shared by the pytest module (``test_hostile_inputs.py``) and the table printed by
``python -m tests.hostile.report``, so both judge exactly the same runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.hostile.corpus import Case, all_cases

__all__ = ["Outcome", "build_and_run", "AS_LIMIT", "CPU_GUARD_S", "WALL_GUARD_S", "JOBS"]

REPO = Path(__file__).resolve().parents[2]
AS_LIMIT = 2 << 30  # RLIMIT_AS of every child: the memory ceiling
CPU_GUARD_S = 8  # RLIMIT_CPU: stops a runaway soon after the test's own 5 s limit
WALL_GUARD_S = 60  # only a hang guard: speed is judged by CPU time
JOBS = 2


@dataclass
class Outcome:
    root: Path
    results: dict[str, list[dict]]  # case id -> one result per step run
    broken: dict[str, str]  # case id -> why its files could not be written
    steps: dict[str, int]  # case id -> how many steps it asked for
    runner: dict  # the runner's own figures (preload time, wall time, memory)


def build_and_run(root: Path, cases: list[Case] | None = None) -> Outcome:
    cases = all_cases() if cases is None else cases
    specs, broken = [], {}
    for hostile in cases:
        folder = root / hostile.id
        folder.mkdir()
        try:
            steps = hostile.make(folder)
        except Exception as exc:  # noqa: BLE001 - reported by that case's test
            broken[hostile.id] = f"{type(exc).__name__}: {exc}"
            continue
        specs.append(
            {"id": hostile.id, "cwd": str(folder), "steps": steps, "may_block": hostile.may_block}
        )
    spec = {
        "jobs": JOBS,
        "as_bytes": AS_LIMIT,
        "cpu_s": CPU_GUARD_S,
        "wall_s": WALL_GUARD_S,
        "logs": str(root / "_logs"),
        "cases": specs,
    }
    spec_path, result_path = root / "_spec.json", root / "_results.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    env = {**os.environ, "LAYERCANVAS_LOG_DIR": str(root / "_crash_logs")}
    run = subprocess.run(
        [sys.executable, "-m", "tests.hostile.run_cases", str(spec_path), str(result_path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if run.returncode != 0:
        raise RuntimeError(f"the case runner failed:\n{run.stdout}\n{run.stderr}")
    results = json.loads(result_path.read_text(encoding="utf-8"))
    return Outcome(
        root,
        results["cases"],
        broken,
        {s["id"]: len(s["steps"]) for s in specs},
        results["parent"],
    )
