"""BLAS threads per training step (engine.models.blas_threads), checked in a fresh process.

The thread count is one setting for the whole process, and the suite's earlier tests leave
things behind that touch it (app windows' worker threads, other libraries' BLAS copies), so
the cases in ``blas_threads_cases.py`` run in a process of their own, where BLAS starts from
the machine's default.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CASES = Path(__file__).with_name("blas_threads_cases.py")


def test_blas_thread_cases_pass_in_a_fresh_process():
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(CASES)]
    out = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
