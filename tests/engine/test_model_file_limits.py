""".lcmodel files that declare more than they hold, bombs, odd arrays, non-regular paths,
NaN weights and the mode of saved files.

The hostile files are built small: a zip directory may claim gigabytes, but nothing here
writes or reads more than a few MiB, and each refusal must come fast and from the headers.
"""

import io
import os
import resource
import struct
import sys
import threading
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

import engine
from engine.io import ModelFileError, load_model, load_weights
from engine.layers import Dense
from engine.models.finite import NonFiniteWeightsWarning, nonfinite_weights

GIB = 2**30


def _model():
    engine.set_random_seed(0)
    return engine.Sequential(
        [engine.Input((4,)), Dense(3, name="dense_a"), Dense(2, name="dense_b")], name="tiny"
    )


@pytest.fixture
def saved(tmp_path):
    model = _model()
    path = tmp_path / "tiny.lcmodel"
    model.save(path)
    return model, path


def _npy(array, version=None) -> bytes:
    buffer = io.BytesIO()
    if version is None:
        np.save(buffer, array, allow_pickle=False)
    else:  # np.save picks the version itself; write the header by hand for 2.0
        header = {
            "descr": np.lib.format.dtype_to_descr(array.dtype),
            "fortran_order": False,
            "shape": array.shape,
        }
        np.lib.format.write_array_header_2_0(buffer, header)
        buffer.write(array.tobytes())
    return buffer.getvalue()


def _rewrite(path: Path, out: Path, replace: dict[str, bytes], deflate=()) -> Path:
    """Copy the archive, replacing members' data; members named in ``deflate`` are
    compressed (LayerCanvas itself stores arrays)."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = replace.get(info.filename, src.read(info))
            method = zipfile.ZIP_DEFLATED if info.filename in deflate else zipfile.ZIP_STORED
            dst.writestr(zipfile.ZipInfo(info.filename), data, compress_type=method)
    return out


def _patch_directory(path: Path, name: str, file_size=None, crc=None) -> None:
    """Make the zip's central directory claim another uncompressed size (or CRC) for
    ``name``; the stored bytes are left as they are."""
    raw = bytearray(path.read_bytes())
    at = raw.rindex(name.encode()) - 46  # the directory entry's start (it follows the data)
    assert raw[at : at + 4] == b"PK\x01\x02"
    if crc is not None:
        raw[at + 16 : at + 20] = struct.pack("<I", crc)
    if file_size is not None:
        raw[at + 24 : at + 28] = struct.pack("<I", file_size)
    path.write_bytes(bytes(raw))


def _refused(path, match, seconds=1.0):
    start = time.perf_counter()
    with pytest.raises(ModelFileError, match=match) as info:
        load_model(path)
    assert time.perf_counter() - start < seconds
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    return message


# -- sizes declared by the zip directory -----------------------------------------------------


def test_a_member_declaring_4_gib_from_a_few_bytes_is_refused_from_the_directory(saved, tmp_path):
    _, path = saved
    bad = _rewrite(path, tmp_path / "bomb.lcmodel", {}, deflate={"weights/0000.npy"})
    _patch_directory(bad, "weights/0000.npy", file_size=4 * GIB - 2)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    message = _refused(bad, "would expand from .* to 4,294,967,294 bytes")
    assert "weights/0000.npy" in message
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 64 * 1024  # ru_maxrss is in KiB on Linux


def test_a_real_deflate_bomb_is_refused_before_inflating(saved, tmp_path):
    """16 MiB of zeros deflate to about 16 KiB: the ratio alone gives it away."""
    _, path = saved
    zeros = np.zeros(4 * 2**20, np.float32)
    member = {"weights/0000.npy": _npy(zeros)}
    bad = _rewrite(path, tmp_path / "bomb.lcmodel", member, deflate=set(member))
    assert bad.stat().st_size < 1_000_000
    _refused(bad, "decompression bomb")


def test_stored_sizes_past_the_end_of_the_file_are_refused(saved, tmp_path):
    _, path = saved
    bad = tmp_path / "short.lcmodel"
    bad.write_bytes(path.read_bytes())
    raw = bytearray(bad.read_bytes())
    at = raw.rindex(b"weights/0001.npy") - 46
    raw[at + 20 : at + 28] = struct.pack("<II", 3 * GIB, 3 * GIB)  # compressed and real size
    bad.write_bytes(bytes(raw))
    _refused(bad, "past the end of the file")


def test_deflated_arrays_that_really_are_small_still_load(saved, tmp_path):
    """A model re-zipped by another tool (every member deflated) loads, zeros included."""
    model, path = saved
    rng = np.random.default_rng(1)
    weights = [rng.standard_normal(w.shape).astype(np.float32) for w in model.get_weights()]
    weights[1][:] = 0.0
    replace = {f"weights/{i:04d}.npy": _npy(w) for i, w in enumerate(weights)}
    names = set(replace) | {"config.json", "metadata.json"}
    good = _rewrite(path, tmp_path / "rezipped.lcmodel", replace, deflate=names)
    loaded = load_model(good)
    for got, want in zip(loaded.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(got, want)


# -- what the .npy headers declare, compared before any data is read -------------------------


def _corrupt_data_after_header(path: Path, member: str) -> None:
    """Flip bytes deep inside a stored member's array data (not its header): a loader that
    read the data would find the checksum wrong and call the file damaged."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    raw = bytearray(path.read_bytes())
    name_len, extra_len = struct.unpack(
        "<HH", raw[info.header_offset + 26 : info.header_offset + 30]
    )
    start = info.header_offset + 30 + name_len + extra_len
    for k in range(start + info.compress_size - 8, start + info.compress_size):
        raw[k] ^= 0xFF
    path.write_bytes(bytes(raw))


