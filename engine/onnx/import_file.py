"""Reading an ONNX file safely, before anything in it is interpreted.

Nothing here executes anything from the file: it is parsed as protobuf data and checked.
Every limit is enforced from the declared sizes *before* the bytes are read, so a hostile
or broken file is refused cheaply and with one clear message:

- a path that is not a regular file (a folder, a device such as ``/dev/zero``, a FIFO), or
  a file over :data:`MAX_FILE_BYTES` (refused from ``stat()``, and the read itself is
  bounded, see :func:`engine.safe_files.read_bounded`);
- a file that does not parse (corrupt, truncated, not ONNX at all);
- a default-domain opset outside what the importer understands;
- a tensor larger than :data:`MAX_TENSOR_BYTES` (512 MiB, from its dims, before loading),
  or more than :data:`MAX_TOTAL_BYTES` (2 GiB) of tensors altogether (the limits on what the
  import then computes are in :mod:`engine.onnx.import_limits`);
- external data whose location is not a plain relative name inside the model's folder
  (absolute paths, ``..``, links leading elsewhere), that is missing or not a regular file,
  or that is shorter than the tensor it claims to hold;
- sparse initializers.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from engine.onnx.import_errors import OnnxImportError
from engine.onnx.import_limits import MAX_RANK, MAX_TENSOR_BYTES, MAX_TOTAL_BYTES, size_text
from engine.safe_files import read_bounded, regular_file_problem

MIN_OPSET = 9
MAX_OPSET = 21
MAX_FILE_BYTES = 2 * 1024**3  # protobuf cannot hold more in one message
DEFAULT_DOMAINS = ("", "ai.onnx")


def read_model(source) -> onnx.ModelProto:
    """Parse ``source`` (a path, ``bytes`` or a ``ModelProto``) and check it; external data
    is loaded only from inside the model's own folder. Raises :class:`OnnxImportError`."""
    base_dir: Path | None = None
    if isinstance(source, onnx.ModelProto):
        proto = onnx.ModelProto()
        proto.CopyFrom(source)  # never modify the caller's model
    elif isinstance(source, bytes | bytearray):
        proto = _parse(bytes(source), "the ONNX data")
    else:
        path = Path(source)
        data = read_bounded(
            path,
            MAX_FILE_BYTES,
            lambda problem: OnnxImportError(f"{path}: {problem}"),
            "model file",
        )
        proto = _parse(data, str(path))
        base_dir = path.resolve().parent
    check_opset(proto)
    check_tensors(proto, base_dir)
    load_external_data(proto, base_dir)
    try:
        onnx.checker.check_model(proto)
    except Exception as exc:  # ValidationError, or a C++ error surfaced as another type
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise OnnxImportError(f"this is not a valid ONNX model: {first}") from None
    return proto


def _parse(data: bytes, what: str) -> onnx.ModelProto:
    proto = onnx.ModelProto()
    try:
        proto.ParseFromString(data)
    except Exception as exc:
        raise OnnxImportError(
            f"{what} is not a readable ONNX model (corrupt or truncated?): {exc}"
        ) from None
    if not proto.HasField("graph") or proto.ir_version <= 0:
        # An empty or cut-short file can still parse as an (empty) protobuf message.
        raise OnnxImportError(
            f"{what} is not a readable ONNX model (corrupt or truncated?): it has no "
            "graph or no IR version"
        )
    return proto


def default_opset(proto: onnx.ModelProto) -> int | None:
    versions = [o.version for o in proto.opset_import if o.domain in DEFAULT_DOMAINS]
    return max(versions) if versions else None


def check_opset(proto: onnx.ModelProto) -> int:
    opset = default_opset(proto)
    if opset is None:
        raise OnnxImportError("the model declares no opset for the standard ONNX operators")
    if opset > MAX_OPSET:
        raise OnnxImportError(
            f"the model uses opset {opset}, newer than LayerCanvas reads ({MIN_OPSET} to "
            f"{MAX_OPSET}): export it again with opset {MAX_OPSET} or lower (or convert it "
            f"with onnx.version_converter.convert_version(model, {MAX_OPSET}))"
        )
    if opset < MIN_OPSET:
        raise OnnxImportError(
            f"the model uses opset {opset}, older than LayerCanvas reads ({MIN_OPSET} to "
            f"{MAX_OPSET}): convert it with onnx.version_converter.convert_version(model, 17)"
        )
    return opset


# -- tensors --------------------------------------------------------------------------------


