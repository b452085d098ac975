"""Training memory: what a model needs (weights, gradients, optimizer state and activations at
the batch size) against what this machine can give, and the diagnostic when it does not fit.

The compiler calls :func:`graph_estimate` and :func:`memory_diagnostics` after shape
inference, so ``layercanvas check``, the canvas and ``layercanvas train`` refuse a model that
cannot be built before anything is allocated. The estimate is Python-int arithmetic on the
inferred shapes (no overflow, no arrays). What it counts, in bytes:

- weights: every parameter as float32 (4 bytes);
- gradients: one float32 per trainable parameter;
- optimizer state: one float32 per trainable parameter per slot, read from the optimizer's
  own ``slot_names()`` (Adam and AdamW 2, 3 with amsgrad; RMSprop 1, more when centered or
  with momentum; SGD 1 with momentum, 0 without);
- activations: every node's output at the batch size, kept for the backward pass, the Input
  batch included (an int64 Input takes 8 bytes a value).

Temporaries of the backward pass and the dataset itself are not counted, so the estimate
errs low: a model it refuses certainly does not fit.

The limit (:func:`memory_limit`) is the smallest of: MemAvailable in ``/proc/meminfo``
(MemTotal, or ``os.sysconf`` where there is no ``/proc``), the memory.max of the cgroup the
process runs in, and the room an RLIMIT_AS leaves. The environment variable
``LAYERCANVAS_MEMORY_LIMIT`` replaces all of them: a size such as ``512M``, ``24G``,
``1.5GiB`` or a number of bytes, or ``off`` to skip the check.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from engine.graph.diagnostics import ERROR, WARNING, Diagnostic

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "ENV_LIMIT",
    "MemoryEstimate",
    "MemoryLimit",
    "NodeMemory",
    "estimate",
    "format_bytes",
    "graph_estimate",
    "memory_diagnostics",
    "memory_limit",
    "optimizer_slots",
    "parse_size",
]

FLOAT32_BYTES = 4
DEFAULT_BATCH_SIZE = 32  # the project default (engine.graph.session.DEFAULTS)
ENV_LIMIT = "LAYERCANVAS_MEMORY_LIMIT"
_ITEMSIZE = {"float32": 4, "float64": 8, "int32": 4, "int64": 8}
# Parameters that set a layer's width, in the order a fix names them.
_SIZE_PARAMS = ("units", "filters", "output_dim", "input_dim")


# -- the estimate --------------------------------------------------------------------------------


class NodeMemory(NamedTuple):
    """One node's share: its weights, the part of them that trains, one sample's output.
    (A tuple: a check builds one per node, and tuples are the cheapest to build.)"""

    node_id: str
    weight_bytes: int
    trainable_bytes: int
    output_bytes: int


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a training step needs, by kind and by node (see the module doc)."""

    batch_size: int
    optimizer: str  # the optimizer's class name: "Adam", "SGD", ...
    slots: int  # optimizer state arrays per trainable weight
    nodes: tuple[NodeMemory, ...]
    weights: int
    gradients: int
    optimizer_state: int
    activations: int

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.optimizer_state + self.activations

    def node_bytes(self, node: NodeMemory) -> int:
        """Everything one node adds: weights, their gradients and state, its outputs."""
        trains = node.trainable_bytes * (1 + self.slots)
        return node.weight_bytes + trains + self.batch_size * node.output_bytes

    def largest(self) -> NodeMemory | None:
        """The node that contributes the most (the first of equals)."""
        return max(self.nodes, key=self.node_bytes, default=None)

    def parts(self) -> list[tuple[str, int]]:
        """``[("weights", n), ("gradients", n), ("Adam state", n), ("activations", n)]``;
        an optimizer without state (plain SGD) has no part."""
        parts = [("weights", self.weights), ("gradients", self.gradients)]
        if self.slots:
            parts.append((f"{self.optimizer} state", self.optimizer_state))
        parts.append(("activations", self.activations))
        return parts

    def summary_line(self) -> str:
        """``Estimated training memory at batch 32 with Adam: 1.2 MiB (weights 0.3,
        gradients 0.3, Adam state 0.6, activations 0.1)``: the parts in the total's unit."""
        total = self.total
        unit, scale = _unit(total)
        parts = ", ".join(
            f"{label} {value}" if scale == 1 else f"{label} {value / scale:.1f}"
            for label, value in self.parts()
        )
        return (
            f"Estimated training memory at batch {self.batch_size} with {self.optimizer}: "
            f"{format_bytes(total)} ({parts})"
        )


