"""Print the hostile-input suite's verdicts as one table, one case a line:

    python -m tests.hostile.report [--only ID_SUBSTRING] [--json FILE]

The same corpus, runner and judge as ``test_hostile_inputs.py``, for checking off defects
without reading pytest's output: PASS/FAIL, the defect covered, exit status, CPU seconds,
peak MiB, and the first problem (or the error line the user saw)."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from tests.hostile.corpus import all_cases
from tests.hostile.judge import error_lines, verdict
from tests.hostile.suite import build_and_run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.hostile.report")
    parser.add_argument("--only", help="run only cases whose id contains this text")
    parser.add_argument("--json", type=Path, help="also write the verdicts here")
    parser.add_argument("-v", "--verbose", action="store_true", help="show each failure in full")
    args = parser.parse_args(argv)
    cases = [c for c in all_cases() if not args.only or args.only in c.id]
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        outcome = build_and_run(Path(tmp), cases)
        rows, failed = [], 0
        for case in cases:
            problems, summary = verdict(case, outcome)
            if problems and args.verbose:
                print(f"== {case.id}\n" + summary + "\n- " + "\n- ".join(problems) + "\n")
            result = (outcome.results.get(case.id) or [{}])[-1]
            seen = error_lines(result.get("stderr", ""))
            rows.append(
                {
                    "id": case.id,
                    "ok": not problems,
                    "defect": case.defect,
                    "rc": result.get("rc"),
                    "cpu_s": round(result.get("cpu_s", 0.0), 2),
                    "maxrss_mib": round(result.get("maxrss_mib", 0.0)),
                    "problems": problems,
                    "stderr": seen[0] if seen else "",
                }
            )
            failed += bool(problems)
    for row in rows:
        detail = row["problems"][0] if row["problems"] else row["stderr"]
        print(
            f"{'PASS' if row['ok'] else 'FAIL'} {row['id']:<48} #{row['defect'] or '-':<2} "
            f"rc={row['rc']} cpu={row['cpu_s']:<5} rss={row['maxrss_mib']:<5} {detail[:160]}"
        )
    print(f"{len(rows) - failed} passed, {failed} failed; runner: {outcome.runner}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
