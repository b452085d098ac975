"""Train the exported LayerCanvas model with PyTorch, on one process or many.

    python train.py                                   one process
    torchrun --nproc_per_node=2 train.py              2 processes on this machine (DDP)
    torchrun --nnodes=2 --nproc_per_node=4 --rdzv_backend=c10d \\
             --rdzv_endpoint=HOST:29500 train.py      several machines (see README.md)

The loss, optimizer, learning-rate schedule, batch size, epochs, metrics, early stopping
and checkpoints are the project's (training.json, written by LayerCanvas). The batch size
is the global one: each of N processes takes batch_size / N samples of every step
(DistributedSampler), and DistributedDataParallel averages their gradients, so a step
sees the same number of samples as in LayerCanvas. The backend is nccl when CUDA is
present, gloo otherwise.

Rank 0 writes, under --out (default runs/<date-time>):
  metrics.jsonl   one JSON object per epoch: {"epoch": 1, "loss": ..., "val_loss": ...}
  last.npz        the weights after the last epoch; best.npz those of the best epoch
                  (`layercanvas import last.npz --out PROJECT.lcproj` reads them back,
                  with this run's history)
"""

import argparse
import datetime
import json
import os
import random
import time
from pathlib import Path

import data
import model as model_module
import numpy as np
import torch
import torch.distributed as dist
from keras_parts import (
    EarlyStopping,
    ReduceLROnPlateau,
    make_loss,
    make_optimizer,
    metric_sums,
)
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Subset
from torch.utils.data.distributed import DistributedSampler

HERE = Path(__file__).resolve().parent
CONFIG = json.loads((HERE / "training.json").read_text(encoding="utf-8"))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=CONFIG["epochs"])
    p.add_argument("--batch-size", type=int, default=CONFIG["batch_size"], help="global batch")
    p.add_argument(
        "--data",
        type=Path,
        default=None,
        help="read the data from PATH instead (same format; see README.md)",
    )
    p.add_argument(
        "--labels",
        type=Path,
        default=None,
        help="the labels file, for data in two files (.npy pair, IDX)",
    )
    p.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="LayerCanvas's dataset cache, for Keras-style sets",
    )
    p.add_argument("--out", type=Path, default=None, help="where metrics and checkpoints go")
    p.add_argument("--weights", type=Path, default=HERE / "weights.npz", help="start weights")
    p.add_argument("--seed", type=int, default=CONFIG["seed"])
    return p.parse_args()


def setup_processes():
    """(rank, world size, device); one process without torchrun."""
    if "RANK" not in os.environ:
        return 0, 1, torch.device("cuda" if torch.cuda.is_available() else "cpu")
    cuda = torch.cuda.is_available()
    dist.init_process_group("nccl" if cuda else "gloo")
    rank = dist.get_rank()
    if cuda:
        local = int(os.environ.get("LOCAL_RANK", 0))
        torch.cuda.set_device(local)
        return rank, dist.get_world_size(), torch.device("cuda", local)
    return rank, dist.get_world_size(), torch.device("cpu")


def reduce_sums(sums, device):
    """Totals over every process (what one process alone would have counted)."""
    names = sorted(sums)
    values = torch.tensor([float(sums[k]) for k in names], dtype=torch.float64, device=device)
    if dist.is_initialized():
        dist.all_reduce(values)
    return dict(zip(names, values.tolist()))


def evaluate(net, loader, loss_fn, device, names, loss_name, activation):
    net.eval()
    sums = {"loss": 0.0, "count": 0.0}
    with torch.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            out = net(x, logits=True)
            sums["loss"] += float(loss_fn(out, y)) * len(x)
            sums["count"] += len(x)
            for k, v in metric_sums(names, loss_name, out, y, activation).items():
                sums[k] = sums.get(k, 0.0) + float(v)
    return sums