def estimate(
    nodes: Iterable[NodeMemory], batch_size: int, optimizer: str, slots: int
) -> MemoryEstimate:
    """Add up the nodes' shares for one training step at ``batch_size``."""
    nodes = tuple(nodes)
    gradients = sum(n.trainable_bytes for n in nodes)
    return MemoryEstimate(
        batch_size=batch_size,
        optimizer=optimizer,
        slots=slots,
        nodes=nodes,
        weights=sum(n.weight_bytes for n in nodes),
        gradients=gradients,
        optimizer_state=slots * gradients,
        activations=batch_size * sum(n.output_bytes for n in nodes),
    )


def optimizer_slots(config: Any = None) -> tuple[str, int]:
    """The optimizer's class name and how many state arrays it keeps per weight, from a
    project's ``training.optimizer`` (a name or a dict); Adam when it is missing or wrong."""
    from engine import optimizers  # noqa: PLC0415 - numpy only when a graph is checked

    try:
        optimizer = optimizers.get(config if config is not None else "adam")
    except Exception:  # a bad optimizer has its own diagnostic; the estimate assumes Adam
        optimizer = optimizers.Adam()
    return type(optimizer).__name__, len(optimizer.slot_names())


def _batch_size(training: Mapping[str, Any]) -> int:
    value = training.get("batch_size", DEFAULT_BATCH_SIZE)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return DEFAULT_BATCH_SIZE  # a bad batch size has its own diagnostic
    return value


def graph_estimate(reports, order, inputs, nodes, training=None) -> MemoryEstimate:
    """The estimate for a checked graph: ``reports`` (node id -> ``NodeReport``) of the
    runnable nodes in ``order``; ``inputs`` the Input ids that feed the model (an unused Input
    is not part of it); ``nodes`` the document's nodes by id; ``training`` a project's
    training settings (batch size and optimizer), the project defaults when ``None``."""
    training = training if isinstance(training, Mapping) else {}
    used_inputs = set(inputs)
    shares = []
    for node_id in order:
        report, node = reports[node_id], nodes[node_id]
        if report.output_shape is None or (node.type == "Input" and node_id not in used_inputs):
            continue
        itemsize = FLOAT32_BYTES
        if node.type == "Input":
            itemsize = _ITEMSIZE.get(node.params.get("dtype"), FLOAT32_BYTES)
        params = report.param_count or 0
        trainable = report.trainable_count if report.trainable_count is not None else params
        shares.append(
            NodeMemory(
                node_id,
                params * FLOAT32_BYTES,
                trainable * FLOAT32_BYTES,
                math.prod(report.output_shape) * itemsize,
            )
        )
    name, slots = optimizer_slots(training.get("optimizer"))
    return estimate(shares, _batch_size(training), name, slots)


# -- the diagnostic ------------------------------------------------------------------------------


