"""How long each built-in dataset takes to load (target: well under a second each).

Every built-in set is read from the files scikit-learn ships or generated from a seed, so
loading is part of opening a project; this prints the median of ``--repeats`` loads per set.

Run: ``python -m benchmarks.bench_datasets`` (``--repeats 5``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.data import BUILTIN_DATASETS, load_builtin  # noqa: E402


def time_load(name: str, repeats: int) -> float:
    """Median seconds of ``load_builtin(name)`` over ``repeats`` loads."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        load_builtin(name)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"{'dataset':<15} {'median load':>12}")
    from engine.datasets import CATALOG, is_cached  # noqa: PLC0415

    for name in sorted(BUILTIN_DATASETS):
        if name in CATALOG and not is_cached(name):
            print(f"{name:<15} {'not downloaded':>12}", flush=True)
            continue
        print(f"{name:<15} {time_load(name, args.repeats) * 1000:>9.1f} ms", flush=True)


if __name__ == "__main__":
    main()
