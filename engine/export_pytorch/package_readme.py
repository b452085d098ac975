"""``README.md`` of a PyTorch package: what is in it and how to run it on one machine, on
several processes and on several machines."""

from __future__ import annotations

__all__ = ["package_readme"]


def package_readme(name: str, training: dict, notes: list[str], data=None) -> str:
    """``data`` is the :class:`~engine.export_pytorch.data_export.PackageData` written."""
    opt = training["optimizer"]
    lines = [
        f"# {name}: PyTorch training package",
        "",
        "Written by LayerCanvas (`layercanvas export --pytorch`). It needs only PyTorch and",
        "NumPy: `pip install -r requirements.txt`.",
        "",
        "| file | what it is |",
        "|---|---|",
        "| `model.py` | the canvas graph as an `nn.Module`, one attribute per node |",
        "| `train.py` | the training loop (DistributedDataParallel under torchrun) |",
        "| `keras_parts.py` | loss, metrics and optimizer with Keras's (LayerCanvas's) formulas |",
        "| `data.py`, `data_sources.py`, `keras_sets.py` | read the project's data (see Data) |",
        "| `data.json` | where the data comes from, and the preprocessing LayerCanvas fitted |",
        "| `split.npz` or `data.npz` | the training / validation split, or the prepared arrays |",
        "| `weights.npz` | the weights training starts from (a state dict, no pickle) |",
        "| `model.json`, `training.json` | the project and its training settings |",
        "",
        f"Settings: loss `{training['loss']}`, optimizer `{opt['name']}`, "
        f"batch size {training['batch_size']} (global), {training['epochs']} epochs, "
        f"metrics {', '.join(training['metrics']) or 'none'}"
        + (", a learning-rate schedule tabulated per step" if training.get("schedule") else "")
        + ".",
        "",
    ]
    lines += [f"Note: {note}." for note in notes]
    lines += [
        "",
        "## Run",
        "",
        "```",
        "python train.py                                   # one process",
        "torchrun --nproc_per_node=2 train.py              # two processes on this machine",
        "python train.py --epochs 5 --out runs/try1",
        *_override_lines(data),
        "```",
        "",
        "With CUDA the processes use NCCL, one GPU each; without, gloo on the CPU. The batch",
        "size is global: with N processes each takes batch_size / N samples per step, and",
        "DistributedDataParallel averages the gradients. BatchNormalization statistics are",
        "per process (as with any DDP model without SyncBatchNorm).",
        "",
        *_data_section(data),
        "## Several machines",
        "",
        "Run the same command on every machine (the package copied to each, same data),",
        "naming one of them as the rendezvous point:",
        "",
        "```",
        "torchrun --nnodes=2 --nproc_per_node=4 --rdzv_backend=c10d \\",
        "         --rdzv_id=job1 --rdzv_endpoint=HOST:29500 train.py",
        "```",
        "",
        "`--nnodes` is the number of machines, `--nproc_per_node` the processes on each",
        "(usually its GPU count), `HOST:29500` an address and free port of the first machine",
        "that all of them reach. Only rank 0 writes files.",
        "",
        "## Results",
        "",
        "Each run writes, under `--out` (default `runs/<date-time>/`), `metrics.jsonl` (one",
        "JSON object per epoch) and the checkpoints `last.npz` and `best.npz`. Bring one back",
        "into LayerCanvas, with the run's history:",
        "",
        "```",
        "layercanvas import runs/<date-time>/best.npz --out trained.lcproj",
        "```",
        "",
    ]
    return "\n".join(lines)


_KINDS = {
    "keras": [
        "A Keras-style set, read from LayerCanvas's dataset cache: `--cache-dir DIR` when given,",
        "else `$LAYERCANVAS_CACHE_DIR`, else `~/.cache/layercanvas/datasets`, each set's original",
        "archives in `<cache>/<set>/` (`layercanvas datasets download NAME` puts them there; on",
        "another machine copy that folder, or the archives from their official sources).",
        "`--data FOLDER` reads the archives from FOLDER instead.",
    ],
    "files": [
        "The project's own file(s), at the path(s) in `data.json` (relative to this folder, as",
        "they were seen from here at export). `--data PATH` reads another file (or image",
        "folder) in the same format and layout instead, `--labels PATH` the labels file of a",
        "two-file format (a `.npy` pair, IDX). The category encodings, the vocabulary of a",
        "text column, the class list and the normalisation stay the ones LayerCanvas fitted,",
        "so a model trained here takes inputs the same way.",
    ],
    "snapshot": [
        "Whatever the source, `--data PATH` to an `.npz` holding `x_train`, `y_train`, `x_val`",
        "and `y_val` (the layout of a `data.npz`) takes those arrays as they are: already",
        "split and preprocessed (inputs channels first).",
    ],
    "builtin": [
        "`data.npz`: the arrays LayerCanvas prepared (`x_train`, `y_train`, `x_val`, `y_val`,",
        "already split and normalised; a built-in set has no file of its own). `--data PATH`",
        "reads another `.npz` with those keys and shapes (inputs channels first).",
    ],
}


def _data_section(data) -> list[str]:
    lines = ["## Data", ""]
    if data is not None:
        lines += [f"This package reads {data.description}.", ""]
        lines += _KINDS[data.kind] + [""]
        if data.kind != "builtin":
            lines += _KINDS["snapshot"] + [""]
        if data.reason is not None:
            lines += [
                f"**Snapshot, not the source:** {data.reason}. To train on changed data,",
                "export the project again.",
                "",
            ]
    lines += [
        "`split.npz` holds the indices LayerCanvas put in the training and the validation",
        "split, and data.json the preprocessing it fitted (pixel scaling, normalisation",
        "statistics of the training split): `data.py` applies both, as each batch is built,",
        "so 8-bit images stay 8-bit in memory. Data with a different number of samples is",
        "split afresh with the project's settings (seed, shares, stratification). A missing",
        "file stops the run with a message naming it. Nothing is ever unpickled.",
        "",
    ]
    return lines


def _override_lines(data) -> list[str]:
    """Run examples of the data overrides that apply to this package's source."""
    kind = "builtin" if data is None else data.kind
    if kind == "keras":
        return ["python train.py --cache-dir /shared/datasets      # the sets' cache (see Data)"]
    if kind == "files":
        return ["python train.py --data PATH                       # other data, same format"]
    return ["python train.py --data my_data.npz                # other arrays (see Data)"]