def main():
    args = parse_args()
    rank, world, device = setup_processes()
    torch.manual_seed(args.seed + rank)  # dropout masks differ per process, as they should
    random.seed(args.seed)
    if args.batch_size % world:
        raise SystemExit(f"--batch-size {args.batch_size} does not split over {world} processes")
    train_set, val_set = data.load(
        args.data, model_module.INPUT_DTYPES[0], labels=args.labels, cache_dir=args.cache_dir
    )
    net = model_module.load_weights(model_module.build_model(), args.weights).to(device)
    output = model_module.OUTPUTS[0]
    activation = model_module.OUTPUT_ACTIVATIONS.get(output)
    loss_name = CONFIG["loss"] if isinstance(CONFIG["loss"], str) else CONFIG["loss"]["name"]
    loss_fn = make_loss(CONFIG["loss"], activation)
    names = CONFIG["metrics"]
    ddp = DistributedDataParallel(net) if world > 1 else net
    optimizer = make_optimizer(net.parameters(), CONFIG["optimizer"], CONFIG.get("schedule"))
    sampler = DistributedSampler(
        train_set, num_replicas=world, rank=rank, shuffle=CONFIG["shuffle"], seed=args.seed
    )
    loader = DataLoader(train_set, batch_size=args.batch_size // world, sampler=sampler)
    val_loader = None
    if val_set is not None:
        # Every validation sample once (DistributedSampler would repeat some to even out).
        part = Subset(val_set, range(rank, len(val_set), world))
        val_loader = DataLoader(part, batch_size=args.batch_size // world)
    out = args.out or HERE / "runs" / datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.jsonl").write_text("", encoding="utf-8")
    callbacks = CONFIG.get("callbacks") or {}
    stopping = callbacks.get("early_stopping")
    stopping = EarlyStopping(**stopping) if stopping is not None else None
    reducing = callbacks.get("reduce_lr_on_plateau")
    reducing = ReduceLROnPlateau(**reducing) if reducing is not None else None
    monitor = "val_loss" if val_loader is not None else "loss"
    best_value = None
    for epoch in range(args.epochs):
        started = time.time()
        sampler.set_epoch(epoch)
        ddp.train()
        sums = {"loss": 0.0, "count": 0.0}
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad(set_to_none=True)
            out_values = ddp(x, logits=True)
            loss = loss_fn(out_values, y)
            loss.backward()
            optimizer.step()
            sums["loss"] += float(loss.detach()) * len(x)
            sums["count"] += len(x)
            for k, v in metric_sums(names, loss_name, out_values.detach(), y, activation).items():
                sums[k] = sums.get(k, 0.0) + float(v)
        totals = reduce_sums(sums, device)
        logs = {"epoch": epoch + 1}
        logs.update({k: v / totals["count"] for k, v in totals.items() if k != "count"})
        if val_loader is not None:
            val = reduce_sums(evaluate(net, val_loader, loss_fn, device, names, loss_name,
                                       activation), device)  # fmt: skip
            logs.update({f"val_{k}": v / val["count"] for k, v in val.items() if k != "count"})
        logs["learning_rate"] = optimizer.current_lr()
        logs["seconds"] = round(time.time() - started, 3)
        if reducing is not None:
            reducing.on_epoch_end(epoch, logs, optimizer)
        if rank == 0:
            with open(out / "metrics.jsonl", "a", encoding="utf-8") as f:
                f.write(json.dumps(logs) + "\n")
            print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in logs.items()), flush=True)  # fmt: skip
            save_checkpoint(net, out / "last.npz", logs)
            if best_value is None or logs[monitor] < best_value:
                best_value = logs[monitor]
                save_checkpoint(net, out / "best.npz", logs)
        # Every process sees the same (all-reduced) logs, so all stop together.
        if stopping is not None and stopping.on_epoch_end(epoch, logs, net):
            break
    if stopping is not None and stopping.best_weights is not None:
        stopping.on_train_end(net)
        if rank == 0:
            save_checkpoint(net, out / "last.npz", logs)
    if rank == 0:
        print(f"wrote {out / 'metrics.jsonl'}, {out / 'last.npz'} and {out / 'best.npz'}")
    if dist.is_initialized():
        # Every rank done (rank 0 has written its files) before teardown.
        if device.type == "cuda":
            dist.barrier(device_ids=[device.index])
        else:
            dist.barrier()
        dist.destroy_process_group()


def save_checkpoint(net, path, logs):
    """The state dict as .npz, with what LayerCanvas needs to read it back (the graph, this
    epoch's metrics) as a JSON string under "__layercanvas__"; no pickle anywhere."""
    meta = {
        "format": "layercanvas-pytorch-checkpoint",
        "version": 1,
        "epoch": logs["epoch"],
        "logs": logs,
        "model": json.loads((HERE / "model.json").read_text(encoding="utf-8")),
    }
    arrays = model_module.state_arrays(net)
    arrays["__layercanvas__"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)  # atomic: a crash never leaves half a checkpoint


if __name__ == "__main__":
    main()