def test_a_wrong_shape_is_refused_from_the_header_naming_member_and_layer(saved, tmp_path):
    _, path = saved
    big = np.ones((512, 1024), np.float32)  # 2 MiB, really stored: no ratio involved
    bad = _rewrite(path, tmp_path / "shape.lcmodel", {"weights/0002.npy": _npy(big)})
    _corrupt_data_after_header(bad, "weights/0002.npy")
    message = _refused(bad, r"weights/0002\.npy has shape \(512, 1024\)")
    assert "'dense_b'" in message and "(3, 2)" in message
    assert "damaged" not in message  # the data was never read


@pytest.mark.parametrize(
    ("array", "match"),
    [
        (np.zeros((4, 3), np.int64), "holds int64 values, but layer 'dense_a' needs floating"),
        (np.zeros((4, 3), np.complex64), "not plain numbers"),
        (np.zeros(4, dtype=[("a", "<f4"), ("b", "<f4")]), "not plain numbers"),
    ],
)
def test_arrays_of_the_wrong_kind_are_refused(saved, tmp_path, array, match):
    _, path = saved
    bad = _rewrite(path, tmp_path / "kind.lcmodel", {"weights/0000.npy": _npy(array)})
    _refused(bad, match)


def test_pickled_arrays_are_refused_from_the_header(saved, tmp_path):
    _, path = saved
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}] * 12, dtype=object).reshape(4, 3), allow_pickle=True)
    bad = _rewrite(path, tmp_path / "pickle.lcmodel", {"weights/0000.npy": buffer.getvalue()})
    _refused(bad, "Python objects")


@pytest.mark.parametrize("shape", [(2**40,), (2**62, 2**62, 2**62)])
def test_a_header_declaring_more_than_the_member_holds(saved, tmp_path, shape):
    """The product is taken with Python ints: no int64 overflow makes a shape look small."""
    _, path = saved
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": shape}
    )
    data = header.getvalue() + bytes(48)
    bad = _rewrite(path, tmp_path / "huge.lcmodel", {"weights/0000.npy": data})
    message = _refused(bad, r"declares an array of shape .* but the member holds only \d+ bytes")
    assert str(shape[0]) in message


def test_fortran_order_big_endian_and_version_2_headers_load_with_their_values(saved, tmp_path):
    model, path = saved
    kernel = np.arange(12, dtype=np.float32).reshape(4, 3)
    replace = {
        "weights/0000.npy": _npy(np.asfortranarray(kernel)),
        "weights/0001.npy": _npy(np.array([1.5, -2.0, 3.25], dtype=">f8")),
        "weights/0002.npy": _npy(np.full((3, 2), 0.5, np.float32), version=(2, 0)),
    }
    assert np.lib.format.read_magic(io.BytesIO(replace["weights/0002.npy"])) == (2, 0)
    loaded = load_model(_rewrite(path, tmp_path / "odd.lcmodel", replace))
    got = loaded.get_weights()
    np.testing.assert_array_equal(got[0], kernel)
    np.testing.assert_array_equal(got[1], [1.5, -2.0, 3.25])
    np.testing.assert_array_equal(got[2], np.full((3, 2), 0.5))


# -- data that disagrees with its declared size ----------------------------------------------


def test_a_member_with_more_data_than_declared_is_refused(saved, tmp_path):
    """zipfile would cut the extra data off silently (and a matching CRC would hide it)."""
    model, path = saved
    declared = _npy(model.get_weights()[0])
    real = declared + bytes(4096)
    bad = _rewrite(
        path, tmp_path / "long.lcmodel", {"weights/0000.npy": real}, {"weights/0000.npy"}
    )
    _patch_directory(bad, "weights/0000.npy", file_size=len(declared), crc=zlib.crc32(declared))
    _refused(bad, "holds more data than the .* bytes its header declares")


