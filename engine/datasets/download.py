"""Downloading a dataset into the cache: resumable, checked, atomic, with progress and cancel.

:func:`download` fetches every file of a set that is not cached yet. Each file streams into
``<cache>/<set>/<file>.part``; when a ``.part`` is already there (a dropped connection, a
cancelled download), the request asks for the rest with an HTTP ``Range`` header and appends
(a server that ignores it sends the whole file, which then replaces the part). When the bytes
are all there, the part's size and SHA-256 are checked against the catalog and only then is
it renamed to its final name (``os.replace``, atomic), so the cache never holds a half-written
or wrong file under a name that loaders use. A failed checksum deletes the part (it is wrong,
resuming it cannot help); a dropped connection keeps it for the next try.

``progress(file_name, done_bytes, total_bytes)`` is called as bytes arrive; ``cancel()`` is
polled between chunks and, when true, stops with :class:`DownloadCancelled` (keeping the
part). Only ``urllib`` is used; nothing here runs code from the network.
"""

from __future__ import annotations

import http.client
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from engine.datasets.cache import (
    DatasetFileError,
    check_file,
    dataset_dir,
    missing_files,
    require_cached,
)
from engine.datasets.catalog import RemoteFile, remote_dataset

__all__ = [
    "DownloadCancelled",
    "Progress",
    "download",
    "download_file",
    "ensure_cached",
    "print_progress",
]

Progress = Callable[[str, int, int], None]

_CHUNK = 1 << 16
_TIMEOUT_S = 30.0
_USER_AGENT = "LayerCanvas dataset downloader"


class DownloadCancelled(Exception):
    """The user cancelled a download; what arrived is kept in the ``.part`` file."""


def download(
    name: str,
    *,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
    base_url: str | None = None,
    timeout: float = _TIMEOUT_S,
) -> Path:
    """Download every file of dataset ``name`` that is not in the cache; return its folder.

    ``base_url`` replaces the folder part of each file's URL (a mirror, or the local server
    the tests run); the file names stay the catalog's.
    """
    ds = remote_dataset(name)
    folder = dataset_dir(name)
    missing = set(missing_files(name))
    for remote in ds.files:
        if remote.name in missing:
            url = remote.url if base_url is None else base_url.rstrip("/") + "/" + remote.name
            download_file(
                remote, folder, name, url=url, progress=progress, cancel=cancel, timeout=timeout
            )
    return folder


def _network_error(remote: RemoteFile, dataset: str, url: str, reason: str) -> DatasetFileError:
    return DatasetFileError(
        f"could not download {remote.name} from {url}: {reason}. Check the network connection "
        f"and download again (it resumes where it stopped), or download the file on another "
        f"machine and install it with 'layercanvas datasets add {dataset} FILE'"
    )


def _open(url: str, offset: int, timeout: float):
    headers = {"User-Agent": _USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)


def download_file(
    remote: RemoteFile,
    folder: Path,
    dataset: str,
    *,
    url: str | None = None,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
    timeout: float = _TIMEOUT_S,
) -> Path:
    """Download one file into ``folder`` (resuming its ``.part``), check it, move it in place."""
    url = remote.url if url is None else url
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / remote.name
    part = folder / f"{remote.name}.part"
    offset = part.stat().st_size if part.is_file() else 0
    if offset > remote.size:  # longer than the real file: it cannot be a prefix of it
        part.unlink()
        offset = 0
    if offset < remote.size:
        _fetch(remote, dataset, url, part, offset, progress, cancel, timeout)
    elif progress is not None:
        progress(remote.name, offset, remote.size)
    try:
        check_file(part, remote, dataset, origin=f"from {url}")
    except DatasetFileError:
        if part.stat().st_size >= remote.size:
            part.unlink()  # whole but wrong: resuming it can never help
        raise
    with open(part, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(part, final)
    return final


def _fetch(
    remote: RemoteFile,
    dataset: str,
    url: str,
    part: Path,
    offset: int,
    progress: Progress | None,
    cancel: Callable[[], bool] | None,
    timeout: float,
) -> None:
    """Stream ``url`` into ``part`` from ``offset`` on; network trouble keeps what arrived."""
    try:
        response = _open(url, offset, timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:  # nothing left to send: the part may be complete
            return
        reason = f"the server answered {err.code} {err.reason}"
        raise _network_error(remote, dataset, url, reason) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
        reason = getattr(err, "reason", None) or err
        raise _network_error(remote, dataset, url, f"no connection ({reason})") from None
    with response:
        status = getattr(response, "status", 200)
        if offset and status != 206:
            offset = 0  # the server sent the whole file: start the part again
        done = offset
        with open(part, "ab" if offset else "wb") as out:
            while done <= remote.size:
                if cancel is not None and cancel():
                    raise DownloadCancelled(f"download of {remote.name} cancelled")
                try:
                    chunk = response.read(min(_CHUNK, remote.size + 1 - done))
                except (TimeoutError, OSError, http.client.HTTPException) as err:
                    reason = f"the connection dropped after {done} of {remote.size} bytes ({err})"
                    raise _network_error(remote, dataset, url, reason) from None
                if not chunk:
                    break
                out.write(chunk)  # a full disk raises OSError with its own message
                done += len(chunk)
                if progress is not None:
                    progress(remote.name, min(done, remote.size), remote.size)
    if done < remote.size:
        raise _network_error(
            remote, dataset, url, f"the connection closed after {done} of {remote.size} bytes"
        )


def print_progress(file_name: str, done: int, total: int) -> None:
    """A one-line progress report on stderr (the library's and the CLI's default)."""
    share = done / total if total else 1.0
    end = "\n" if done >= total else ""
    sys.stderr.write(
        f"\rDownloading {file_name}: {share:6.1%} ({done / 1e6:.1f} of {total / 1e6:.1f} MB)" + end
    )
    sys.stderr.flush()


def ensure_cached(name: str, *, download_missing: bool = True) -> dict[str, Path]:
    """The cached files of ``name``, downloading what is missing first (with progress on
    stderr) when ``download_missing``, else :class:`DatasetNotDownloaded`."""
    if download_missing and missing_files(name):
        download(name, progress=print_progress)
    return require_cached(name)
