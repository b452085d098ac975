"""Hostile ``.lcmodel`` files, run through ``layercanvas export MODEL --onnx OUT``: broken
archives, member names that climb out of the folder, decompression bombs whose headers
declare gigabytes, ``.npy`` members that lie or hold pickles, NaN weights, wrong versions.

The good model every case starts from is written here by hand (zip, JSON and ``.npy`` bytes),
not saved by the engine, so the corpus does not depend on the code it tests; ``model_ok``
shows that this file is accepted, so a refusal of a variant is about what was changed."""

from __future__ import annotations

import io
import json
import os
import pickle
from pathlib import Path

import numpy as np

from tests.hostile.corpus import case, write
from tests.hostile.corpus import random_bytes as noise
from tests.hostile.hostile_bytes import (
    MIB,
    Member,
    crc32_zeros_after,
    deflate_zeros,
    npy_bytes,
    npy_header,
    raw_zip,
)
from tests.hostile.post_checks import expect_mode

M = "m.lcmodel"
EXPORT = ["export", M, "--onnx", "out.onnx"]


def _dense(name: str, units: int, activation: str) -> dict:
    config = {"name": name, "trainable": True, "units": units, "activation": activation}
    config.update(use_bias=True, kernel_initializer="glorot_uniform")
    return {"class_name": "Dense", "name": name, "config": config}


def model_config(units: int = 3, **changes) -> dict:
    """config.json of Input(2) -> Dense(units, relu) -> Dense(2, softmax), uncompiled."""
    layers = [
        {
            "class_name": "Input",
            "name": "input_1",
            "config": {"name": "input_1", "trainable": True, "shape": [2], "dtype": "float32"},
        },
        _dense("dense_1", units, "relu"),
        _dense("dense_2", 2, "softmax"),
    ]
    config = {
        "format": "layercanvas-model",
        "version": 1,
        "model": {"class_name": "Sequential", "config": {"name": "sequential", "layers": layers}},
        "num_weights": 4,
        "compile": None,
        "optimizer": None,
    }
    config.update(changes)
    return config


def weights(fill: float | None = None) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=s).astype(np.float32) for s in ((2, 3), (3,), (3, 2), (2,))]
    if fill is not None:
        arrays[0][1, 1] = fill
    return arrays


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def members(config: dict | None = None, arrays: list[np.ndarray] | None = None) -> list[Member]:
    config = model_config() if config is None else config
    arrays = weights() if arrays is None else arrays
    out = [
        Member.deflated("config.json", json.dumps(config).encode()),
        Member.deflated("metadata.json", b'{"engine_version": "0.1.0", "user": {}}'),
    ]
    return out + [Member.stored(f"weights/{i:04d}.npy", npy(a)) for i, a in enumerate(arrays)]


def good_model() -> bytes:
    return raw_zip(members())


def _model(d: Path, data: bytes, steps: list[list[str]] | None = None) -> list[list[str]]:
    write(d, M, data)
    return steps or [EXPORT]


def _replace(name: str, new: Member) -> bytes:
    return raw_zip([new if m.name == name else m for m in members()])


def bomb(name: str, prefix: bytes, zero_mib: int) -> Member:
    """A deflated member: ``prefix`` then ``zero_mib`` MiB of zeros, about 1 KiB per MiB,
    with its true size and CRC in the headers (only reading it all would tell it apart)."""
    size = len(prefix) + zero_mib * MIB
    return Member(
        name, deflate_zeros(prefix, zero_mib), 8, size, crc32_zeros_after(prefix, zero_mib)
    )


