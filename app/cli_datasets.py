"""``layercanvas datasets list | download NAME | add NAME FILE...``: the dataset cache.

::

    layercanvas datasets list                 every downloadable set: size, cached or not
    layercanvas datasets download NAME...     download into the cache (resumes, checks SHA-256)
    layercanvas datasets add NAME FILE...     install the original files from disk (offline)

The cache is ``~/.cache/layercanvas/datasets`` or ``LAYERCANVAS_CACHE_DIR``. A failed
checksum, a truncated file or no network prints one line naming the file and what to do,
and exits 1; nothing half-written ever enters the cache. Ctrl-C during a download keeps
what arrived, and the next ``download`` resumes from there.
"""

from __future__ import annotations

import argparse
import sys

from app.cli_common import EXIT_INTERRUPTED, EXIT_OK, PROG, fail
from engine.datasets.catalog import format_size

__all__ = ["add_datasets_command"]


def add_datasets_command(subparsers) -> None:
    p = subparsers.add_parser(
        "datasets",
        help="list, download or install the real-size datasets (MNIST, CIFAR-10, IMDB...)",
        description="Manage the dataset cache (~/.cache/layercanvas/datasets, or "
        "LAYERCANVAS_CACHE_DIR). Files are checked against pinned SHA-256 before they enter it.",
    )
    actions = p.add_subparsers(dest="datasets_action", metavar="ACTION", parser_class=type(p))
    listing = actions.add_parser("list", help="every downloadable set, its size, cached or not")
    listing.set_defaults(run=run_list)
    get = actions.add_parser("download", help="download sets into the cache (resumable)")
    get.add_argument("names", nargs="+", metavar="NAME")
    get.set_defaults(run=run_download)
    add = actions.add_parser(
        "add",
        help="install a set's original files from disk (for machines without network)",
        description="Check the original files of a set (by size and SHA-256) and copy them "
        "into the cache. 'layercanvas datasets list' shows which files each set needs.",
    )
    add.add_argument("name", metavar="NAME")
    add.add_argument("files", nargs="+", metavar="FILE")
    add.set_defaults(run=run_add)
    p.set_defaults(run=run_list)


def run_list(args: argparse.Namespace) -> int:
    from engine.datasets import CATALOG, cache_dir, missing_files  # noqa: PLC0415

    out = sys.stdout
    print(f"Dataset cache: {cache_dir()}", file=out)
    width = max(len(name) for name in CATALOG)
    for name, entry in CATALOG.items():
        missing = missing_files(name)
        state = "cached" if not missing else "not downloaded"
        print(f"  {name:<{width}}  {format_size(entry.size):>9}  {state:<14}  {entry.title}")
        if missing:
            print(f"  {'':<{width}}  files: {', '.join(f.name for f in entry.files)}", file=out)
    print(f"Download one with '{PROG} datasets download NAME'.", file=out)
    return EXIT_OK


def run_download(args: argparse.Namespace) -> int:
    from engine.datasets import download, is_cached  # noqa: PLC0415
    from engine.datasets.catalog import remote_dataset  # noqa: PLC0415
    from engine.datasets.download import DownloadCancelled, print_progress  # noqa: PLC0415

    for name in args.names:
        remote_dataset(name)  # an unknown name fails before anything downloads
    for name in args.names:
        if is_cached(name):
            print(f"{name}: already in the cache")
            continue
        try:
            folder = download(name, progress=print_progress)
        except (KeyboardInterrupt, DownloadCancelled):
            sys.stderr.write("\n")
            fail(f"{PROG}: download of {name} interrupted; run the command again to resume")
            return EXIT_INTERRUPTED
        print(f"{name}: downloaded and checked, in {folder}")
    return EXIT_OK


def run_add(args: argparse.Namespace) -> int:
    from engine.datasets import install_files, is_cached  # noqa: PLC0415

    installed = install_files(args.name, args.files)
    for path in installed:
        print(f"installed {path.name} (SHA-256 checked) into {path.parent}")
    if is_cached(args.name):
        print(f"{args.name}: complete, ready to use")
    else:
        from engine.datasets import missing_files  # noqa: PLC0415

        print(f"{args.name}: still missing {', '.join(missing_files(args.name))}")
    return EXIT_OK
