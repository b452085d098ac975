"""``export_pytorch(project_path, out_dir)``: a project as a standalone PyTorch package.

The package needs only torch and numpy (never LayerCanvas)::

    model.py          the graph as an nn.Module (engine.export_pytorch.model_code)
    train.py          DDP training loop with the project's settings (read from training.json)
    keras_parts.py    the loss, metrics and optimizer with Keras's formulas
    data.py           the project's data for PyTorch (data_sources.py, csv_sources.py and
                      keras_sets.py read it)
    data.json         where the data comes from and the preprocessing LayerCanvas fitted;
                      split.npz the training / validation split, or data.npz the prepared
                      arrays themselves (engine.export_pytorch.data_export)
    weights.npz       the project's weights (its trained weights, or the initial weights a
                      LayerCanvas run with the project's seed starts from)
    model.json        the project (graph, dataset, training) so checkpoints map back to nodes
    training.json, requirements.txt, README.md

The model and its data come from :func:`engine.graph.session.prepare_training`, so the
package starts exactly where a LayerCanvas run would. Every file is written atomically; a
setting the package cannot reproduce is refused before anything is written, in one
message naming it.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.export_pytorch.data_export import write_package_data
from engine.export_pytorch.errors import PyTorchExportError
from engine.export_pytorch.model_code import build_model_code, model_source, torch_state
from engine.export_pytorch.package_readme import package_readme
from engine.safe_files import write_bytes_atomic

__all__ = ["ExportedPackage", "export_pytorch", "training_json"]

# The package's fixed files: real Python (linted), kept outside engine/ because they import
# torch and each other as the scripts of one folder.
PACKAGE_DIR = Path(__file__).resolve().parents[2] / "resources" / "pytorch_package"
STATIC_FILES = (
    "train.py",
    "keras_parts.py",
    "data.py",
    "data_sources.py",
    "keras_sets.py",
    "csv_sources.py",
)
LOSSES = (
    "sparse_categorical_crossentropy",
    "categorical_crossentropy",
    "binary_crossentropy",
    "mean_squared_error",
    "mse",
    "mean_absolute_error",
    "mae",
)
METRICS = ("accuracy", "acc", "mae", "mean_absolute_error", "mse", "mean_squared_error")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
_OPTIMIZER_KEYS = {
    "name", "learning_rate", "momentum", "nesterov", "beta_1", "beta_2", "epsilon", "amsgrad",
    "rho", "centered", "clipnorm", "clipvalue", "global_clipnorm", "weight_decay",
}  # fmt: skip
# Fit options the package's loop does not reproduce, with the value that means "off".
_OFF = {
    "class_weight": None,
    "validation_freq": 1,
    "initial_epoch": 0,
    "steps_per_epoch": None,
}


@dataclass
class ExportedPackage:
    out_dir: Path
    files: list[str]
    parameters: int
    train_samples: int
    validation_samples: int
    trained: bool
    notes: list[str]


def _check_training(training: dict, setup) -> None:
    problems = []
    loss = training["loss"]
    name = loss if isinstance(loss, str) else loss.get("name") if isinstance(loss, dict) else None
    if name not in LOSSES:
        problems.append(f"loss {loss!r} (the package has {', '.join(LOSSES[:5])})")
    for metric in training.get("metrics") or []:
        if metric not in METRICS:
            problems.append(f"metric {metric!r} (remove it, or use accuracy, mae or mse)")
    opt = training["optimizer"]
    opt = {"name": opt} if isinstance(opt, str) else opt
    if str(opt.get("name", "")).lower() not in OPTIMIZERS:
        problems.append(
            f"optimizer {opt.get('name')!r} (the package has SGD, Adam, AdamW, RMSprop)"
        )
    extra = sorted(set(opt) - _OPTIMIZER_KEYS)
    if extra:
        problems.append(f"optimizer option(s) {', '.join(extra)}")
    for key, off in _OFF.items():
        if training.get(key, off) not in (off, None):
            problems.append(f"training.{key}")
    if setup.data.augmentation is not None:
        problems.append("data augmentation (turn it off to export)")
    if len(setup.model.inputs) != 1 or len(setup.model.outputs) != 1:
        problems.append("a model with several inputs or outputs (train.py takes one of each)")
    if problems:
        raise PyTorchExportError(
            "the PyTorch package cannot reproduce: " + "; ".join(problems) + "; change these "
            "settings to export"
        )


def _schedule_table(training: dict, setup) -> list[float] | None:
    """The learning rate of every step of the run, from the engine's own schedule."""
    from engine import schedules  # noqa: PLC0415

    config = training.get("schedule")
    opt = training["optimizer"]
    if config is None and isinstance(opt, dict) and isinstance(opt.get("learning_rate"), dict):
        config = opt["learning_rate"]
    if config is None:
        return None
    schedule = schedules.get(dict(config))
    steps = setup.epochs * math.ceil(setup.train_samples / setup.batch_size)
    return [float(schedule(step)) for step in range(steps)]