def _f32_prefix(zero_mib: int) -> bytes:
    """An .npy header declaring exactly the float32 zeros that follow it."""
    return npy_header("<f4", (zero_mib * MIB // 4,))


@case("model_ok", names=None, expect="ok", post=expect_mode("out.onnx"), defect="7")
def _(d):
    return _model(d, good_model())


@case("model_empty", names=M)
def _(d):
    return _model(d, b"")


@case("model_random_bytes", names=M)
def _(d):
    return _model(d, noise(8192, seed=2))


@case("model_truncated_half", names=M)
def _(d):
    data = good_model()
    return _model(d, data[: len(data) // 2])


@case("model_truncated_directory", names=M)
def _(d):
    data = good_model()
    return _model(d, data[:-30])


@case("model_member_traversal", names=M)
def _(d):
    return _model(d, raw_zip(members() + [Member.stored("../../evil.npy", npy(np.zeros(2)))]))


@case("model_member_absolute", names=M)
def _(d):
    return _model(d, raw_zip(members() + [Member.stored("/tmp/evil.npy", npy(np.zeros(2)))]))


@case("model_extra_member", names=M)
def _(d):
    return _model(d, raw_zip(members() + [Member.stored("run_me.py", b"import os\n")]))


@case("model_duplicate_member", names=M)
def _(d):
    parts = members()
    return _model(d, raw_zip(parts + [parts[2]]))


@case("model_encrypted_member", names=M)
def _(d):
    parts = members()
    parts[2].flags = 1
    return _model(d, raw_zip(parts))


@case("model_unknown_compression", names=M)
def _(d):
    parts = members()
    parts[2].method = 99
    return _model(d, raw_zip(parts))


@case("model_missing_config", names=M)
def _(d):
    return _model(d, raw_zip(members()[1:]))


@case("model_config_not_json", names=M)
def _(d):
    return _model(d, _replace("config.json", Member.deflated("config.json", b"{'format': ")))


@case("model_config_bad_utf8", names=M)
def _(d):
    text = json.dumps(model_config()).encode().replace(b"dense_1", b"dense\xff1")
    return _model(d, _replace("config.json", Member.deflated("config.json", text)))


@case("model_config_deep_nesting", names=M)
def _(d):
    text = b"[" * 100_000 + b"]" * 100_000
    return _model(d, _replace("config.json", Member.deflated("config.json", text)))


@case("model_config_5000_digit_integer", names=M)
def _(d):
    text = json.dumps(model_config()).replace('"units": 3', '"units": 3' + "1" * 4999)
    return _model(d, _replace("config.json", Member.deflated("config.json", text.encode())))


@case("model_wrong_format", names=M)
def _(d):
    return _model(d, raw_zip(members(model_config(format="layercanvas-weights"))))


@case("model_future_version", names=M)
def _(d):
    return _model(d, raw_zip(members(model_config(version=7))))


@case("model_num_weights_billion", names=M)
def _(d):
    return _model(d, raw_zip(members(model_config(num_weights=10**9))))


@case("model_config_declares_10g_parameters", names=M)
def _(d):
    return _model(d, raw_zip(members(model_config(units=100_000))))


@case("model_npy_wrong_shape", names=M)
def _(d):
    return _model(
        d,
        _replace(
            "weights/0000.npy", Member.stored("weights/0000.npy", npy(np.zeros((5, 7), np.float32)))
        ),
    )


@case("model_npy_header_longer_than_data", names=M)
def _(d):
    data = npy_bytes("<f4", (1000, 1000), bytes(24))
    return _model(d, _replace("weights/0000.npy", Member.stored("weights/0000.npy", data)))


@case("model_npy_header_declares_10_to_the_12", names=M)
def _(d):
    data = npy_bytes("<f4", (10**6, 10**6), bytes(24))
    return _model(d, _replace("weights/0000.npy", Member.stored("weights/0000.npy", data)))


class _Payload:
    """Unpickling this would run ``touch pwned``: the case checks that it never does."""

    def __reduce__(self):
        return (os.system, ("touch pwned",))


def _no_pwned(folder: Path) -> None:
    assert not (folder / "pwned").exists(), "a pickle in the file was executed"


@case("model_npy_pickled_object", names=M, post=_no_pwned)
def _(d):
    data = npy_bytes("|O", (1,), pickle.dumps(np.array([_Payload()], dtype=object)))
    return _model(d, _replace("weights/0000.npy", Member.stored("weights/0000.npy", data)))


@case("model_nan_weights_export_refused", names=M, defect="1")
def _(d):
    return _model(d, raw_zip(members(arrays=weights(float("nan")))))


@case("model_inf_weights_export_refused", names=M, defect="1")
def _(d):
    return _model(d, raw_zip(members(arrays=weights(float("inf")))))


@case("model_nan_weights_export_allowed", names=None, expect="ok", warning=True, defect="1")
def _(d):
    data = raw_zip(members(arrays=weights(float("nan"))))
    return _model(d, data, [[*EXPORT, "--allow-nonfinite"]])


# -- decompression bombs (defect 3) ---------------------------------------------------------


@case("model_bomb_one_4_gib_member", names=M, defect="3")
def _(d):
    return _model(
        d, _replace("weights/0000.npy", bomb("weights/0000.npy", _f32_prefix(4095), 4095))
    )


@case("model_bomb_three_4_gib_members", names=M, defect="3")
def _(d):
    parts = members()
    for i in range(3):
        parts[2 + i] = bomb(parts[2 + i].name, _f32_prefix(4000), 4000)
    return _model(d, raw_zip(parts))


@case("model_bomb_header_says_2x3", names=M, defect="3")
def _(d):
    """The .npy header inside declares the right shape; the zip says 1 GiB follows."""
    prefix = npy_header("<f4", (2, 3))
    return _model(d, _replace("weights/0000.npy", bomb("weights/0000.npy", prefix, 1024)))


@case("model_weights_member_1_gib", names=M, defect="3")
def _(d):
    return _model(
        d, _replace("weights/0000.npy", bomb("weights/0000.npy", _f32_prefix(1024), 1024))
    )


@case("model_zip_header_lies_4_gib", names=M)
def _(d):
    """The directory declares 4 GiB for a member that holds 152 bytes."""
    parts = members()
    parts[2] = Member.deflated(parts[2].name, parts[2].data)
    parts[2].size = (4 << 30) - 1
    return _model(d, raw_zip(parts))


@case("model_zip_headers_declare_20_gib_in_all", names=M)
def _(d):
    parts = members()
    for m in parts[2:]:
        m.method, m.size = 8, (4 << 30) - 1
    parts.append(Member("weights/0004.npy", b"\x03\x00", 8, (4 << 30) - 1, 0))
    return _model(d, raw_zip(parts))