def memory_diagnostics(est: MemoryEstimate, limit: MemoryLimit, nodes, reports) -> list:
    """An error on the node that contributes the most when ``est`` does not fit ``limit``
    (``nodes``: the document's nodes by id; ``reports``: their ``NodeReport``), and a warning
    when ``LAYERCANVAS_MEMORY_LIMIT`` is not a size."""
    found = []
    if limit.problem is not None:
        found.append(
            Diagnostic(WARNING, "memory", limit.problem, f"unset {ENV_LIMIT} or correct it")
        )
    top = est.largest()
    if limit.bytes is None or est.total <= limit.bytes or top is None:
        return found
    activations = est.batch_size * top.output_bytes
    node, report = nodes[top.node_id], reports[top.node_id]
    if activations > est.node_bytes(top) - activations:
        fix, param = _activations_fix(node, report, est.batch_size)
    else:
        fix, param = _weights_fix(node, report)
    stored = est.total - est.activations
    mostly = (
        "activations (the layers' outputs, kept for the backward pass)"
        if est.activations > stored
        else "its weights, gradients" + (f" and {est.optimizer} state" if est.slots else "")
    )
    breakdown = ", ".join(f"{label} {format_bytes(value)}" for label, value in est.parts())
    error = Diagnostic(
        ERROR,
        "memory",
        f"this model needs {format_bytes(est.total)} to train at batch {est.batch_size} "
        f"({breakdown}), mostly for {mostly}; {limit.source}",
        f"{fix} ({node.id} alone needs {format_bytes(est.node_bytes(top))})",
        (node.id,),
        param=param,
    )
    return [*found, error]


def _weights_fix(node, report) -> tuple[str, str | None]:
    sizes = [p for p in _SIZE_PARAMS if _positive_int(node.params.get(p))]
    if len(sizes) > 1:  # Embedding: input_dim x output_dim, name the larger
        sizes.sort(key=lambda p: -node.params[p])
        return f"reduce {' or '.join(sizes)} in {node.id}", sizes[0]
    params = report.param_count or 0
    if sizes:
        value = node.params[sizes[0]]
        if value * 2 >= params // value:  # the width is (about) the larger factor
            return f"reduce {sizes[0]} in {node.id}", sizes[0]
    if report.input_shapes:
        largest = max(report.input_shapes, key=math.prod)
        return (
            f"make the input of {node.id} smaller: it receives {math.prod(largest):,} values "
            "per sample (downsample or pool before it, or shrink the Input shape)",
            None,
        )
    return f"make {node.id} smaller", None


def _activations_fix(node, report, batch_size: int) -> tuple[str, str | None]:
    if node.type == "Input":
        return f"reduce the batch size ({batch_size}) or the shape of Input '{node.id}'", "shape"
    shape = ", ".join(map(str, report.output_shape or ()))
    return (
        f"reduce the batch size ({batch_size}) or the size of the output of {node.id} ({shape})",
        None,
    )


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


# -- sizes ---------------------------------------------------------------------------------------

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def _unit(n_bytes: int) -> tuple[str, int]:
    for power, unit in enumerate(_UNITS):
        if n_bytes < 1024 ** (power + 1) or unit == _UNITS[-1]:
            return unit, 1024**power
    raise AssertionError("unreachable")


def format_bytes(n_bytes: int) -> str:
    """``512 B``, ``1.2 MiB``, ``149.0 GiB`` (base 1024)."""
    unit, scale = _unit(n_bytes)
    return f"{n_bytes} B" if scale == 1 else f"{n_bytes / scale:.1f} {unit}"


_SIZE = re.compile(r"(\d{1,15}(?:\.\d{1,6})?)\s*([kmgtp]?)(?:i?b)?", re.IGNORECASE)


def parse_size(text: str) -> int | None:
    """Bytes from ``"1048576"``, ``"512M"``, ``"24G"``, ``"1.5GiB"``, ``"2 TB"`` (units are
    powers of 1024); ``None`` when the text is not such a size."""
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        return None
    number, unit = match.groups()
    scale = 1024 ** "_kmgtp".index(unit.lower() or "_")
    whole, _, fraction = number.partition(".")
    # Integer arithmetic: a fraction of a unit is exact, and no float rounds a byte count.
    return (int(whole) * scale) + (int(fraction or "0") * scale) // 10 ** len(fraction)


# -- the limit -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemoryLimit:
    """How many bytes a model may need, and where that figure comes from, in words that
    finish "this model needs X, but ..." (``bytes`` is ``None``: no limit, skip the check)."""

    bytes: int | None
    source: str
    problem: str | None = None  # LAYERCANVAS_MEMORY_LIMIT is set but not a size


