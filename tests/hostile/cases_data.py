"""Hostile data files, referenced from a project's ``dataset`` as a user would and run through
``layercanvas check`` (which loads the data to see that it fits the graph): CSV, NPZ, IDX,
image folders and text CSV, each broken, lying about its size or merely extreme."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np

from tests.hostile.cases_model import _no_pwned, _Payload
from tests.hostile.corpus import case, chain, mlp, write, write_project
from tests.hostile.corpus import random_bytes as noise
from tests.hostile.hostile_bytes import (
    MIB,
    Member,
    crc32_zeros_after,
    deflate_zeros,
    gzip_zeros,
    idx,
    npy_bytes,
    npy_header,
    png,
    raw_zip,
)

P = "p.lcproj"


def _check(d: Path, graph: dict, spec: dict) -> list[list[str]]:
    write_project(d, graph, spec)
    return [["check", P]]


# -- CSV ----------------------------------------------------------------------------------------

CSV = "data.csv"


def _csv_rows(n: int = 40) -> str:
    rng = np.random.default_rng(0)
    return "".join(f"{a:.3f},{b:.3f},{int(a > b)}\n" for a, b in rng.normal(size=(n, 2)))


def _csv(d: Path, text: str | bytes, name: str = CSV) -> list[list[str]]:
    write(d, name, text)
    return _check(d, mlp(2), {"format": "csv", "path": name, "target": "label"})


@case("csv_ok", names=None, expect="ok")
def _(d):
    return _csv(d, "a,b,label\n" + _csv_rows())


@case("csv_2_million_columns", names=CSV, defect="6", cpu_s=2.0)
def _(d):
    """The header alone (12 MB) shows the problem; six 4 MB rows make reading them all slow.
    Issue 15 asks for the refusal within 1 s; 2 s of CPU leaves room for a slow machine."""
    names = ",".join(f"{i:x}" for i in range(2_000_000)) + ",label\n"
    row = "0," * 2_000_000 + "1\n"
    return _csv(d, names + row * 6)


@case("csv_ragged_rows", names=CSV, also=[r"row \d"])
def _(d):
    return _csv(d, "a,b,label\n1,2,0\n3,4\n5,6,1,7\n" + _csv_rows(10))


@case("csv_nan_and_infinity", names=CSV, also=[r"row \d"])
def _(d):
    return _csv(d, "a,b,label\n1,nan,0\ninf,2,1\n" + _csv_rows(10))


@case("csv_number_overflows_to_infinity", names=CSV, also=[r"row \d"])
def _(d):
    return _csv(d, "a,b,label\n1e400,2,0\n" + _csv_rows(10))


@case("csv_one_5_mb_line", names=CSV)
def _(d):
    return _csv(d, "1," * (5 * MIB // 2))


@case("csv_one_5_mb_field", names=CSV)
def _(d):
    return _csv(d, "a,b,label\n" + "7" * (5 * MIB) + ",1,0\n")


@case("csv_empty", names=CSV)
def _(d):
    return _csv(d, "")


@case("csv_header_only", names=CSV)
def _(d):
    return _csv(d, "a,b,label\n")


@case("csv_random_bytes", names=CSV)
def _(d):
    return _csv(d, noise(20_000, seed=4))


@case("csv_bad_utf8", names=CSV)
def _(d):
    return _csv(d, b"a,b,label\n1,2,0\n\xff\xfe,3,1\n" + _csv_rows(5).encode())


@case("csv_nul_bytes", names=CSV)
def _(d):
    return _csv(d, b"a,b,label\n1,2\x00,0\n" + _csv_rows(5).encode())


@case("csv_unterminated_quote", names=CSV)
def _(d):
    return _csv(d, 'a,b,label\n1,"2,0\n' + _csv_rows(5))


@case("csv_target_missing", names=CSV, also=["label"])
def _(d):
    return _csv(d, "a,b,c\n" + _csv_rows())


@case("csv_sparse_3_gib", names=CSV)
def _(d):
    steps = _csv(d, "a,b,label\n" + _csv_rows())
    with open(d / CSV, "r+b") as f:
        f.truncate(3 << 30)  # a size the file system declares; nothing is written
    return steps


# -- NPZ ------------------------------------------------------------------------------------------

NPZ = "data.npz"


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _xy(n: int = 40) -> list[Member]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 2)).astype(np.float32)
    return [Member.stored("x.npy", _npy(x)), Member.stored("y.npy", _npy(np.arange(n) % 2))]


def _npz(d: Path, data: bytes) -> list[list[str]]:
    write(d, NPZ, data)
    return _check(d, mlp(2), {"format": "npz", "path": NPZ})


@case("npz_ok", names=None, expect="ok")
def _(d):
    return _npz(d, raw_zip(_xy()))


@case("npz_empty", names=NPZ)
def _(d):
    return _npz(d, b"")


@case("npz_random_bytes", names=NPZ)
def _(d):
    return _npz(d, noise(4096, seed=5))


@case("npz_truncated", names=NPZ)
def _(d):
    data = raw_zip(_xy())
    return _npz(d, data[: len(data) // 2])


@case("npz_pickled_object_array", names=NPZ, post=_no_pwned)
def _(d):
    payload = npy_bytes("|O", (1,), pickle.dumps(np.array([_Payload()], dtype=object)))
    return _npz(d, raw_zip([Member.stored("x.npy", payload), _xy()[1]]))


@case("npz_member_traversal", names=NPZ)
def _(d):
    return _npz(d, raw_zip(_xy() + [Member.stored("../../evil.npy", _npy(np.zeros(2)))]))


@case("npz_member_absolute", names=NPZ)
def _(d):
    return _npz(d, raw_zip(_xy() + [Member.stored("/tmp/evil.npy", _npy(np.zeros(2)))]))


@case("npz_header_declares_100000x100000", names=NPZ)
def _(d):
    x = Member.stored("x.npy", npy_bytes("<f4", (100_000, 100_000), bytes(80)))
    return _npz(d, raw_zip([x, _xy()[1]]))


@case("npz_zip_headers_declare_8_gib", names=NPZ)
def _(d):
    parts = _xy()
    for m in parts:
        m.method, m.size = 8, (4 << 30) - 1
    return _npz(d, raw_zip(parts))


@case("npz_bomb_x_1500_mib_for_3_labels", names=NPZ)
def _(d):
    """x is 1.5 GiB of zeros (1.5 MB compressed); y holds 3 labels: the headers alone show
    that they cannot go together."""
    prefix = npy_header("<f4", (1500 * MIB // 16, 4))
    x = Member("x.npy", deflate_zeros(prefix, 1500), 8, len(prefix) + 1500 * MIB)
    x.crc = crc32_zeros_after(prefix, 1500)
    y = Member.stored("y.npy", _npy(np.arange(3)))
    return _npz(d, raw_zip([x, y]))


@case("npz_no_x_or_y", names=NPZ)
def _(d):
    a, b = _xy()
    a.name, b.name = "features.npy", "labels.npy"
    return _npz(d, raw_zip([a, b]))


@case("npz_lengths_differ", names=NPZ)
def _(d):
    return _npz(d, raw_zip([_xy(40)[0], _xy(30)[1]]))


@case("npz_nan_inputs", names=NPZ)
def _(d):
    x = np.full((40, 2), np.nan, np.float32)
    return _npz(d, raw_zip([Member.stored("x.npy", _npy(x)), _xy()[1]]))


# -- IDX --------------------------------------------------------------------------------------

IMAGES, LABELS = "images.idx", "labels.idx"
IDX_GRAPH = mlp([1, 4, 4], flatten=True)


def _idx(d: Path, images: bytes, labels: bytes | None = None, name: str = IMAGES):
    write(d, name, images)
    write(d, LABELS, _labels(10) if labels is None else labels)
    return _check(d, IDX_GRAPH, {"format": "idx", "images": name, "labels": LABELS})


def _labels(n: int) -> bytes:
    return idx(0x08, [n], bytes(i % 2 for i in range(n)))


@case("idx_ok", names=None, expect="ok")
def _(d):
    return _idx(d, idx(0x08, [10, 4, 4], noise(160, seed=6)), _labels(10))


@case("idx_dims_product_wraps_to_zero", names=IMAGES, defect="5")
def _(d):
    """65536^4: 2^64 values, which int64 arithmetic wraps to 0 -- the size of the data."""
    return _idx(d, idx(0x08, [65536, 65536, 65536, 65536], b""))


@case("idx_dims_product_wraps_negative", names=IMAGES, forbid=[r"(?<![\w.])-\d"], defect="5")
def _(d):
    return _idx(d, idx(0x08, [65536, 65536, 65536, 32768], bytes(10)))


@case("idx_truncated", names=IMAGES)
def _(d):
    return _idx(d, idx(0x08, [10, 4, 4], bytes(100)))


@case("idx_bad_magic", names=IMAGES)
def _(d):
    return _idx(d, b"\x12\x34\x08\x03" + bytes(200))


@case("idx_empty", names=IMAGES)
def _(d):
    return _idx(d, b"")


@case("idx_zero_dimensions", names=IMAGES)
def _(d):
    return _idx(d, idx(0x08, [], b""))


@case("idx_label_count_differs", names=LABELS)
def _(d):
    return _idx(d, idx(0x08, [10, 4, 4], bytes(160)), _labels(7))


@case("idx_gzip_bomb_3_gib", names="images.idx.gz")
def _(d):
    """A 3 MB .gz whose IDX header and data are 3 GiB of zeros once decompressed."""
    header = idx(0x08, [3072, 1024, 1024], b"")
    return _idx(d, gzip_zeros(header, 3072), name="images.idx.gz")


# -- images -------------------------------------------------------------------------------------

PHOTOS = "photos"
IMAGE_GRAPH = mlp([1, 8, 8], flatten=True)


def _photos(d: Path, extra: dict[str, bytes] | None = None) -> list[list[str]]:
    for label in ("cat", "dog"):
        for i in range(3):
            write(d, f"{PHOTOS}/{label}/{i}.png", png(8, 8))
    for name, data in (extra or {}).items():
        write(d, f"{PHOTOS}/{name}", data)
    spec = {"format": "images", "path": PHOTOS, "size": [8, 8], "color": "grayscale"}
    return _check(d, IMAGE_GRAPH, spec)


@case("images_ok", names=None, expect="ok")
def _(d):
    return _photos(d)


@case("images_truncated_png", names="bad.png")
def _(d):
    data = png(64, 64)
    return _photos(d, {"cat/bad.png": data[: len(data) // 2]})


@case("images_png_declares_100000x100000", names="bomb.png")
def _(d):
    return _photos(d, {"dog/bomb.png": png(100_000, 100_000)})


@case("images_random_bytes_png", names="noise.png")
def _(d):
    return _photos(d, {"cat/noise.png": noise(2048, seed=7)})


@case("images_zero_byte_png", names="empty.png")
def _(d):
    return _photos(d, {"cat/empty.png": b""})


@case("images_no_class_folders", names=PHOTOS)
def _(d):
    write(d, f"{PHOTOS}/0.png", png(8, 8))
    spec = {"format": "images", "path": PHOTOS, "size": [8, 8], "color": "grayscale"}
    return _check(d, IMAGE_GRAPH, spec)


@case("images_path_is_a_file", names="one.png")
def _(d):
    write(d, "one.png", png(8, 8))
    spec = {"format": "images", "path": "one.png", "size": [8, 8], "color": "grayscale"}
    return _check(d, IMAGE_GRAPH, spec)


# -- text CSV -----------------------------------------------------------------------------------

TEXT = "reviews.csv"
TEXT_GRAPH = chain(
    ("words", "Input", {"shape": [10], "dtype": "int64"}),
    ("embedding", "Embedding", {"input_dim": 50, "output_dim": 4}),
    ("flat", "Flatten", {}),
    ("output", "Dense", {"units": 2, "activation": "softmax"}),
)


def _text(d: Path, data: str | bytes) -> list[list[str]]:
    write(d, TEXT, data)
    spec = {
        "format": "text_csv",
        "path": TEXT,
        "text_column": "text",
        "target": "label",
        "num_words": 50,
        "max_length": 10,
    }
    return _check(d, TEXT_GRAPH, spec)


def _reviews(n: int = 30) -> str:
    words = ["good", "bad", "fine", "awful", "great", "dull"]
    return "".join(f"{words[i % 6]} film {words[(i * 5) % 6]},{i % 2}\n" for i in range(n))


@case("text_ok", names=None, expect="ok")
def _(d):
    return _text(d, "text,label\n" + _reviews())


@case("text_bad_utf8", names=TEXT)
def _(d):
    return _text(d, b"text,label\n\xc3\x28 film,1\n" + _reviews().encode())


@case("text_missing_text_column", names=TEXT, also=["text"])
def _(d):
    return _text(d, "review,label\n" + _reviews())


@case("text_5_mb_review", names=TEXT)
def _(d):
    return _text(d, "text,label\n" + "word " * MIB + ",1\n" + _reviews())


@case("text_empty_texts", names=TEXT, also=[r"row \d"])
def _(d):
    return _text(d, "text,label\n ,1\n,0\n" + _reviews())