def test_a_member_with_less_data_than_declared_is_refused(saved, tmp_path):
    model, path = saved
    declared = _npy(model.get_weights()[0])
    short = declared[:-8]
    bad = _rewrite(
        path, tmp_path / "short.lcmodel", {"weights/0000.npy": short}, {"weights/0000.npy"}
    )
    _patch_directory(bad, "weights/0000.npy", file_size=len(declared))
    _refused(bad, "cut short")


def test_optimizer_state_larger_than_any_weight_is_refused(tmp_path):
    model = _model()
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((8, 4), np.float32), np.ones((8, 2), np.float32), epochs=1, verbose=0)
    path = tmp_path / "trained.lcmodel"
    model.save(path)
    big = _npy(np.zeros(300_000, np.float32))
    bad = _rewrite(path, tmp_path / "state.lcmodel", {"optimizer/0001.npy": big})
    _refused(bad, "optimizer/0001.npy declares shape .* larger than any weight")


# -- paths that are not regular files --------------------------------------------------------


def _load_in_thread(path) -> BaseException | None:
    """Load ``path`` where a hang cannot block the test run; return what it raised."""
    outcome: list = []

    def run():
        try:
            load_model(path)
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(10)
    assert outcome, f"loading {path} did not finish within 10 s"
    return outcome[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "model.lcmodel"
    os.mkfifo(fifo)
    error = _load_in_thread(fifo)
    assert isinstance(error, ModelFileError)
    assert "pipe (FIFO)" in str(error) and str(fifo) in str(error)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_dev_zero_is_refused_as_a_device():
    error = _load_in_thread("/dev/zero")
    assert isinstance(error, ModelFileError)
    assert "cannot load /dev/zero: is a device" in str(error)


def test_a_folder_and_a_missing_file_have_their_own_messages(tmp_path):
    _refused(tmp_path, "is a folder, not a file")
    _refused(tmp_path / "nothing.lcmodel", "file not found")


# -- NaN and infinite weights ----------------------------------------------------------------


def test_loading_nan_weights_warns_naming_layers_and_counts(saved, tmp_path):
    model, _ = saved
    weights = model.get_weights()
    weights[0][0, 0] = np.nan
    weights[0][1, 2] = np.inf
    weights[3][1] = -np.inf
    model.set_weights(weights)
    path = tmp_path / "diverged.lcmodel"
    model.save(path)
    with pytest.warns(NonFiniteWeightsWarning) as record:
        loaded = load_model(path)
    assert len(record) == 1
    message = str(record[0].message)
    assert str(path) in message and "\n" not in message
    assert "dense_a (2 values)" in message and "dense_b (1 value)" in message
    got = loaded.get_weights()
    assert np.isnan(got[0][0, 0]) and np.isposinf(got[0][1, 2]) and np.isneginf(got[3][1])
    # load_weights into a finite model says so as well.
    fresh = _model()
    with pytest.warns(NonFiniteWeightsWarning, match="dense_a"):
        load_weights(fresh, path)


def test_nonfinite_weights_counts_what_numpy_counts():
    model = _model()
    assert nonfinite_weights(model) == []
    weights = model.get_weights()
    rng = np.random.default_rng(3)
    for w in weights:
        w.reshape(-1)[rng.random(w.size) < 0.4] = np.nan
    model.set_weights(weights)
    expected = [
        (layer.name, sum(int((~np.isfinite(w)).sum()) for w in layer.get_weights()))
        for layer in model.layers
    ]
    assert nonfinite_weights(model) == [(n, c) for n, c in expected if c]


def test_finite_weights_load_without_a_warning(saved):
    _, path = saved
    load_model(path)  # filterwarnings=error: any warning would fail this test


# -- saved files ------------------------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_saved_files_get_the_mode_a_plain_open_gives(tmp_path, umask, mode):
    model = _model()
    old = os.umask(umask)
    try:
        model.save(tmp_path / "m.lcmodel")
        model.save_weights(tmp_path / "m.weights")
        with open(tmp_path / "plain.txt", "w") as handle:
            handle.write("x")
    finally:
        os.umask(old)
    assert (tmp_path / "plain.txt").stat().st_mode & 0o777 == mode
    assert (tmp_path / "m.lcmodel").stat().st_mode & 0o777 == mode
    assert (tmp_path / "m.weights").stat().st_mode & 0o777 == mode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.lcmodel", "m.weights", "plain.txt"]


def test_a_5000_digit_number_in_the_config_is_invalid_json(saved, tmp_path):
    _, path = saved
    with zipfile.ZipFile(path) as archive:
        config = archive.read("config.json").decode()
    text = config.replace('"units": 3', '"units": 3' + "1" * 4999, 1)
    assert text != config
    bad = _rewrite(path, tmp_path / "digits.lcmodel", {"config.json": text.encode()})
    _refused(bad, "config.json is not valid JSON .*digits")
