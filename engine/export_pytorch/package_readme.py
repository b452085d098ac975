"""``README.md`` of a PyTorch package: what is in it and how to run it on one machine, on
several processes and on several machines."""

from __future__ import annotations

__all__ = ["package_readme"]


def package_readme(name: str, training: dict, notes: list[str]) -> str:
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
        "| `data.py`, `data.npz` | the project's data, split and normalised as in LayerCanvas |",
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
        "python train.py --epochs 5 --data my_data.npz --out runs/try1",
        "```",
        "",
        "With CUDA the processes use NCCL, one GPU each; without, gloo on the CPU. The batch",
        "size is global: with N processes each takes batch_size / N samples per step, and",
        "DistributedDataParallel averages the gradients. BatchNormalization statistics are",
        "per process (as with any DDP model without SyncBatchNorm).",
        "",
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
