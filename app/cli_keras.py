"""Keras files on the command line: ``import`` of ``.keras``/``.h5`` and ``export --keras`` /
``--keras-code``.

::

    layercanvas import MODEL.keras --out PROJECT.lcproj [--force]   (also a Keras 2 .h5)
    layercanvas export MODEL_OR_PROJECT --keras OUT.keras
    layercanvas export MODEL_OR_PROJECT --keras-code OUT.py

``import`` writes the project and a ``.lcmodel`` beside it with the file's weights (as the
ONNX import does); the compile() settings become the project's training settings, and every
note (shared layers copied, inserted Permute nodes, compile arguments left out) is printed.
A file with layers LayerCanvas cannot represent is refused in one line listing each of
them, and nothing is written. ``export --keras`` writes a Keras 3 archive whose outputs
equal the engine's; ``--keras-code`` a script that rebuilds, compiles and fits the model.

``app/cli_onnx.py``'s ``import`` and ``export`` hand Keras files and flags to this module.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.cli_common import import_destination
from engine.safe_files import regular_file_problem

__all__ = [
    "KERAS_SUFFIXES",
    "add_export_flags",
    "is_keras_file",
    "run_keras_export",
    "run_keras_import",
]

PROG = "layercanvas"
EXIT_OK, EXIT_INVALID = 0, 1
KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")


def is_keras_file(path) -> bool:
    return Path(path).suffix.lower() in KERAS_SUFFIXES


def add_export_flags(parser) -> None:
    """``--keras`` and ``--keras-code`` on the ``export`` subcommand."""
    parser.add_argument(
        "--keras", type=Path, metavar="OUT.keras", help="write a Keras 3 model archive"
    )
    parser.add_argument(
        "--keras-code",
        type=Path,
        metavar="OUT.py",
        help="write Keras code that rebuilds, compiles and fits the model",
    )


def _fail(message: str) -> int:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr, flush=True)
    return EXIT_INVALID


def run_keras_import(args: argparse.Namespace) -> int:
    from engine.graph.project import Project  # noqa: PLC0415
    from engine.io import save_model  # noqa: PLC0415
    from engine.keras_io import KerasImportError, import_keras  # noqa: PLC0415

    source = Path(args.model)
    out, weights, problem = import_destination(args.out, args.force)
    if problem:
        return _fail(problem)
    try:
        result = import_keras(source, name=source.stem)
    except KerasImportError as err:
        return _fail(str(err))
    project = Project(
        graph=result.document,
        training=result.training,
        description=f"Imported from {source.name}"
        + (f" (Keras {result.keras_version})" if result.keras_version else ""),
        weights=weights.name,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    save_model(result.model, weights)  # atomic
    try:
        project.save(out)  # atomic
    except BaseException:
        weights.unlink(missing_ok=True)
        raise
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    model = result.model
    layers = [layer for layer in model.layers if layer.type_name != "Input"]
    print(
        f"imported {len(layers)} layers, {model.count_params():,} weights from {source}; "
        f"wrote {out} and {weights}",
        flush=True,
    )
    return EXIT_OK


def run_keras_export(args: argparse.Namespace) -> int:
    from app.cli_onnx import load_for_export  # noqa: PLC0415
    from engine.keras_io import KerasExportError, export_keras, keras_code  # noqa: PLC0415

    source = Path(args.model)
    problem = regular_file_problem(source)
    if problem is not None:
        return _fail(f"{source}: {problem}")
    try:
        model, note = load_for_export(source)
        training = _training_of(source)
        if source.suffix.lower() == ".lcmodel":
            model, training = _compiled_model(source, model)
    except ValueError as err:
        return _fail(str(err))
    if note:
        print(f"note: {note}", flush=True)
    try:
        if args.keras is not None:
            report = export_keras(model, args.keras, training)
            print(
                f"wrote {report.path}: a Keras 3 model of {report.layers} layers and "
                f"{report.weights:,} weights (channels-first layers; load it with "
                "keras.saving.load_model)",
                flush=True,
            )
        if args.keras_code is not None:
            from engine.safe_files import write_text_atomic  # noqa: PLC0415

            write_text_atomic(args.keras_code, keras_code(model, training))
            print(f"wrote {args.keras_code}: Keras code (run it with KERAS_BACKEND=torch)")
    except KerasExportError as err:
        return _fail(f"cannot export {source}: {err}")
    except OSError as err:
        return _fail(f"cannot write: {err.strerror or err}")
    return EXIT_OK


def _compiled_model(source: Path, plain):
    """A ``.lcmodel`` with its optimizer state and compile arguments, as training settings
    (so the Keras model resumes where LayerCanvas stopped); the plain model if it has none."""
    from engine.io import load_model  # noqa: PLC0415
    from engine.model_files.compile_config import compile_config  # noqa: PLC0415

    model = load_model(source)
    config = compile_config(model)
    if config is None:
        return plain, None
    optimizer = config.get("optimizer")
    if isinstance(optimizer, dict) and "class_name" in optimizer:
        optimizer = dict(optimizer.get("config") or {})
    return model, {
        "loss": config.get("loss"),
        "optimizer": optimizer,
        "metrics": config.get("metrics") or [],
    }


def _training_of(source: Path) -> dict | None:
    """The project's training settings (a ``.lcmodel`` keeps only its compile state)."""
    if source.suffix.lower() != ".lcproj":
        return None
    from engine.graph.project import load_project  # noqa: PLC0415

    return load_project(source).training
