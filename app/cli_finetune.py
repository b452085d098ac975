"""``layercanvas finetune``: the transfer-learning edits of the app, on a project file.

::

    layercanvas finetune resnet.lcproj --freeze-up-to flatten --replace-head fc \\
        --classes 4 --images photos/ --out photos.lcproj

freezes ``flatten`` and every layer before it, replaces the head ``fc`` by
``Dense(4, softmax)`` (``--classes`` defaults to the class folders of ``--images``), and,
with ``--images``, sets the project's dataset to that image folder, resized to the model's
input and normalised with the mean/std ``layercanvas import`` recorded (or ``--mean``/
``--std``). The same plans as the app's Edit menu (:mod:`app.transfer_edits`); the file is
written atomically, and any refusal is one line, exit 1, with nothing written.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from app.cli_common import EXIT_INVALID, EXIT_OK, fail

__all__ = ["add_finetune_command", "complete_mean_std"]


def add_finetune_command(subparsers) -> None:
    p = subparsers.add_parser(
        "finetune",
        help="freeze a backbone, replace the head, point the project at an image folder",
        description="Transfer learning on a project (e.g. one made by 'layercanvas import'): "
        "freeze the layers up to one, replace the head by Dense(N, softmax), and train on an "
        "image folder (class_name/*.png|jpg).",
    )
    p.add_argument("project", metavar="PROJECT", help="the .lcproj to edit")
    p.add_argument(
        "--freeze-up-to",
        metavar="NODE",
        action="append",
        default=[],
        help="freeze NODE and every layer before it (repeatable)",
    )
    p.add_argument("--unfreeze-all", action="store_true", help="make every layer trainable first")
    p.add_argument(
        "--replace-head",
        metavar="NODE[,NODE]",
        help="the head layer(s) to remove; a new Dense(N, softmax) takes their place",
    )
    p.add_argument("--classes", type=int, metavar="N", help="units of the new head")
    p.add_argument("--images", metavar="FOLDER", help="train on this image folder")
    p.add_argument("--mean", metavar="M1,M2,M3", help="per-channel mean (after scaling to [0, 1])")
    p.add_argument("--std", metavar="S1,S2,S3", help="per-channel standard deviation")
    p.add_argument(
        "--validation-split",
        type=float,
        default=0.2,
        metavar="F",
        help="fraction of the images held out for validation (default 0.2)",
    )
    p.add_argument(
        "--out", type=Path, metavar="OUT.lcproj", help="write here instead of over PROJECT"
    )
    p.set_defaults(run=run_finetune)  # fmt: skip


def _fail(message: str) -> int:
    fail(message)
    return EXIT_INVALID


def _images_dataset(args, project, base: Path) -> dict:
    """The project's new "images" dataset settings (ValueError for bad mean/std)."""
    from engine.onnx.input_preprocessing import (  # noqa: PLC0415
        ImagePreprocessing,
        parse_numbers,
    )

    inputs = [n for n in project.graph.nodes if n.type == "Input"]
    shape = inputs[0].params.get("shape") if len(inputs) == 1 else None
    if not isinstance(shape, list) or len(shape) != 3:
        raise ValueError(f"the model's input is not an image (C, H, W): shape {shape}")
    old = project.dataset if isinstance(project.dataset, dict) else {}
    mean, std = old.get("mean"), old.get("std")  # what 'import' recorded
    if args.mean is not None:
        mean = parse_numbers(args.mean, "mean", shape[0])
    if args.std is not None:
        std = parse_numbers(args.std, "std", shape[0])
    pre = ImagePreprocessing(shape[0], shape[1:], mean, std)
    complete_mean_std(pre)
    folder = Path(args.images).resolve()
    try:
        path = os.path.relpath(folder, base)
    except ValueError:  # another drive (Windows)
        path = str(folder)
    return pre.dataset(path, validation_split=args.validation_split, seed=0)


def complete_mean_std(pre) -> None:
    """Unknown mean/std: ImageNet's for a large RGB input (said on stderr), else none."""
    from engine.onnx.input_preprocessing import suggested  # noqa: PLC0415

    if pre.mean is not None and pre.std is not None:
        return
    guess = suggested(pre)
    if guess is not None:
        pre.mean, pre.std = guess
        print(
            f"note: the model does not record its input mean/std; using ImageNet's "
            f"(mean {pre.mean}, std {pre.std}); pass --mean/--std if it was trained otherwise",
            file=sys.stderr,
        )
    else:
        print(
            "note: the model does not record its input mean/std; pixels stay in [0, 1] "
            "(pass --mean/--std to normalise them as the model expects)",
            file=sys.stderr,
        )


