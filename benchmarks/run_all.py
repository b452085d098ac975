"""Run every benchmark in turn (``make bench``); each prints its own figures.

``--gpu`` (``make bench GPU=1``) runs the training table on CuPy against PyTorch CUDA instead,
and prints "no GPU found" and exits 0 on a machine without one.

Benchmarks are measurements, not tests: nothing here asserts a speed. The figures in the
README's performance section come from these runs.
"""

from __future__ import annotations

import importlib
import sys

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


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if "--gpu" in argv:
        importlib.import_module("benchmarks.bench_training").main(["--gpu"])
        return
    for name in BENCHMARKS:
        print(f"== {name}", flush=True)
        importlib.import_module(name).main([])


if __name__ == "__main__":
    main()
