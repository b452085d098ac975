"""What a hostile case's run must look like to a user, as a list of problems (empty: it passed).

Three things, from issue 15: the command ends with a clear one-line message (never a
traceback, "internal error" or MemoryError), it stays under the memory ceiling, and it ends
in under 5 s of CPU time. Messages the command line prints beside its one error line
(``warning: ...``, ``note: ...``, ``layercanvas: warning: ...``) are allowed; anything else
on stderr (a Python warning, a second error line) is not."""

from __future__ import annotations

import re
import signal

__all__ = ["judge", "verdict", "error_lines", "MEMORY_CEILING_MIB"]

MEMORY_CEILING_MIB = 2048
MAX_LINE = 2000  # characters: a longer "line" is a dump, not a message a person reads
MAX_STDERR = 64 * 1024
FORBIDDEN = ("Traceback", "internal error", "MemoryError")
# The command line's own asides: "warning: ...", "note: ...", "layercanvas: warning: ...".
ASIDE = re.compile(r"^(layercanvas: )?(warning|note):")


def error_lines(stderr: str) -> list[str]:
    """The stderr lines that are not the command line's own warnings or notes."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return [line for line in lines if not ASIDE.match(line)]


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def judge(case, result: dict) -> list[str]:
    """Every way ``result`` (one step of run_cases' output) falls short of ``case``."""
    problems: list[str] = []
    if result.get("timed_out"):
        problems.append(f"hung: killed after {result['wall_s']:.0f} s of wall-clock time")
    elif result.get("signal"):
        name = _signal_name(result["signal"])
        why = {"SIGXCPU": " (past the CPU-time limit)", "SIGKILL": " (out of memory?)"}
        problems.append(f"killed by {name}{why.get(name, '')}")
    if result["maxrss_mib"] >= MEMORY_CEILING_MIB:
        problems.append(f"peak memory {result['maxrss_mib']:.0f} MiB, over the 2 GiB ceiling")
    if result["cpu_s"] > case.cpu_s:
        problems.append(f"took {result['cpu_s']:.1f} s of CPU time (at most {case.cpu_s:g} s)")
    text = result["stdout"] + "\n" + result["stderr"]
    for word in FORBIDDEN:
        if word in text:
            line = next(ln for ln in text.splitlines() if word in ln)
            problems.append(f"printed {word!r}: {line.strip()[:300]}")
    for pattern in case.forbid:
        found = re.search(pattern, text)
        if found:
            problems.append(f"printed {found.group(0)!r}, which it must not (/{pattern}/)")
    if result.get("timed_out") or result.get("signal"):
        return problems
    if result["stderr_bytes"] > MAX_STDERR:
        problems.append(f"wrote {result['stderr_bytes']:,} bytes to stderr: a dump, not a message")
    errors = error_lines(result["stderr"])
    rc = result["rc"]
    if case.expect == "ok":
        if rc != 0:
            problems.append(f"exit status {rc}, expected 0 (this input is fine)")
        if errors:
            problems.append(f"unexpected stderr: {errors[0][:300]}")
        if case.warning and "warning" not in result["stderr"].lower():
            problems.append("expected a warning on stderr, found none")
        return problems
    wanted = (2,) if case.expect == "usage" else (1, 2)
    if rc not in wanted:
        problems.append(f"exit status {rc}, expected {' or '.join(map(str, wanted))}")
    if len(errors) != 1:
        shown = " | ".join(e[:200] for e in errors[:4]) or "(nothing)"
        problems.append(f"{len(errors)} error lines on stderr, expected exactly 1: {shown}")
        return problems
    line = errors[0]
    if len(line) > MAX_LINE:
        problems.append(f"the error line is {len(line):,} characters long (at most {MAX_LINE:,})")
        return problems
    if not line.startswith("layercanvas"):
        problems.append(f"the error line does not start with 'layercanvas': {line[:300]}")
    if case.names and case.names not in line:
        problems.append(f"the error line does not name {case.names!r}: {line[:300]}")
    for pattern in case.also:
        if not re.search(pattern, line):
            problems.append(f"the error line does not match /{pattern}/: {line[:300]}")
    return problems


def verdict(case, outcome) -> tuple[list[str], str]:
    """``(problems, summary)`` for ``case`` in a :class:`tests.hostile.suite.Outcome`: its
    files were built, the steps setting its scene succeeded, :func:`judge` found nothing and
    its ``post`` check of the files left behind passed."""
    if case.id in outcome.broken:
        return [f"the case could not be built: {outcome.broken[case.id]}"], case.id
    steps = outcome.results[case.id]
    wanted = outcome.steps[case.id]
    for step in steps[: wanted - 1]:
        if step["rc"] != 0 or step["timed_out"]:
            cmd = "layercanvas " + " ".join(step["argv"])
            return [f"setting the scene failed: {cmd} -> exit {step['rc']}"], step["stderr"]
    result = steps[-1]
    problems = judge(case, result)
    if not problems and case.post is not None:
        try:
            case.post(outcome.root / case.id)
        except AssertionError as exc:
            problems.append(str(exc))
    where = f" (issue 15, defect {case.defect})" if case.defect else ""
    summary = (
        f"layercanvas {' '.join(result['argv'])}{where}: exit {result['rc']}, "
        f"{result['cpu_s']:.2f} s CPU, {result['wall_s']:.2f} s wall, "
        f"{result['maxrss_mib']:.0f} MiB peak\nstdout (end):\n{result['stdout'][-600:]}"
        f"\nstderr:\n{result['stderr'][-1500:]}"
    )
    return problems, summary
