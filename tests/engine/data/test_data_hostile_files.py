"""Hostile data files: non-regular files for every importer, IDX and .npy headers that declare
more than they hold (or more than int64), CSV files too wide or of one endless line, and
generator sizes no machine has. Each must give one DataError, quickly, before numpy
allocates what a file merely declares."""

from __future__ import annotations

import gzip
import io
import json
import os
import socket
import struct
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from engine.data import DataError, load_dataset
from engine.data.importers import load_array, read_csv, read_idx, read_image_folder, read_numpy
from engine.data.importers.csv_rows import MAX_COLUMNS, MAX_LINE_CHARS

ROOT = Path(__file__).resolve().parents[3]


def _fifo(path: Path) -> Path:
    if not hasattr(os, "mkfifo"):
        pytest.skip("FIFOs are a POSIX feature")
    os.mkfifo(path)
    return path


# -- not regular files -----------------------------------------------------------------------

READERS = [
    ("x.csv", lambda p: read_csv(p)),
    ("x.npz", lambda p: read_numpy(p)),
    ("x.npy", lambda p: load_array(p)),
    ("x.idx", lambda p: read_idx(p)),
    ("x.idx.gz", lambda p: read_idx(p)),
]


@pytest.mark.parametrize("name, read", READERS)
def test_every_importer_refuses_a_fifo_without_opening_it(tmp_path, name, read):
    # Opening a FIFO with no writer blocks forever; the check must come first.
    fifo = _fifo(tmp_path / name)
    with pytest.raises(DataError, match=r"is a pipe \(FIFO\), not a regular file"):
        read(fifo)


@pytest.mark.parametrize("name, read", READERS)
def test_every_importer_refuses_devices_and_folders(tmp_path, name, read):
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero here")
    link = tmp_path / name
    link.symlink_to("/dev/zero")  # the name an importer expects, a device behind it
    with pytest.raises(DataError, match="is a device, not a regular file"):
        read(link)
    folder = tmp_path / ("dir_" + name)
    folder.mkdir()
    with pytest.raises(DataError, match="is a folder, not a file"):
        read(folder)


def test_the_labels_file_of_a_npy_pair_is_checked_too(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((2, 2), np.float32))
    with pytest.raises(DataError, match="y.npy: is a pipe"):
        read_numpy(tmp_path / "x.npy", labels=_fifo(tmp_path / "y.npy"))


def test_a_socket_is_refused(tmp_path):
    path = tmp_path / "s.csv"
    if not hasattr(socket, "AF_UNIX") or len(str(path)) > 100:
        pytest.skip("no short Unix socket path here")
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
        with pytest.raises(DataError, match="is a socket"):
            read_csv(path)
    finally:
        server.close()


def test_an_image_folder_never_opens_a_fifo_or_device_named_like_an_image(tmp_path):
    from PIL import Image

    cls = tmp_path / "photos" / "cats"
    cls.mkdir(parents=True)
    Image.new("L", (4, 4), 128).save(cls / "real.png")
    _fifo(cls / "pipe.png")
    if Path("/dev/zero").exists():
        (cls / "zero.png").symlink_to("/dev/zero")
    ds = read_image_folder(tmp_path / "photos", size=(4, 4))
    assert len(ds.x) == 1
    assert "pipe.png" in ds.notes[0]  # listed as left out, not read


# -- IDX ---------------------------------------------------------------------------------------


def _idx(dims: tuple[int, ...], data: bytes, code: int = 0x08) -> bytes:
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims) + data


def test_idx_dims_multiplying_past_int64_are_refused_from_the_header(tmp_path):
    big = 2**32 - 1
    path = tmp_path / "huge.idx"
    path.write_bytes(_idx((big, big, big), b"\0" * 16, code=0x0E))  # float64: 8 bytes each
    with pytest.raises(DataError) as err:
        read_idx(path)
    message = str(err.value)
    assert f"{big} x {big} x {big} values of float64" in message
    assert "more than the limit" in message
    assert "-" not in message.split("values")[1]  # no negative (overflowed) byte count
    assert "reshape" not in message


def test_idx_size_mismatch_reports_expected_and_actual_bytes(tmp_path):
    short = tmp_path / "short.idx"
    short.write_bytes(_idx((3, 4), b"\1" * 10))
    with pytest.raises(DataError, match=r"3 x 4 values of uint8 \(12 bytes .*holds 10 bytes"):
        read_idx(short)
    long = tmp_path / "long.idx"
    long.write_bytes(_idx((3, 4), b"\1" * 20))
    with pytest.raises(DataError, match=r"\(12 bytes .*holds at least 13 bytes"):
        read_idx(long)
    ok = tmp_path / "ok.idx"
    ok.write_bytes(_idx((3, 4), bytes(range(12))))
    assert read_idx(ok).tolist() == np.arange(12).reshape(3, 4).tolist()


def test_a_gzip_idx_lying_small_is_not_decompressed_past_what_it_declares(tmp_path):
    path = tmp_path / "bomb.idx.gz"
    with gzip.open(path, "wb") as f:
        f.write(_idx((2, 2), b"\0" * 50_000_000))  # 50 MB of zeros behind a 4-value header
    assert path.stat().st_size < 100_000
    started = time.perf_counter()
    with pytest.raises(DataError, match=r"\(4 bytes .*holds at least 5 bytes"):
        read_idx(path)
    assert time.perf_counter() - started < 1.0


