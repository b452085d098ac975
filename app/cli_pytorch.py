"""PyTorch packages on the command line: ``export --pytorch`` and ``import`` of a checkpoint.

::

    layercanvas export PROJECT.lcproj --pytorch OUTDIR [--force]
    layercanvas import OUTDIR/runs/<run>/best.npz --out PROJECT.lcproj [--force]

``export --pytorch`` writes a standalone package (model.py, train.py, data, weights; see
:mod:`engine.export_pytorch`) that ``torchrun`` trains with DistributedDataParallel. A
layer or training setting it cannot reproduce is refused in one line naming each.
``import`` of a checkpoint that package wrote gives the project back with those weights (a
``.lcmodel`` beside it) and, when the run's ``metrics.jsonl`` is beside the checkpoint,
the run's history in the project's Runs.

``app/cli_onnx.py``'s ``export`` and ``import`` hand the flag and ``.npz`` files here.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.cli_common import import_destination

__all__ = ["add_export_flags", "is_checkpoint", "run_pytorch_export", "run_pytorch_import"]

PROG = "layercanvas"
EXIT_OK, EXIT_INVALID = 0, 1


def is_checkpoint(path) -> bool:
    return Path(path).suffix.lower() == ".npz"


def add_export_flags(parser) -> None:
    """``--pytorch OUTDIR`` on the ``export`` subcommand (``--force`` is shared)."""
    parser.add_argument(
        "--pytorch",
        type=Path,
        metavar="OUTDIR",
        help="write a standalone PyTorch training package (torchrun / DDP) of a project",
    )
    if not any("--force" in a.option_strings for a in parser._actions):
        parser.add_argument("--force", action="store_true", help="write into a non-empty OUTDIR")


def _fail(message: str) -> int:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr, flush=True)
    return EXIT_INVALID


def run_pytorch_export(args: argparse.Namespace) -> int:
    from engine.export_pytorch import PyTorchExportError, export_pytorch  # noqa: PLC0415
    from engine.user_errors import user_error_types  # noqa: PLC0415

    source = Path(args.model)
    if source.suffix.lower() != ".lcproj":
        return _fail(f"{source}: --pytorch exports a project (.lcproj): it holds the data "
                     "and training settings the package needs")  # fmt: skip
    try:
        report = export_pytorch(source, args.pytorch, force=getattr(args, "force", False))
    except PyTorchExportError as err:
        return _fail(f"cannot export {source}: {err}")
    except user_error_types() as err:
        return _fail(f"cannot export {source}: {_lines(err)}")
    except OSError as err:
        return _fail(f"cannot write {args.pytorch}: {err.strerror or err}")
    for note in report.notes:
        print(f"note: {note}", flush=True)
    print(
        f"wrote {report.out_dir}: a PyTorch package of {report.parameters:,} weights, "
        f"{report.train_samples} training and {report.validation_samples} validation samples "
        f"({', '.join(report.files)}); run it with: cd {report.out_dir} && "
        "torchrun --nproc_per_node=2 train.py",
        flush=True,
    )
    return EXIT_OK


def _lines(err) -> str:
    diagnostics = getattr(err, "diagnostics", None)
    if diagnostics:
        return "; ".join(getattr(d, "message", str(d)) for d in diagnostics)
    return str(err)


def run_pytorch_import(args: argparse.Namespace) -> int:
    from engine.export_pytorch import PyTorchExportError, read_checkpoint  # noqa: PLC0415
    from engine.export_pytorch.checkpoint import record_run  # noqa: PLC0415
    from engine.io import save_model  # noqa: PLC0415
    from engine.user_errors import user_error_types  # noqa: PLC0415

    source = Path(args.model)
    out, weights, problem = import_destination(args.out, args.force)
    if problem:
        return _fail(problem)
    try:
        result = read_checkpoint(source)
    except PyTorchExportError as err:  # named once is enough
        return _fail(f"cannot import {source}: {str(err).removeprefix(f'{source}: ')}")
    except user_error_types() as err:
        return _fail(f"cannot import {source}: {_lines(err)}")
    project = result.project
    project.weights = weights.name
    project.description = f"Trained with PyTorch; imported from {source.name}"
    out.parent.mkdir(parents=True, exist_ok=True)
    save_model(result.model, weights)  # atomic
    try:
        project.save(out)  # atomic
    except BaseException:
        weights.unlink(missing_ok=True)
        raise
    line = (
        f"imported epoch {result.epoch} of {source} ({result.model.count_params():,} weights); "
        f"wrote {out} and {weights}"
    )
    if result.history:
        record = record_run(result, out, source)
        line += f"; its {len(next(iter(result.history.values())))} epochs are run {record.name!r}"
    print(line, flush=True)
    return EXIT_OK
