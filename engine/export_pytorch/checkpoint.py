"""Checkpoints of an exported PyTorch package back into LayerCanvas.

The package's ``train.py`` writes ``last.npz`` / ``best.npz``: the module's ``state_dict``
as arrays plus, under ``__layercanvas__``, a JSON string (UTF-8 bytes) with the project it
was exported from (``model.json``) and that epoch's metrics. :func:`read_checkpoint` reads
one without unpickling (``allow_pickle=False``, bounded size), rebuilds the project's
model, maps every node's arrays back to the engine's layout
(:func:`engine.export_pytorch.model_code.engine_weights`) and reads the run's
``metrics.jsonl`` beside it when present. :func:`record_run` files that history as a run of
the imported project, so it shows in the Runs panel.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.export_pytorch.errors import PyTorchExportError
from engine.export_pytorch.model_code import build_model_code, engine_weights
from engine.safe_files import regular_file_problem

__all__ = ["CHECKPOINT_FORMAT", "CheckpointImport", "read_checkpoint", "record_run"]

CHECKPOINT_FORMAT = "layercanvas-pytorch-checkpoint"
META_KEY = "__layercanvas__"
MAX_BYTES = 2 * 1024**3


@dataclass
class CheckpointImport:
    project: object  # engine.graph.project.Project (its weights key not set yet)
    model: object  # the engine model with the checkpoint's weights
    epoch: int
    logs: dict
    history: dict[str, list[float]] = field(default_factory=dict)


def is_checkpoint(path) -> bool:
    """Whether ``path`` is an ``.npz`` (the only form the package writes)."""
    return Path(path).suffix.lower() == ".npz"


def _read(path: Path) -> tuple[dict, dict]:
    problem = regular_file_problem(path)
    if problem is not None:
        raise PyTorchExportError(f"{path}: {problem}")
    if path.stat().st_size > MAX_BYTES:
        raise PyTorchExportError(f"{path}: larger than {MAX_BYTES // 1024**3} GiB")
    try:
        with np.load(path, allow_pickle=False) as arrays:
            if META_KEY not in arrays.files:
                raise PyTorchExportError(
                    f"{path}: not a checkpoint of a LayerCanvas PyTorch package (it has no "
                    f"{META_KEY!r} entry)"
                )
            meta = json.loads(arrays[META_KEY].tobytes().decode("utf-8"))
            state = {k: arrays[k] for k in arrays.files if k != META_KEY}
    except PyTorchExportError:
        raise
    except (OSError, ValueError, UnicodeDecodeError) as err:
        raise PyTorchExportError(f"{path}: not a readable checkpoint ({err})") from None
    if not isinstance(meta, dict) or meta.get("format") != CHECKPOINT_FORMAT:
        raise PyTorchExportError(f"{path}: its {META_KEY!r} entry is not {CHECKPOINT_FORMAT!r}")
    if not isinstance(meta.get("model"), dict):
        raise PyTorchExportError(f"{path}: its {META_KEY!r} entry has no project")
    return meta, state


def _history(path: Path) -> dict[str, list[float]]:
    """Per-epoch metrics from ``metrics.jsonl`` (empty when there is none)."""
    if not path.is_file():
        return {}
    history: dict[str, list[float]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            raise PyTorchExportError(f"{path}, line {number}: not JSON") from None
        for key, value in row.items():
            if key in ("epoch", "seconds") or not isinstance(value, int | float):
                continue
            history.setdefault(key, []).append(float(value) if math.isfinite(value) else None)
    return history


def read_checkpoint(path) -> CheckpointImport:
    """The project, model (with the checkpoint's weights) and history of ``path``."""
    from engine.graph.convert import model_from_document  # noqa: PLC0415
    from engine.graph.project import Project  # noqa: PLC0415

    path = Path(path)
    meta, state = _read(path)
    project = Project.from_json(meta["model"])
    model = model_from_document(project.graph)
    mc = build_model_code(model)
    weights = engine_weights(model, mc, state)
    for layer in model.layers:
        if layer.name in weights:
            expected = [tuple(w.shape) for w in layer.get_weights()]
            found = [tuple(w.shape) for w in weights[layer.name]]
            if expected != found:
                raise PyTorchExportError(
                    f"{path}: node {layer.name!r} has weights of shapes {found}, the project's "
                    f"graph wants {expected}"
                )
            layer.set_weights(weights[layer.name])
    logs = meta.get("logs") if isinstance(meta.get("logs"), dict) else {}
    return CheckpointImport(
        project=project,
        model=model,
        epoch=int(meta.get("epoch") or 0),
        logs=logs,
        history=_history(path.parent / "metrics.jsonl"),
    )


def record_run(result: CheckpointImport, project_path, checkpoint: Path):
    """File the checkpoint's run under the project's runs (``X.runs/``); its record."""
    from engine.io import save_model  # noqa: PLC0415
    from engine.runs import RunStore, runs_dir_for  # noqa: PLC0415

    training = result.project.training
    epochs = len(next(iter(result.history.values()), [])) or result.epoch
    store = RunStore(runs_dir_for(project_path))
    record = store.create(
        result.project.to_json(),
        seed=int(training.get("seed") or 0),
        batch_size=int(training.get("batch_size") or 32),
        epochs_planned=epochs,
        source="torchrun",
        name=f"PyTorch {checkpoint.parent.name}",
    )
    save_model(result.model, record.folder / "last.lcmodel")
    record.history = result.history
    record.final = {k: v[-1] for k, v in result.history.items() if v and v[-1] is not None}
    record.status = "finished"
    record.weights = {"last": "last.lcmodel", "best": None}
    record.note = f"trained with PyTorch; imported from {checkpoint.name}"
    store.save(record)
    return record