# -- numpy -------------------------------------------------------------------------------------


def _npy_declaring(shape: tuple[int, ...], data: bytes) -> bytes:
    buffer = io.BytesIO()
    header = {"descr": "<f8", "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + data


def test_a_npy_declaring_a_huge_shape_is_refused_before_numpy_allocates(tmp_path):
    path = tmp_path / "huge.npy"
    path.write_bytes(_npy_declaring((10**12,), b"\0" * 64))
    with pytest.raises(DataError, match=r"declares an array of shape \(1000000000000,\)"):
        load_array(path)
    # Even under a limit that would allow it, the bytes must be there.
    with pytest.raises(DataError, match=r"8000000000000 bytes of data\) but holds 64 bytes"):
        load_array(path, max_bytes=10**14)


def test_a_npz_member_declaring_a_huge_shape_is_refused(tmp_path):
    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("x.npy", _npy_declaring((10**6, 10**6), b"\0" * 64))
        z.writestr("y.npy", _npy_declaring((10,), b"\0" * 80))
    with pytest.raises(DataError, match=r"huge.npz: x.npy: declares an array"):
        read_numpy(path)


def test_a_npz_member_shorter_than_it_declares_is_refused(tmp_path):
    path = tmp_path / "short.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("x.npy", _npy_declaring((100, 2), b"\0" * 64))
        z.writestr("y.npy", _npy_declaring((100,), b"\0" * 800))
    with pytest.raises(DataError, match=r"x.npy: declares .*\(1600 bytes of data\) but holds 64"):
        read_numpy(path)


# -- CSV -----------------------------------------------------------------------------------------


def test_a_csv_wider_than_the_limit_is_refused_from_its_first_line(tmp_path):
    path = tmp_path / "wide.csv"
    n = MAX_COLUMNS + 1
    path.write_text(",".join(f"c{i}" for i in range(n)) + "\n" + ",".join("1" * n) + "\n")
    started = time.perf_counter()
    with pytest.raises(DataError, match=f"line 1 has {n} columns; a table may have at most"):
        read_csv(path)
    assert time.perf_counter() - started < 1.0
    # Quoted cells may hold the delimiter, so such lines are counted after splitting.
    quoted = tmp_path / "quoted.csv"
    quoted.write_text(",".join(f'"c{i}"' for i in range(n)) + "\n1\n")
    with pytest.raises(DataError, match=f"has {n} columns"):
        read_csv(quoted)


def test_a_quoted_delimiter_does_not_count_as_a_column(tmp_path):
    path = tmp_path / "ok.csv"
    text = '"' + "," * (MAX_COLUMNS + 5) + '",y\n"a",1\n"b",0\n'
    path.write_text(text)
    assert read_csv(path, target="y").x.shape == (2, 2)  # one-hot of two categories


def test_one_endless_line_is_not_read_whole(tmp_path):
    path = tmp_path / "endless.csv"
    path.write_text("x" * (MAX_LINE_CHARS + 10))
    with pytest.raises(DataError, match="line 1 is longer than .* characters without a line"):
        read_csv(path)
    commas = tmp_path / "commas.csv"
    commas.write_text("1," * (MAX_LINE_CHARS // 2 + 10))
    with pytest.raises(DataError, match="line 1 has more than .* columns"):
        read_csv(commas)


def test_two_million_columns_are_refused_in_under_a_second_and_little_memory(tmp_path):
    """The issue's case: 17.9 s and 1.1 GB before; measured in a child process."""
    path = tmp_path / "wide.csv"
    n = 2_000_000
    with open(path, "w") as f:
        for value in ("c", "1", "0"):
            f.write(",".join([value] * n) + "\n")
    code = textwrap.dedent(f"""
        import json, resource, time
        from engine.data import DataError, load_dataset
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        try:
            load_dataset({{"format": "csv", "path": {str(path)!r}}})
            message = "loaded"
        except DataError as err:
            message = str(err)
        seconds = time.perf_counter() - started
        grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        print(json.dumps({{"seconds": seconds, "grown_mib": grown, "message": message}}))
    """)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert "columns; a table may have at most" in result["message"]
    assert result["seconds"] < 1.0
    assert result["grown_mib"] < 200  # before: about 1100 MiB


# -- generator sizes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec, words",
    [
        ({"name": "moons", "n_samples": 10**17}, "n_samples must be an integer from 2"),
        ({"name": "blobs", "centers": 10**9}, "centers must be an integer from 2 to 1000"),
        ({"name": "timeseries", "window": 10**6}, "n_samples x window"),
        ({"name": "sine", "noise": 1e308}, "noise must be a number from 0"),
        ({"name": "sentiment", "n_samples": 10**12}, "n_samples must be an integer from 2"),
    ],
)
def test_generator_sizes_are_checked_before_numpy_allocates(spec, words):
    with pytest.raises(DataError, match=words):
        load_dataset(spec)


def test_text_csv_max_length_is_bounded(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("text,label\ngood film,1\nbad film,0\n")
    spec = {"format": "text_csv", "path": str(path), "text_column": "text", "target": "label"}
    with pytest.raises(DataError, match="'max_length' must be an integer from 1 to"):
        load_dataset({**spec, "max_length": 10**15})
    assert load_dataset({**spec, "max_length": 4}).x.shape == (2, 4)
