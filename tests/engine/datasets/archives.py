"""Test fixtures for the downloadable datasets: small files in the real formats, a catalog
that pins *their* checksums, and a local HTTP server that serves them (with ``Range``
support, and ways to misbehave: drop the connection, ignore ``Range``, corrupt a byte).

Nothing here reaches the internet: every URL points at ``127.0.0.1``.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import struct
import tarfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from engine.datasets import catalog


def _idx(array: np.ndarray) -> bytes:
    """An IDX file of a uint8 array (the MNIST format)."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    header += b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def _ragged(rng, n: int, high: int) -> np.ndarray:
    seqs = np.empty(n, dtype=object)
    for i in range(n):
        seqs[i] = [int(v) for v in rng.integers(1, high, size=int(rng.integers(1, 40)))]
    return seqs


def cifar_records(x: np.ndarray, labels: np.ndarray) -> bytes:
    """The CIFAR binary records of images ``x`` (N, 3, 32, 32) with label columns ``labels``."""
    rows = np.concatenate([labels.astype(np.uint8), x.reshape(len(x), -1)], axis=1)
    return rows.astype(np.uint8).tobytes()


def _tar(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def make_files(name: str, folder: Path, seed: int = 0) -> dict:
    """Write dataset ``name``'s files (small, real format) into ``folder``; return the
    arrays they hold, for comparisons."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    truth: dict = {}
    if name == "mnist":
        truth = {
            "x_train": rng.integers(0, 256, (200, 28, 28), dtype=np.uint8),
            "y_train": rng.integers(0, 10, 200).astype(np.uint8),
            "x_test": rng.integers(0, 256, (7, 28, 28), dtype=np.uint8),
            "y_test": rng.integers(0, 10, 7).astype(np.uint8),
        }
        np.savez(folder / "mnist.npz", **truth)
    elif name == "fashion_mnist":
        for prefix, n in (("train", 24), ("t10k", 6)):
            x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
            y = rng.integers(0, 10, n).astype(np.uint8)
            truth[prefix] = (x, y)
            for kind, array in (("images-idx3", x), ("labels-idx1", y)):
                (folder / f"{prefix}-{kind}-ubyte.gz").write_bytes(gzip.compress(_idx(array)))
    elif name in ("cifar10", "cifar100"):
        label_bytes, classes = (1, 10) if name == "cifar10" else (2, 100)
        # Only the record *counts* differ from the real archives (which hold 10,000 per batch).
        x = rng.integers(0, 256, (60, 3, 32, 32), dtype=np.uint8)
        labels = rng.integers(0, classes, (60, label_bytes)).astype(np.uint8)
        if name == "cifar100":
            labels[:, 0] = labels[:, 1] // 5  # the coarse label
        truth = {"x": x, "labels": labels}
        if name == "cifar10":
            members = {
                f"cifar-10-batches-bin/data_batch_{i}.bin": cifar_records(
                    x[(i - 1) * 10 : i * 10], labels[(i - 1) * 10 : i * 10]
                )
                for i in range(1, 6)
            }
            members["cifar-10-batches-bin/test_batch.bin"] = cifar_records(x[50:], labels[50:])
            members["cifar-10-batches-bin/batches.meta.txt"] = b"airplane\n"
            (folder / "cifar-10-binary.tar.gz").write_bytes(_tar(members))
        else:
            names = "\n".join(f"fine{i}" for i in range(100)).encode()
            members = {
                "cifar-100-binary/train.bin": cifar_records(x[:50], labels[:50]),
                "cifar-100-binary/test.bin": cifar_records(x[50:], labels[50:]),
                "cifar-100-binary/fine_label_names.txt": names,
                "cifar-100-binary/coarse_label_names.txt": b"a\nb\n",
            }
            (folder / "cifar-100-binary.tar.gz").write_bytes(_tar(members))
    elif name == "imdb":
        truth = {
            "x_train": _ragged(rng, 40, 500),
            "y_train": rng.integers(0, 2, 40),
            "x_test": _ragged(rng, 30, 500),
            "y_test": rng.integers(0, 2, 30),
        }
        np.savez(folder / "imdb.npz", **truth)  # numpy pickles the object arrays, as Keras's
    elif name == "reuters":
        truth = {"x": _ragged(rng, 50, 300), "y": rng.integers(0, 46, 50)}
        np.savez(folder / "reuters.npz", **truth)
    else:
        raise ValueError(name)
    return truth


def pin(monkeypatch, name: str, folder: Path, base_url: str) -> catalog.RemoteDataset:
    """Point catalog entry ``name`` at the fixture files in ``folder`` (their sizes and
    SHA-256) served under ``base_url``."""
    entry = catalog.CATALOG[name]
    files = []
    for f in entry.files:
        data = (folder / f.name).read_bytes()
        files.append(
            dataclasses.replace(
                f,
                url=f"{base_url}/{f.name}",
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
            )
        )
    pinned = dataclasses.replace(entry, files=tuple(files))
    monkeypatch.setitem(catalog.CATALOG, name, pinned)
    return pinned


class FileServer:
    """A local HTTP server of one folder, with ``Range`` support and knobs to misbehave.

    ``drop_after``: close the connection after sending this many body bytes (once);
    ``ignore_range``: answer every request with the whole file (200);
    ``corrupt``: flip one byte of every body; ``chunk_delay``: seconds to wait between
    16 kB chunks (a slow network). ``requests`` records (path, Range header).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.drop_after: int | None = None
        self.ignore_range = False
        self.corrupt = False
        self.chunk_delay = 0.0
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                server.requests.append((self.path, self.headers.get("Range")))
                path = server.folder / self.path.lstrip("/")
                if not path.is_file():
                    self.send_error(404)
                    return
                data = path.read_bytes()
                if server.corrupt:
                    data = bytes([data[0] ^ 0xFF]) + data[1:]
                start = 0
                wanted = self.headers.get("Range")
                if wanted and not server.ignore_range:
                    start = int(wanted.removeprefix("bytes=").split("-")[0])
                    if start >= len(data):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.drop_after is not None:
                    cut, server.drop_after = server.drop_after, None
                    self.wfile.write(body[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                for start in range(0, len(body), 16_384):
                    if server.chunk_delay:
                        time.sleep(server.chunk_delay)
                    try:
                        self.wfile.write(body[start : start + 16_384])
                    except (BrokenPipeError, ConnectionResetError):
                        return  # the client cancelled

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()
