"""The dataset cache and downloader against a local HTTP server: the real download code path
(urllib, Range resume, SHA-256 check, atomic rename), never the internet."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from engine.datasets import (
    DatasetFileError,
    DatasetNotDownloaded,
    DownloadCancelled,
    cache_dir,
    download,
    install_files,
    is_cached,
    mnist,
)
from engine.datasets.catalog import CATALOG
from tests.engine.datasets.archives import FileServer, make_files, pin


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("LAYERCANVAS_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def served(tmp_path, monkeypatch, cache):
    """MNIST fixture files, pinned in the catalog and served locally."""
    source = tmp_path / "served"
    truth = make_files("mnist", source)
    with FileServer(source) as server:
        pin(monkeypatch, "mnist", source, server.url)
        yield server, truth, source


def test_the_cache_folder_comes_from_the_environment(cache):
    assert cache_dir() == cache


def test_download_then_load_offline(served, cache):
    server, truth, _ = served
    seen = []
    download("mnist", progress=lambda name, done, total: seen.append((name, done, total)))
    assert is_cached("mnist")
    assert (cache / "mnist" / "mnist.npz").is_file()
    assert not (cache / "mnist" / "mnist.npz.part").exists()
    size = CATALOG["mnist"].files[0].size
    assert seen[-1] == ("mnist.npz", size, size)
    assert [d for _, d, _ in seen] == sorted(d for _, d, _ in seen)
    requests = len(server.requests)
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    assert len(server.requests) == requests  # loaded from the cache, no network
    assert x_train.shape == (200, 1, 28, 28) and x_train.dtype == np.uint8
    np.testing.assert_array_equal(x_train[:, 0], truth["x_train"])
    np.testing.assert_array_equal(y_test, truth["y_test"])
    download("mnist")  # already cached: nothing fetched
    assert len(server.requests) == requests


def test_a_dropped_connection_resumes_with_a_range_request(served, cache):
    server, _, source = served
    server.drop_after = 5000
    with pytest.raises(DatasetFileError) as err:
        download("mnist")
    message = str(err.value)
    assert "mnist.npz" in message and server.url in message
    assert "resumes" in message and "layercanvas datasets add mnist FILE" in message
    part = cache / "mnist" / "mnist.npz.part"
    assert part.stat().st_size == 5000
    assert not (cache / "mnist" / "mnist.npz").exists()  # never a half-written entry
    download("mnist")
    assert server.requests[-1][1] == "bytes=5000-"
    cached = (cache / "mnist" / "mnist.npz").read_bytes()
    assert cached == (source / "mnist.npz").read_bytes()
    assert not part.exists()


def test_a_server_that_ignores_range_restarts_the_part(served, cache):
    server, _, source = served
    server.drop_after = 3000
    with pytest.raises(DatasetFileError):
        download("mnist")
    server.ignore_range = True
    download("mnist")
    assert (cache / "mnist" / "mnist.npz").read_bytes() == (source / "mnist.npz").read_bytes()


def test_a_bad_checksum_names_the_file_and_leaves_nothing(served, cache):
    server, _, _ = served
    server.corrupt = True
    with pytest.raises(DatasetFileError, match=r"mnist\.npz \(from http.*failed its checksum"):
        download("mnist")
    folder = cache / "mnist"
    assert not (folder / "mnist.npz").exists() and not (folder / "mnist.npz.part").exists()
    with pytest.raises(DatasetNotDownloaded, match="layercanvas datasets download mnist"):
        mnist.load_data(download=False)


def test_no_network_gives_a_clear_error(monkeypatch, cache, tmp_path):
    source = tmp_path / "served"
    make_files("mnist", source)
    with FileServer(source) as server:
        url = server.url
    pin(monkeypatch, "mnist", source, url)  # the server is gone: connection refused
    with pytest.raises(DatasetFileError, match=r"could not download mnist\.npz from http.*no conn"):
        download("mnist")
    assert not (cache / "mnist" / "mnist.npz").exists()


def test_cancel_keeps_the_part_and_the_next_download_resumes(served, cache):
    server, _, source = served
    calls = []

    def cancel() -> bool:
        calls.append(1)
        return len(calls) > 1  # after the first chunk

    with pytest.raises(DownloadCancelled):
        download("mnist", cancel=cancel)
    part = cache / "mnist" / "mnist.npz.part"
    kept = part.stat().st_size
    assert 0 < kept < CATALOG["mnist"].files[0].size
    download("mnist")
    assert server.requests[-1][1] == f"bytes={kept}-"
    assert (cache / "mnist" / "mnist.npz").read_bytes() == (source / "mnist.npz").read_bytes()


def test_install_from_disk_checks_before_anything_enters_the_cache(tmp_path, monkeypatch, cache):
    source = tmp_path / "files"
    make_files("mnist", source)
    pin(monkeypatch, "mnist", source, "http://127.0.0.1:9")
    bad = tmp_path / "elsewhere" / "mnist.npz"
    bad.parent.mkdir()
    data = bytearray((source / "mnist.npz").read_bytes())
    data[100] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(DatasetFileError, match=r"failed its checksum.*layercanvas datasets add"):
        install_files("mnist", [bad])
    assert not is_cached("mnist")
    assert not list((cache / "mnist").iterdir())  # no temporary file left behind
    short = tmp_path / "short.npz"
    short.write_bytes(bytes(data[:-10]))
    with pytest.raises(DatasetFileError, match="not a file of dataset 'mnist'"):
        install_files("mnist", [short])
    renamed = tmp_path / "downloaded-copy.bin"  # recognised by its size, checked by SHA-256
    renamed.write_bytes((source / "mnist.npz").read_bytes())
    installed = install_files("mnist", [renamed])
    assert installed == [cache / "mnist" / "mnist.npz"] and is_cached("mnist")
    digest = hashlib.sha256(installed[0].read_bytes()).hexdigest()
    assert digest == CATALOG["mnist"].files[0].sha256


def test_a_set_of_several_files_downloads_each_once(tmp_path, monkeypatch, cache):
    from engine.datasets import fashion_mnist

    source = tmp_path / "served"
    truth = make_files("fashion_mnist", source)
    with FileServer(source) as server:
        pin(monkeypatch, "fashion_mnist", source, server.url)
        names = []
        download("fashion_mnist", progress=lambda name, done, total: names.append(name))
        assert sorted(set(names)) == sorted(f.name for f in CATALOG["fashion_mnist"].files)
        assert len(server.requests) == 4
        (x, y), (xt, yt) = fashion_mnist.load_data()
        assert len(server.requests) == 4
    np.testing.assert_array_equal(x[:, 0], truth["train"][0])
    np.testing.assert_array_equal(yt, truth["t10k"][1])
