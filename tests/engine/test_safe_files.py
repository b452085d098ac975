"""engine.safe_files: atomic writes get the umask's permissions and never leave half a file;
bounded reads refuse folders, devices, FIFOs and files over their limit without reading them."""

from __future__ import annotations

import os
import stat

import pytest

from engine.safe_files import (
    atomic_path,
    default_file_mode,
    read_bounded,
    regular_file_problem,
    write_bytes_atomic,
    write_text_atomic,
)


class Refused(Exception):
    pass


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_atomic_writes_get_the_mode_a_plain_open_would_give(tmp_path, umask_022):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    write_text_atomic(tmp_path / "a.txt", "héllo\n")
    write_bytes_atomic(tmp_path / "b.bin", b"\x00\x01")
    assert _mode(tmp_path / "a.txt") == _mode(plain) == 0o644
    assert _mode(tmp_path / "b.bin") == 0o644
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "héllo\n"
    assert default_file_mode() == 0o644


def test_the_mode_follows_another_umask(tmp_path):
    old = os.umask(0o077)
    try:
        write_text_atomic(tmp_path / "private.txt", "x")
        assert default_file_mode() == 0o600
    finally:
        os.umask(old)
    assert _mode(tmp_path / "private.txt") == 0o600


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "model.bin"
    target.write_bytes(b"good")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("crash while writing")
    assert target.read_bytes() == b"good"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.bin"]


def test_bounded_read_returns_the_bytes_of_a_small_file(tmp_path):
    path = tmp_path / "f.json"
    path.write_bytes(b"{}")
    assert read_bounded(path, 10, Refused) == b"{}"


def test_a_file_over_the_limit_is_refused_from_its_size(tmp_path):
    path = tmp_path / "big.json"
    path.write_bytes(b"x" * 2048)
    with pytest.raises(Refused, match=r"is 2\.0 KiB; a project file is at most 1\.0 KiB"):
        read_bounded(path, 1024, Refused, what="project file")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.mkdir(), "is a folder"),
        (lambda p: os.mkfifo(p), "is a pipe"),
        (lambda p: None, "file not found"),
    ],
    ids=["folder", "fifo", "missing"],
)
def test_what_is_not_a_regular_file_is_named(tmp_path, make, message):
    path = tmp_path / "thing"
    make(path)
    assert message in regular_file_problem(path)
    with pytest.raises(Refused, match=message):
        read_bounded(path, 1024, Refused)


def test_a_device_is_refused_without_reading_it():
    # /dev/zero would grow a read without bound; it is refused before it is opened.
    assert "device" in regular_file_problem("/dev/zero")
    with pytest.raises(Refused, match="device"):
        read_bounded("/dev/zero", 1024, Refused)