def all_tensors(graph: onnx.GraphProto) -> Iterator[tuple[str, TensorProto]]:
    """Every tensor stored in ``graph``: initializers and attribute values, subgraphs too."""
    for tensor in graph.initializer:
        yield f"initializer {tensor.name!r}", tensor
    for node in graph.node:
        for attr in node.attribute:
            where = f"attribute {attr.name!r} of node {node.name or node.op_type!r}"
            if attr.HasField("t"):
                yield where, attr.t
            for tensor in attr.tensors:
                yield where, tensor
            if attr.HasField("g"):
                yield from all_tensors(attr.g)
            for sub in attr.graphs:
                yield from all_tensors(sub)


def declared_bytes(tensor: TensorProto) -> int:
    """The size the tensor's dims and type announce, without reading its data."""
    if tensor.data_type == TensorProto.STRING:
        return sum(len(s) for s in tensor.string_data)
    try:
        itemsize = helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize
    except Exception:
        itemsize = 8
    return math.prod(int(d) for d in tensor.dims) * max(itemsize, 1)


def check_tensors(proto: onnx.ModelProto, base_dir: Path | None) -> None:
    graph = proto.graph
    if len(graph.sparse_initializer):
        raise OnnxImportError("the model stores sparse initializers, which are not supported")
    total = 0
    for where, tensor in all_tensors(graph):
        if len(tensor.dims) > MAX_RANK:
            raise OnnxImportError(
                f"{where} has {len(tensor.dims)} dimensions; LayerCanvas reads at most {MAX_RANK}"
            )
        if any(d < 0 for d in tensor.dims):
            raise OnnxImportError(f"{where} has a negative dimension {list(tensor.dims)}")
        size = declared_bytes(tensor)
        if size > MAX_TENSOR_BYTES:
            raise OnnxImportError(
                f"{where} declares shape {list(tensor.dims)}, {size_text(size)}; LayerCanvas "
                f"refuses tensors over {MAX_TENSOR_BYTES // 1024**2} MiB"
            )
        total += size
        if total > MAX_TOTAL_BYTES:
            raise OnnxImportError(
                f"the model's tensors exceed {MAX_TOTAL_BYTES // 1024**3} GiB altogether"
            )
        if tensor.data_location == TensorProto.EXTERNAL:
            _external_file(where, tensor, base_dir)


def _external_info(tensor: TensorProto) -> dict[str, str]:
    return {entry.key: entry.value for entry in tensor.external_data}


def _external_file(where: str, tensor: TensorProto, base_dir: Path | None) -> Path:
    """The checked file behind an external tensor: a plain name inside the model's folder."""
    info = _external_info(tensor)
    location = info.get("location", "")
    if base_dir is None:
        raise OnnxImportError(
            f"{where} keeps its data in an external file ({location!r}); open the model from "
            "its file so the data can be found beside it"
        )
    parts = Path(location).parts
    if (
        not location
        or Path(location).is_absolute()
        or os.path.isabs(location)
        or ":" in location
        or "\\" in location
        or any(part in ("..", "") for part in parts)
    ):
        raise OnnxImportError(
            f"{where} points to external data {location!r} outside the model's folder; "
            "external data must be a file name inside the folder of the .onnx file"
        )
    path = (base_dir / location).resolve()
    if not path.is_relative_to(base_dir):
        raise OnnxImportError(
            f"{where} points to external data {location!r}, which leads outside the model's folder"
        )
    problem = regular_file_problem(path)
    if problem is not None:
        problem = "is missing" if problem.startswith("file not found") else problem
        raise OnnxImportError(f"{where}: external data file {location!r} {problem}")
    try:
        offset = int(info.get("offset", 0))
        length = int(info["length"]) if "length" in info else path.stat().st_size - offset
    except ValueError:
        raise OnnxImportError(f"{where}: external data offset/length are not numbers") from None
    if offset < 0 or length < 0 or offset + length > path.stat().st_size:
        raise OnnxImportError(
            f"{where}: external data file {location!r} is shorter than the tensor it holds"
        )
    if length != declared_bytes(tensor):
        raise OnnxImportError(
            f"{where}: external data holds {length} bytes but the tensor needs "
            f"{declared_bytes(tensor)}"
        )
    return path


def load_external_data(proto: onnx.ModelProto, base_dir: Path | None) -> None:
    """Read every (already checked) external tensor's bytes into the tensor itself."""
    for where, tensor in all_tensors(proto.graph):
        if tensor.data_location != TensorProto.EXTERNAL:
            continue
        path = _external_file(where, tensor, base_dir)
        info = _external_info(tensor)
        offset = int(info.get("offset", 0))
        length = int(info["length"]) if "length" in info else path.stat().st_size - offset
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read(length)
        tensor.raw_data = data
        del tensor.external_data[:]
        tensor.data_location = TensorProto.DEFAULT


def to_array(tensor: TensorProto) -> np.ndarray:
    """A tensor's value as a numpy array (a copy the caller may keep)."""
    from onnx import numpy_helper  # noqa: PLC0415

    return np.array(numpy_helper.to_array(tensor))