def memory_limit(environ: Mapping[str, str] | None = None) -> MemoryLimit:
    """The limit from ``LAYERCANVAS_MEMORY_LIMIT`` when it is set, else from the machine."""
    environ = os.environ if environ is None else environ
    text = environ.get(ENV_LIMIT, "").strip()
    problem = None
    if text:
        if text.lower() in ("off", "none", "unlimited"):
            return MemoryLimit(None, f"{ENV_LIMIT} is {text}")
        size = parse_size(text)
        if size is not None:
            return MemoryLimit(size, f"{ENV_LIMIT} allows {format_bytes(size)}")
        problem = (
            f"{ENV_LIMIT}={text[:40]!r} is not a size such as 512M, 24G or 1.5GiB, so the "
            "memory check uses this machine's memory"
        )
    size, source = _machine_limit()
    return MemoryLimit(size, source, problem)


_probed: list = [-1.0, None, ""]  # when, bytes, words: the machine's limit, probed again after
_PROBE_SECONDS = 1.0  # a second (the canvas re-checks on every edit; /proc reads take ~0.1 ms)


def _machine_limit() -> tuple[int | None, str]:
    now = time.monotonic()
    if now - _probed[0] < _PROBE_SECONDS:
        return _probed[1], _probed[2]
    found = [
        (_system_available(), "this machine has {} available"),
        (_cgroup_room(), "this process's cgroup memory limit leaves {}"),
        (_address_space_room(), "this process's address-space limit (RLIMIT_AS) leaves {}"),
    ]
    known = [(size, words) for size, words in found if size is not None]
    if known:
        size, words = min(known, key=lambda item: item[0])
        _probed[:] = [now, size, words.format(format_bytes(size))]
    else:
        _probed[:] = [now, None, "this machine's memory is unknown"]
    return _probed[1], _probed[2]


def _read_small(path: str) -> str | None:
    """A small kernel file's text (bounded: these files are a few KiB), or ``None``."""
    try:
        with open(path, encoding="ascii", errors="replace") as file:
            return file.read(1 << 16)
    except OSError:
        return None


def _proc_field(text: str | None, name: str) -> int | None:
    """``MemAvailable:  24314876 kB`` -> bytes."""
    for line in (text or "").splitlines():
        key, _, value = line.partition(":")
        if key == name:
            parts = value.split()
            if parts and parts[0].isdigit():
                return int(parts[0]) * (1024 if parts[1:] == ["kB"] else 1)
    return None


def _system_available() -> int | None:
    meminfo = _read_small("/proc/meminfo")
    for name in ("MemAvailable", "MemTotal"):
        size = _proc_field(meminfo, name)
        if size is not None:
            return size
    for name in ("SC_AVPHYS_PAGES", "SC_PHYS_PAGES"):
        try:
            pages, page = os.sysconf(name), os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            continue
        if pages > 0 and page > 0:
            return pages * page
    return None


def _cgroup_room() -> int | None:
    """memory.max minus memory.current of this process's cgroup (v2), where one is set."""
    own = _read_small("/proc/self/cgroup") or ""
    paths = [line[3:] for line in own.splitlines() if line.startswith("0::")]
    for base in [f"/sys/fs/cgroup{p.rstrip('/')}" for p in paths] + ["/sys/fs/cgroup"]:
        limit = (_read_small(f"{base}/memory.max") or "").strip()
        if limit.isdigit():
            used = (_read_small(f"{base}/memory.current") or "").strip()
            return max(0, int(limit) - (int(used) if used.isdigit() else 0))
    return None


def _address_space_room() -> int | None:
    try:
        import resource  # noqa: PLC0415 - Unix only
    except ImportError:
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY or soft < 0:
        return None
    used = _proc_field(_read_small("/proc/self/status"), "VmSize") or 0
    return max(0, soft - used)