def _relative(path: str, source_dir: Path, out_dir: Path) -> str:
    if Path(path).is_absolute():
        return path
    try:
        return os.path.relpath(source_dir / path, out_dir)
    except ValueError:  # another drive (Windows)
        return str(source_dir / path)


def _rebase(project, source_dir: Path, out_dir: Path) -> None:
    """Keep the weights and data paths pointing at their files from ``out_dir``."""
    if project.weights:
        project.weights = _relative(project.weights, source_dir, out_dir)
    dataset = project.dataset if isinstance(project.dataset, dict) else {}
    for key in ("path", "images", "labels"):
        if isinstance(dataset.get(key), str):
            dataset[key] = _relative(dataset[key], source_dir, out_dir)


def run_finetune(args: argparse.Namespace) -> int:
    from app.transfer_edits import (  # noqa: PLC0415
        TransferEditError,
        apply_head_plan,
        classification_training,
        freeze_changes,
        head_plan,
        known_class_count,
        unfreeze_changes,
    )
    from engine.graph.project import load_project  # noqa: PLC0415

    project = load_project(args.project)
    graph = project.graph
    out = Path(args.out) if args.out else Path(args.project)
    if out.suffix.lower() != ".lcproj":
        return _fail(f"{out}: the project file must end in .lcproj")
    source_dir, out_dir = Path(args.project).resolve().parent, out.resolve().parent
    if source_dir != out_dir:
        _rebase(project, source_dir, out_dir)  # relative paths start at the project's folder
    try:
        done = []
        if args.images is not None:
            project.dataset = _images_dataset(args, project, out_dir)
            done.append(f"dataset: {project.dataset['path']}")
        if args.unfreeze_all:
            for node_id, params in unfreeze_changes(graph).items():
                graph.set_params(node_id, params)
        if args.replace_head:
            units = args.classes or known_class_count(project.dataset, out_dir)
            if units is None:
                return _fail("--replace-head needs --classes N (or --images with class folders)")
            plan = head_plan(graph, [s for s in args.replace_head.split(",") if s], units)
            apply_head_plan(graph, plan)
            done.append(f"new head '{plan.new_id}': Dense({units}, softmax)")
            training = classification_training(project.training)
            if training is not None:
                project.training = training
                done.append(f"loss: {training['loss']}")
        if args.freeze_up_to:
            changes = freeze_changes(graph, args.freeze_up_to)
            for node_id, params in changes.items():
                graph.set_params(node_id, params)
            done.append(f"froze {len(changes)} layers up to {', '.join(args.freeze_up_to)}")
    except (TransferEditError, ValueError) as err:
        return _fail(f"{args.project}: {err}")
    project.save(out)  # atomic
    print(f"wrote {out}: " + ("; ".join(done) or "nothing changed"), file=sys.stdout)
    return EXIT_OK


def imported_dataset(args, model, metadata, out: Path) -> dict:
    """``layercanvas import``: the dataset of the new project. With ``--images``, that folder
    resized and normalised as the model expects (mean/std from the file's metadata, else
    ``--mean``/``--std``, else ImageNet's for a large RGB input); else none (say what the
    model expects, so the user can pass it to ``finetune``)."""
    from engine.onnx.input_preprocessing import parse_numbers, preprocessing_of  # noqa: PLC0415

    shape = tuple(model.inputs[0].shape) if len(model.inputs) == 1 else ()
    pre = preprocessing_of(shape, metadata)
    given = [getattr(args, "images", None), getattr(args, "mean", None), getattr(args, "std", None)]
    if pre is None:
        if any(given):
            raise ValueError(f"--images/--mean/--std need an image input (C, H, W), not {shape}")
        return {}
    if args.mean is not None:
        pre.mean = parse_numbers(args.mean, "mean", pre.channels)
    if args.std is not None:
        pre.std = parse_numbers(args.std, "std", pre.channels)
    if args.images is None:
        print(f"the model {pre.describe()} (from {pre.source})", file=sys.stderr)
        return {}
    complete_mean_std(pre)
    folder = Path(args.images).resolve()
    return pre.dataset(os.path.relpath(folder, out.resolve().parent), validation_split=0.2, seed=0)