def training_json(project, setup) -> dict:
    """The settings train.py reads: the project's, with LayerCanvas's defaults filled in."""
    from engine.graph.session import DEFAULTS  # noqa: PLC0415

    training = {**DEFAULTS, **project.training}
    _check_training(training, setup)
    opt = training["optimizer"]
    opt = {"name": opt} if isinstance(opt, str) else dict(opt)
    opt["name"] = str(opt["name"]).lower()
    table = _schedule_table(training, setup)
    if table is not None:
        opt.pop("learning_rate", None)
    return {
        "loss": training["loss"],
        "optimizer": opt,
        "schedule": table,
        "metrics": list(training.get("metrics") or []),
        "batch_size": setup.batch_size,
        "epochs": setup.epochs,
        "seed": setup.seed,
        "shuffle": setup.shuffle,
        "callbacks": training.get("callbacks") or {},
    }


def _npz(arrays: dict) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def export_pytorch(project, out_dir, *, force: bool = False, weights_from=None) -> ExportedPackage:
    """Write the package for ``project`` (a :class:`~engine.graph.project.Project` or the
    path of one) into ``out_dir``. ``weights_from`` (a model trained in the app) supplies
    the weights of every layer it has a namesake for; otherwise they are the project's
    ``"weights"`` file's, or the initial weights of a run with the project's seed."""
    from engine.graph.convert import copy_matching_weights  # noqa: PLC0415
    from engine.graph.project import Project, load_project  # noqa: PLC0415
    from engine.graph.session import prepare_training  # noqa: PLC0415

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise PyTorchExportError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise PyTorchExportError(f"{out} is not empty; pass --force to write into it")
    if not isinstance(project, Project):
        project = load_project(project)
    setup = prepare_training(project)
    mc = build_model_code(setup.model)
    training = training_json(project, setup)
    trained = project.weights is not None
    notes = []
    if weights_from is not None:
        copied, kept = copy_matching_weights(weights_from, setup.model)
        trained = bool(copied)
        if kept:
            notes.append(f"layers {', '.join(kept)} were not trained: they start from new weights")
    if not trained:
        notes.append(
            "the project has no trained weights: weights.npz holds the initial weights a "
            f"LayerCanvas run with seed {setup.seed} starts from"
        )
    model_json = project.to_json()
    model_json.pop("weights", None)
    files = {
        "model.py": model_source(mc, project.name).encode("utf-8"),
        "model.json": (json.dumps(model_json, indent=1) + "\n").encode("utf-8"),
        "training.json": (json.dumps(training, indent=1) + "\n").encode("utf-8"),
        "weights.npz": _npz(torch_state(setup.model, mc)),
    }
    for name in STATIC_FILES:
        files[name] = (PACKAGE_DIR / name).read_bytes()
    out.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        write_bytes_atomic(out / name, content)
    # After the reader files: the data is checked by reading it back with them.
    data_files = write_package_data(project, setup, out)
    if data_files.reason is not None:
        notes.append(f"the data is a snapshot: {data_files.reason}")
    last = {
        "requirements.txt": _requirements(data_files.requirements).encode("utf-8"),
        "README.md": package_readme(project.name, training, notes, data_files).encode("utf-8"),
    }
    for name, content in last.items():
        write_bytes_atomic(out / name, content)
    files.update(last)
    files.update(dict.fromkeys(data_files.files, b""))
    data = setup.data
    return ExportedPackage(
        out_dir=out,
        files=sorted(files),
        parameters=setup.model.count_params(),
        train_samples=len(data.train),
        validation_samples=0 if data.validation is None else len(data.validation),
        trained=trained,
        notes=notes,
    )


def _requirements(extra: list[str] = ()) -> str:
    """torch pinned to the version LayerCanvas checked the package with, when installed."""
    from importlib import metadata  # noqa: PLC0415

    try:
        version = metadata.version("torch").split("+")[0]
        torch_line = f"torch=={version}"
    except metadata.PackageNotFoundError:
        torch_line = "torch>=2.1"
    return "".join(f"{line}\n" for line in (torch_line, "numpy>=1.24", *extra))
