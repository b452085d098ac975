"""Run hostile-input cases through ``app.cli.main``, each in its own forked child process.

    python -m tests.hostile.run_cases SPEC.json RESULTS.json

Importing numpy, onnx, onnxruntime and the engine takes about a second, so this parent
imports them once and forks one child per command; a child starts at once. The pytest
process itself never forks (it may hold Qt's threads): it starts this module as a plain
subprocess and reads RESULTS.json.

Each child, before it runs the command as a user would (``layercanvas ARGV...``):
- gets ``RLIMIT_AS`` (its memory ceiling: an allocation past it raises MemoryError or kills
  it, both of which the test counts as a failure) and a generous ``RLIMIT_CPU``;
- moves into the case's folder, with stdin from /dev/null and stdout/stderr to files, and
  umask 022, so the permissions of what it saves can be checked;
- exits with ``main()``'s return value; an exception escaping ``main`` is printed as a
  traceback (which the test then reports) and exits 70.
The parent reaps children with ``os.wait4`` (CPU time and peak RSS of that child alone) and
kills any that outlive the wall-clock guard, which only catches hangs: the test judges speed
by CPU time, which a loaded CI machine does not inflate.

SPEC.json: ``{"jobs": 2, "as_bytes": ..., "cpu_s": ..., "wall_s": ..., "cases": [{"id": ...,
"cwd": ..., "steps": [[argv...], ...], "may_block": false}]}``. Steps run in order in the same
folder (earlier ones set the scene, e.g. a good model trained first); a case stops at the
first step that fails or is killed. Cases that may block (a FIFO with no writer) start first
and do not count against ``jobs``, so a hang costs the wall-clock guard once, not per case.
"""

from __future__ import annotations

import os

# One BLAS/OpenMP thread: forking a process with idle BLAS threads is safe only this way, and
# a child's memory ceiling then holds no per-thread buffers it does not use.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import contextlib  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from collections import deque  # noqa: E402
from pathlib import Path  # noqa: E402

TAIL = 6000  # characters of each stream kept in the results


def _preload() -> None:
    """Import everything a command may need, once, before any fork."""
    import numpy  # noqa: F401, PLC0415
    import onnx  # noqa: F401, PLC0415
    import onnxruntime  # noqa: F401, PLC0415
    from PIL import Image  # noqa: F401, PLC0415

    import app.cli  # noqa: F401, PLC0415
    import engine.data  # noqa: F401, PLC0415
    import engine.graph.project  # noqa: F401, PLC0415
    import engine.graph.session  # noqa: F401, PLC0415
    import engine.io  # noqa: F401, PLC0415
    import engine.onnx  # noqa: F401, PLC0415
    from engine.user_errors import user_error_types  # noqa: PLC0415

    user_error_types()  # imports the rest of the engine's error-raising modules


def _proc_status(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _child(argv: list[str], cwd: str, out: str, err: str, as_bytes: int, cpu_s: int) -> None:
    """Runs in the forked child; never returns."""
    code = 70
    try:
        os.setpgid(0, 0)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        for fd, path in ((1, out), (2, err)):
            target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(target, fd)
            os.close(target)
        os.umask(0o022)
        os.chdir(cwd)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 5))
        resource.setrlimit(resource.RLIMIT_AS, (as_bytes, as_bytes))
        sys.argv = ["layercanvas", *argv]
        import app.cli  # noqa: PLC0415 - already imported by the parent

        try:
            result = app.cli.main(argv)
            code = result if isinstance(result, int) else 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # noqa: BLE001 - reported, as a user would see it
            traceback.print_exc()
            code = 70
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code & 0xFF)


def _tail(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - TAIL))
            return f.read().decode("utf-8", "replace")
    except OSError as exc:
        return f"(cannot read {path}: {exc})"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1


class _Case:
    def __init__(self, spec: dict, logs: Path):
        self.id = spec["id"]
        self.cwd = spec["cwd"]
        self.steps = deque(spec["steps"])
        self.may_block = bool(spec.get("may_block"))
        self.logs = logs
        self.results: list[dict] = []
        self.pid: int | None = None

    def start(self, as_bytes: int, cpu_s: int) -> None:
        argv = self.steps.popleft()
        n = len(self.results)
        out, err = self.logs / f"{self.id}.{n}.out", self.logs / f"{self.id}.{n}.err"
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(argv, self.cwd, str(out), str(err), as_bytes, cpu_s)
        with contextlib.suppress(OSError):  # the child does it too: either may run first
            os.setpgid(pid, pid)
        self.pid = pid
        self.started = time.monotonic()
        self.timed_out = False
        self.results.append({"argv": argv, "out": str(out), "err": str(err)})

    def finish(self, status: int, usage) -> None:
        result = self.results[-1]
        result.update(
            rc=os.waitstatus_to_exitcode(status),
            signal=os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            timed_out=self.timed_out,
            cpu_s=usage.ru_utime + usage.ru_stime,
            wall_s=time.monotonic() - self.started,
            maxrss_mib=usage.ru_maxrss / 1024,  # Linux reports KiB
            stdout_bytes=_size(Path(result["out"])),
            stderr_bytes=_size(Path(result["err"])),
            stdout=_tail(Path(result.pop("out"))),
            stderr=_tail(Path(result.pop("err"))),
        )
        self.pid = None
        if result["rc"] != 0 or result["timed_out"]:
            self.steps.clear()  # the scene for the next step was not set


def run(spec: dict) -> dict:
    as_bytes, cpu_s, wall_s = int(spec["as_bytes"]), int(spec["cpu_s"]), float(spec["wall_s"])
    jobs = max(1, int(spec.get("jobs", 2)))
    logs = Path(spec["logs"])
    logs.mkdir(parents=True, exist_ok=True)
    cases = [_Case(c, logs) for c in spec["cases"]]
    pending = deque(sorted(cases, key=lambda c: not c.may_block))
    running: dict[int, _Case] = {}
    t0 = time.monotonic()
    while pending or running:
        busy = sum(not c.may_block for c in running.values())
        while pending and (pending[0].may_block or busy < jobs):
            case = pending.popleft()
            case.start(as_bytes, cpu_s)
            running[case.pid] = case
            busy += not case.may_block
        pid, status, usage = os.wait4(-1, os.WNOHANG)
        if pid == 0:
            now = time.monotonic()
            for case in running.values():
                if not case.timed_out and now - case.started > wall_s:
                    case.timed_out = True
                    try:
                        os.killpg(case.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        os.kill(case.pid, signal.SIGKILL)
            time.sleep(0.005)
            continue
        case = running.pop(pid)
        case.finish(status, usage)
        if case.steps:
            pending.appendleft(case)
    return {
        "cases": {c.id: c.results for c in cases},
        "parent": {
            "vm_kib": _proc_status("VmSize"),
            "rss_kib": _proc_status("VmRSS"),
            "wall_s": time.monotonic() - t0,
        },
    }


def main(argv: list[str]) -> int:
    spec_path, result_path = argv
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    t0 = time.monotonic()
    _preload()
    preload_s = time.monotonic() - t0
    results = run(spec)
    results["parent"]["preload_s"] = preload_s
    Path(result_path).write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
