"""The ``export`` and ``import`` subcommands of ``layercanvas`` (DESIGN.md, "Command line").

::

    layercanvas export MODEL_OR_PROJECT --onnx OUT.onnx [--opset N] [--allow-nonfinite]
    layercanvas import MODEL.onnx --out PROJECT.lcproj [--force]

``export`` takes a trained ``.lcmodel``, or a ``.lcproj`` whose ``"weights"`` key names one
(a project without weights exports its freshly initialised, untrained weights, and says
so). It writes the ONNX file only after ``onnx.checker`` and onnxruntime agree with the
engine's ``predict`` (:func:`engine.onnx.verify_export`), and prints that check's report.
A model whose weights hold NaN or infinite values (a diverged run) is refused in one line
naming the layers and how many values, unless ``--allow-nonfinite`` is given (then it is
exported with a warning line).

``import`` turns an ONNX file into a project plus a ``.lcmodel`` beside it that the
project's ``"weights"`` key points to, so the canvas, further training and ``export`` all
start from the imported weights. The project's training settings are a starting point
chosen from the outputs (:func:`engine.onnx.default_training`); its dataset is left for
the user to choose. A file that cannot be imported is refused with every
unsupported operator listed, and nothing is written.

Each ``add_*_command(subparsers)`` registers one subcommand; ``app/cli.py`` lists them.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from app.cli_common import import_destination
from engine.safe_files import regular_file_problem

__all__ = ["add_export_command", "add_import_command", "run_export", "run_import"]

PROG = "layercanvas"
EXIT_OK, EXIT_INVALID = 0, 1


def add_export_command(subparsers) -> None:
    from engine.onnx.export import DEFAULT_OPSET, MAX_OPSET  # noqa: PLC0415

    p = subparsers.add_parser(
        "export",
        help="export a trained model (or a project's) to ONNX, checked with onnxruntime",
        description="Export a .lcmodel file, or a .lcproj project (its 'weights' model, or "
        "untrained weights if it has none), to ONNX. The file is checked with "
        "onnx.checker and compared with the engine under onnxruntime before it is kept.",
    )
    p.add_argument("model", metavar="MODEL_OR_PROJECT", help="a .lcmodel or .lcproj file")
    p.add_argument("--onnx", type=Path, metavar="OUT.onnx", help="file to write")
    p.add_argument(
        "--opset",
        type=int,
        default=DEFAULT_OPSET,
        choices=range(DEFAULT_OPSET, MAX_OPSET + 1),
        metavar="N",
        help=f"ONNX opset, {DEFAULT_OPSET} to {MAX_OPSET} (default {DEFAULT_OPSET})",
    )
    p.add_argument(
        "--allow-nonfinite",
        action="store_true",
        help="export even if some weights are NaN or infinite (the model will predict NaN)",
    )
    from app.cli_keras import add_export_flags  # noqa: PLC0415

    add_export_flags(p)  # --keras, --keras-code
    from app.cli_pytorch import add_export_flags as add_pytorch_flags  # noqa: PLC0415

    add_pytorch_flags(p)  # --pytorch OUTDIR
    p.set_defaults(run=run_export)


def add_import_command(subparsers) -> None:
    p = subparsers.add_parser(
        "import",
        help="turn an ONNX model into a project with its weights",
        description="Import an ONNX file as a project (.lcproj) and a model file (.lcmodel "
        "beside it, named by the project's 'weights' key). Unsupported operators are all "
        "listed and nothing is written.",
    )
    p.add_argument(
        "model",
        metavar="MODEL",
        help="the ONNX, .keras or Keras 2 .h5 file, or a PyTorch package's .npz checkpoint",
    )
    p.add_argument(
        "--out", required=True, type=Path, metavar="PROJECT.lcproj", help="project to write"
    )
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    # Transfer learning: train the imported classifier on an image folder (app.cli_finetune).
    p.add_argument("--images", metavar="FOLDER", help="set the dataset to this image folder")
    p.add_argument("--mean", metavar="M1,M2,M3", help="input mean per channel, if not recorded")
    p.add_argument("--std", metavar="S1,S2,S3", help="input std per channel, if not recorded")
    p.set_defaults(run=run_import)


def _fail(message: str) -> int:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr, flush=True)
    return EXIT_INVALID


# -- export ---------------------------------------------------------------------------------


def load_for_export(path: Path):
    """``(model, note)`` for a ``.lcmodel`` or a ``.lcproj``; ``note`` says which weights
    are untrained, or is ``None`` when every weight was trained.

    A project is exported as its own graph: its ``"weights"`` model file supplies the
    weights of every layer it has a namesake for (a pre-trained base under a new head keeps
    the base's weights and the head's fresh ones, and the note names the head)."""
    from engine.io import load_model  # noqa: PLC0415

    suffix = path.suffix.lower()
    if suffix == ".lcmodel":
        return load_model(path, compile=False), None
    if suffix != ".lcproj":
        raise ValueError(f"{path}: expected a .lcmodel or .lcproj file")
    from engine.graph.convert import copy_matching_weights, model_from_document  # noqa: PLC0415
    from engine.graph.project import load_project  # noqa: PLC0415

    project = load_project(path)
    model = model_from_document(project.graph)
    if project.weights is None:
        return model, (
            f"{path} has no trained weights (no 'weights' key); exporting its untrained, "
            "freshly initialised weights"
        )
    weights = project.weights_path
    if not weights.is_file():
        raise ValueError(f"{path}: its weights file {project.weights!r} does not exist")
    copied, kept = copy_matching_weights(load_model(weights, compile=False), model)
    if not copied:
        raise ValueError(f"{path}: its weights file {project.weights!r} matches no layer")
    if kept:
        return model, (
            f"layers {', '.join(kept)} are not in {project.weights!r}; exporting their "
            "untrained, freshly initialised weights (train the project first)"
        )
    return model, None


def run_export(args: argparse.Namespace) -> int:
    from engine.models.finite import NonFiniteWeightsWarning  # noqa: PLC0415
    from engine.onnx import ExportError, export_model  # noqa: PLC0415
    from engine.onnx.export import NonFiniteWeightsError  # noqa: PLC0415

    if getattr(args, "pytorch", None) is not None:
        from app.cli_pytorch import run_pytorch_export  # noqa: PLC0415

        code = run_pytorch_export(args)
        if code != EXIT_OK or not (args.onnx or args.keras or args.keras_code):
            return code
    if getattr(args, "keras", None) or getattr(args, "keras_code", None):
        from app.cli_keras import run_keras_export  # noqa: PLC0415

        if args.onnx is None:
            return run_keras_export(args)
        code = run_keras_export(args)
        if code != EXIT_OK:
            return code
    elif args.onnx is None:
        return _fail(
            "say what to write: --onnx OUT.onnx, --keras OUT.keras, --keras-code OUT.py or "
            "--pytorch OUTDIR"
        )
    source = Path(args.model)
    problem = regular_file_problem(source)
    if problem is not None:  # a device, a FIFO or a folder is named, never read or waited on
        return _fail(f"{source}: {problem}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model, note = load_for_export(source)
        except ValueError as err:  # ProjectError, ModelFileError, GraphError are ValueErrors
            return _fail(str(err))
    # Non-finite weights get their own line below (an error, or a warning when allowed).
    for w in caught:
        if not issubclass(w.category, NonFiniteWeightsWarning):
            print(f"{PROG}: warning: {' '.join(str(w.message).split())}", file=sys.stderr)
    if note:
        print(f"note: {note}", flush=True)
    metadata = {"source": source.name, "trained": "false" if note else "true"}
    try:
        report = export_model(
            model,
            args.onnx,
            opset=args.opset,
            metadata=metadata,
            allow_nonfinite=args.allow_nonfinite,
        )
    except NonFiniteWeightsError as err:
        return _fail(
            f"cannot export {source}: {err}; retrain it (or use an earlier checkpoint), or "
            "pass --allow-nonfinite to export it anyway"
        )
    except ExportError as err:
        return _fail(f"cannot export {source}: {err}")
    if args.allow_nonfinite:
        _warn_nonfinite(model, source)
    print(report.summary(), flush=True)
    return EXIT_OK


def _warn_nonfinite(model, source: Path) -> None:
    from engine.models.finite import describe_nonfinite, nonfinite_weights  # noqa: PLC0415

    found = nonfinite_weights(model)
    if found:
        print(
            f"{PROG}: warning: exported {source} although weights of "
            f"{describe_nonfinite(found)} are NaN or infinite (--allow-nonfinite): the ONNX "
            "model predicts NaN",
            file=sys.stderr,
            flush=True,
        )


# -- import ---------------------------------------------------------------------------------


def _issues_line(err) -> str:
    parts = [issue.describe() for issue in err.issues]
    return f"{err.headline}: " + "; ".join(parts) if parts else err.headline


def run_import(args: argparse.Namespace) -> int:
    from app.cli_keras import is_keras_file, run_keras_import  # noqa: PLC0415
    from engine.graph.project import Project  # noqa: PLC0415
    from engine.io import save_model  # noqa: PLC0415
    from engine.onnx import OnnxImportError, import_model  # noqa: PLC0415

    if is_keras_file(args.model):  # .keras / .h5: Keras's own formats
        return run_keras_import(args)
    from app.cli_pytorch import is_checkpoint, run_pytorch_import  # noqa: PLC0415

    if is_checkpoint(args.model):  # a checkpoint of an exported PyTorch package
        return run_pytorch_import(args)
    out, weights, problem = import_destination(args.out, args.force)
    if problem:
        return _fail(problem)
    try:
        result = import_model(args.model, name=Path(args.model).stem)
    except OnnxImportError as err:
        line = _issues_line(err).removeprefix(f"{Path(args.model)}: ")  # named once is enough
        return _fail(f"cannot import {args.model}: {line}")
    model = result.model
    document = result.graph_document(name=Path(args.model).stem)
    project = Project(
        graph=document,
        training=result.training_defaults(),
        description=f"Imported from {Path(args.model).name}",
        weights=weights.name,
    )
    try:
        from app.cli_finetune import imported_dataset  # noqa: PLC0415

        project.dataset = imported_dataset(args, model, result.metadata, out)
    except ValueError as err:
        return _fail(f"cannot import {args.model}: {err}")
    out.parent.mkdir(parents=True, exist_ok=True)
    save_model(model, weights)  # atomic
    try:
        project.save(out)  # atomic
    except BaseException:
        weights.unlink(missing_ok=True)
        raise
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    layers = [layer for layer in model.layers if layer.type_name != "Input"]
    print(
        f"imported {len(layers)} layers, {model.count_params():,} weights from {args.model} "
        f"(opset {result.opset}); wrote {out} and {weights}",
        flush=True,
    )
    return EXIT_OK
