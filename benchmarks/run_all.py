"""Run every benchmark in turn (``make bench``); each prints its own figures.

Benchmarks are measurements, not tests: nothing here asserts a speed. The figures in the
README's performance section come from these runs.
"""

from __future__ import annotations

import importlib

BENCHMARKS = [
    "benchmarks.bench_training",
    "benchmarks.bench_augmentation",
    "benchmarks.bench_compiler",
    "benchmarks.bench_autosave",
    "benchmarks.bench_canvas",
    "benchmarks.bench_datasets",
    "benchmarks.bench_conv_kernels",
    "benchmarks.bench_rnn_kernels",
    "benchmarks.bench_layers_b",
]


def main() -> None:
    for name in BENCHMARKS:
        print(f"== {name}", flush=True)
        importlib.import_module(name).main([])


if __name__ == "__main__":
    main()
