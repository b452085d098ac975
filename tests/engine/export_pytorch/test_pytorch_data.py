"""The package's data.py reads the project's own source — a Keras-style set from the dataset
cache, a CSV, an image folder, an .npz — and yields what the engine trains on: the same
samples in each split, after the same preprocessing (checked against the engine's own batch
loader). Overrides work, a missing file is one clear message, sources the package cannot
reproduce fall back to data.npz and say why."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from engine.datasets import install_files  # noqa: E402
from engine.export_pytorch import export_pytorch  # noqa: E402
from engine.graph.project import load_project  # noqa: E402
from engine.graph.session import prepare_training  # noqa: E402
from tests.engine.datasets.archives import make_files, pin  # noqa: E402
from tests.engine.export_pytorch.torch_package import import_file  # noqa: E402

N = 64  # samples compared per split (the fixture sets are small: often all of them)
TRAINING = {
    "loss": "sparse_categorical_crossentropy",
    "optimizer": "adam",
    "metrics": ["accuracy"],
    "batch_size": 16,
    "epochs": 1,
}


def _graph(shape, units, dtype=None, body=("flat",)):
    params = {"shape": list(shape)} | ({"dtype": dtype} if dtype else {})
    nodes = [{"id": "input", "type": "Input", "params": params, "position": [0, 0]}]
    if "flat" in body:
        nodes.append({"id": "flat", "type": "Flatten", "params": {}, "position": [0, 1]})
    if "embed" in body:
        nodes.append({"id": "embed", "type": "Embedding", "position": [0, 1],
                      "params": {"input_dim": 500, "output_dim": 4}})  # fmt: skip
        nodes.append({"id": "pool", "type": "GlobalAveragePooling1D", "params": {},
                      "position": [0, 2]})  # fmt: skip
    nodes.append({"id": "out", "type": "Dense", "position": [0, 3],
                  "params": {"units": units, "activation": "softmax"}})  # fmt: skip
    edges = [{"source": a["id"], "target": b["id"], "target_port": 0}
             for a, b in zip(nodes, nodes[1:])]  # fmt: skip
    return {"nodes": nodes, "edges": edges}


def _project(folder, graph, dataset, name="p.lcproj"):
    raw = {
        "format": "layercanvas-project",
        "version": 1,
        "name": "data test",
        "graph": graph,
        "dataset": dataset,
        "training": TRAINING,
    }
    path = folder / name
    path.write_text(json.dumps(raw))
    return load_project(path)


def _data_module(package, monkeypatch):
    """The package's data.py, importing its own siblings (never another package's)."""
    monkeypatch.syspath_prepend(str(package))
    for name in ("data_sources", "keras_sets"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    return import_file(package / "data.py")


def _engine_batches(project):
    """The first N samples of each split as the engine's own batch loader gives them."""
    data = prepare_training(project).data
    out = {}
    for split in ("train", "validation"):
        x, y = next(iter(data.eval_loader(split, N).epoch(0)))
        out[split] = (np.asarray(x), np.asarray(y), len(data.split(split)))
    return out


def _assert_same(module, engine, **load_args):
    train, val = module.load(**load_args)
    for name, part in (("train", train), ("validation", val)):
        x_ref, y_ref, n = engine[name]
        assert len(part) == n
        x, y = part.arrays(N)
        assert x.dtype == x_ref.dtype and x.shape == x_ref.shape
        if x.dtype.kind == "f":
            np.testing.assert_allclose(x, x_ref, rtol=0, atol=1e-6)
        else:
            np.testing.assert_array_equal(x, x_ref)
        np.testing.assert_array_equal(y, y_ref)
        # Through PyTorch's DataLoader too (batches are built by __getitems__).
        xb, yb = next(iter(torch.utils.data.DataLoader(part, batch_size=8)))
        np.testing.assert_allclose(xb.numpy(), x_ref[:8], rtol=0, atol=1e-6)
        np.testing.assert_array_equal(yb.numpy(), y_ref[:8])
    return train, val


def _run_train(package, *args):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": ""}
    return subprocess.run(
        [sys.executable, "train.py", "--out", "run", "--epochs", "1", *args],
        cwd=package, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERCANVAS_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _install(name, tmp_path, monkeypatch):
    source = tmp_path / "files"
    make_files(name, source)
    entry = pin(monkeypatch, name, source, "http://127.0.0.1:9")
    install_files(name, [source / f.name for f in entry.files])


def test_mnist_is_read_from_the_cache_and_stays_uint8(cache, tmp_path, monkeypatch):
    _install("mnist", tmp_path, monkeypatch)
    project = _project(tmp_path, _graph((1, 28, 28), 10),
                       {"name": "mnist", "validation_split": 0.25, "seed": 3})  # fmt: skip
    pkg = tmp_path / "pkg"
    export_pytorch(project, pkg)
    config = json.loads((pkg / "data.json").read_text())
    assert config["kind"] == "keras" and "reason" not in config
    assert not (pkg / "data.npz").exists() and (pkg / "split.npz").exists()
    module = _data_module(pkg, monkeypatch)
    train, val = _assert_same(module, _engine_batches(project))
    assert train.x.dtype == np.uint8 and val.x.dtype == np.uint8  # converted per batch only

    # Another cache: --cache-dir; and the set's folder itself: --data.
    moved = tmp_path / "elsewhere"
    shutil.move(str(cache), str(moved))
    with pytest.raises(SystemExit, match=r"mnist\.npz not found.*datasets download mnist"):
        module.load()
    _assert_same(module, _engine_batches_from(project, moved), cache_dir=moved)
    _assert_same(module, _engine_batches_from(project, moved), path=moved / "mnist")
    done = _run_train(pkg, "--cache-dir", str(moved))  # train.py end to end, on the cache
    assert done.returncode == 0, done.stderr[-2000:]
    assert len((pkg / "run" / "metrics.jsonl").read_text().splitlines()) == 1


def _engine_batches_from(project, cache_folder):
    old = os.environ["LAYERCANVAS_CACHE_DIR"]
    os.environ["LAYERCANVAS_CACHE_DIR"] = str(cache_folder)
    try:
        return _engine_batches(project)
    finally:
        os.environ["LAYERCANVAS_CACHE_DIR"] = old


@pytest.mark.parametrize("name", ["cifar100", "imdb", "reuters", "fashion_mnist", "cifar10"])
def test_other_keras_sets_match_the_engine(cache, tmp_path, monkeypatch, name):
    from engine.datasets import cifar10, cifar100

    _install(name, tmp_path, monkeypatch)
    monkeypatch.setattr(cifar100, "TRAIN_RECORDS", 50)  # the fixture archives' counts
    monkeypatch.setattr(cifar10, "RECORDS_PER_BATCH", 10)
    if name in ("imdb", "reuters"):
        graph = _graph((30,), 2 if name == "imdb" else 46, dtype="int64", body=("embed",))
        dataset = {"name": name, "num_words": 250, "maxlen": 30, "seed": 1}
    elif name in ("fashion_mnist", "cifar10"):
        graph = _graph((1, 28, 28) if name == "fashion_mnist" else (3, 32, 32), 10)
        dataset = {"name": name, "validation_split": 0.3}
    else:
        graph = _graph((3, 32, 32), 100)
        # (the fixture archive names only 2 coarse classes, too few for its labels)
        dataset = {"name": "cifar100", "label_mode": "fine", "validation_split": 0.2}
    project = _project(tmp_path, graph, dataset)
    export_pytorch(project, tmp_path / "pkg")
    config = json.loads((tmp_path / "pkg" / "data.json").read_text())
    assert config["kind"] == "keras", config.get("reason")
    _assert_same(_data_module(tmp_path / "pkg", monkeypatch), _engine_batches(project))


def _csv(path, rows, seed):
    rng = np.random.default_rng(seed)
    lines = ["size,colour,weight,kind"]
    for _ in range(rows):
        colour = rng.choice(["red", "green", "blue"])
        lines.append(
            f"{rng.normal(5, 2):.4f},{colour},{rng.integers(1, 90)},{rng.choice(['a', 'b'])}"
        )
    path.write_text("\n".join(lines) + "\n")


def test_csv_project_reads_the_file_with_the_fitted_encoding(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    _csv(tmp_path / "data" / "table.csv", 90, 0)
    dataset = {"format": "csv", "path": "data/table.csv", "target": "kind",
               "normalization": "standardize", "validation_split": 0.3, "seed": 5}  # fmt: skip
    project = _project(tmp_path, _graph((5,), 2, body=()), dataset)
    pkg = tmp_path / "pkg"
    export_pytorch(project, pkg)
    config = json.loads((pkg / "data.json").read_text())
    assert config["kind"] == "files" and config["source"]["path"] == "../data/table.csv"
    assert config["input"]["normalization"]["method"] == "standardize"
    module = _data_module(pkg, monkeypatch)
    engine = _engine_batches(project)
    _assert_same(module, engine)

    # The file moved: one clear message naming it (train.py: no traceback); --data finds it.
    moved = tmp_path / "moved.csv"
    shutil.move(str(tmp_path / "data" / "table.csv"), str(moved))
    with pytest.raises(SystemExit, match=r"table\.csv: no such CSV file.*--data PATH"):
        module.load()
    _assert_same(module, engine, path=moved)
    done = _run_train(pkg)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "table.csv: no such CSV file" in done.stderr and "--data PATH" in done.stderr
    done = _run_train(pkg, "--data", str(moved))
    assert done.returncode == 0, done.stderr[-2000:]


def test_image_folder_project(tmp_path, monkeypatch):
    from PIL import Image

    rng = np.random.default_rng(2)
    for c, cls in enumerate(["cat", "dog", "owl"]):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(6):
            h, w = int(rng.integers(6, 14)), int(rng.integers(6, 14))
            pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "imgs" / cls / f"{c}_{i}.png")
    dataset = {"format": "images", "path": "imgs", "size": [8, 8], "color": "rgb",
               "mean": [0.5, 0.4, 0.3], "std": [0.2, 0.25, 0.3],
               "normalization": "minmax", "validation_split": 0.25}  # fmt: skip
    project = _project(tmp_path, _graph((3, 8, 8), 3), dataset)
    export_pytorch(project, tmp_path / "pkg")
    config = json.loads((tmp_path / "pkg" / "data.json").read_text())
    assert config["kind"] == "files" and config["source"]["path"] == "../imgs"
    assert "pillow" in (tmp_path / "pkg" / "requirements.txt").read_text()
    train, _ = _assert_same(_data_module(tmp_path / "pkg", monkeypatch), _engine_batches(project))
    assert train.x.dtype == np.uint8


def test_npz_project_with_a_layout(tmp_path, monkeypatch):
    rng = np.random.default_rng(4)
    x = rng.integers(0, 256, (50, 6, 6), dtype=np.uint8)
    np.savez(tmp_path / "arrays.npz", x=x, y=rng.integers(0, 4, 50))
    dataset = {"format": "npz", "path": "arrays.npz", "layout": "add_channel", "seed": 9}
    project = _project(tmp_path, _graph((1, 6, 6), 4), dataset)
    export_pytorch(project, tmp_path / "pkg")
    assert json.loads((tmp_path / "pkg" / "data.json").read_text())["kind"] == "files"
    _assert_same(_data_module(tmp_path / "pkg", monkeypatch), _engine_batches(project))


def test_idx_project_and_its_labels_override(tmp_path, monkeypatch):
    import gzip

    from tests.engine.datasets.archives import _idx

    rng = np.random.default_rng(6)
    x, y = rng.integers(0, 256, (40, 5, 5), dtype=np.uint8), rng.integers(0, 3, 40)
    (tmp_path / "img.idx.gz").write_bytes(gzip.compress(_idx(x)))
    (tmp_path / "lab.idx").write_bytes(_idx(y.astype(np.uint8)))
    dataset = {"format": "idx", "images": "img.idx.gz", "labels": "lab.idx", "seed": 2}
    project = _project(tmp_path, _graph((1, 5, 5), 3), dataset)
    export_pytorch(project, tmp_path / "pkg")
    config = json.loads((tmp_path / "pkg" / "data.json").read_text())
    assert config["kind"] == "files" and config["source"]["labels"] == "../lab.idx"
    module = _data_module(tmp_path / "pkg", monkeypatch)
    engine = _engine_batches(project)
    train, _ = _assert_same(module, engine)
    assert train.x.dtype == np.uint8
    shutil.move(str(tmp_path / "lab.idx"), str(tmp_path / "moved.idx"))
    with pytest.raises(SystemExit, match=r"lab\.idx: no such IDX labels file"):
        module.load()
    _assert_same(module, engine, labels=tmp_path / "moved.idx")


def test_builtin_sets_keep_the_snapshot(tmp_path, monkeypatch):
    project = _project(tmp_path, _graph((2,), 2, body=()),
                       {"name": "moons", "normalization": "standardize"})  # fmt: skip
    export_pytorch(project, tmp_path / "pkg")
    config = json.loads((tmp_path / "pkg" / "data.json").read_text())
    assert config["kind"] == "builtin" and "reason" not in config
    _assert_same(_data_module(tmp_path / "pkg", monkeypatch), _engine_batches(project))


def test_text_csv_project_uses_the_fitted_vocabulary(tmp_path, monkeypatch):
    words = ["good", "fine", "bad", "awful", "film", "plot", "Don't", "it's"]
    rng = np.random.default_rng(8)
    lines = ["text;label"] + [
        f"{' '.join(rng.choice(words, int(rng.integers(1, 9))))}, #{i}!;{'pos' if i % 3 else 'neg'}"
        for i in range(45)
    ]
    (tmp_path / "reviews.csv").write_text("\n".join(lines) + "\n")
    dataset = {"format": "text_csv", "path": "reviews.csv", "text_column": "text",
               "target": "label", "max_length": 6, "num_words": 8, "padding": "post"}  # fmt: skip
    project = _project(tmp_path, _graph((6,), 2, dtype="int64", body=("embed",)), dataset)
    export_pytorch(project, tmp_path / "pkg")
    config = json.loads((tmp_path / "pkg" / "data.json").read_text())
    assert config["kind"] == "files", config.get("reason")
    assert config["source"]["vocabulary"][:2] == ["<pad>", "<oov>"]
    _assert_same(_data_module(tmp_path / "pkg", monkeypatch), _engine_batches(project))


def test_a_reader_that_disagrees_falls_back_to_the_snapshot(tmp_path, monkeypatch):
    """The export reads the data back with the package's reader; here a reader that forgets
    to scale pixels (a copy of the package with that one change) must not be trusted."""
    from engine.export_pytorch import exporter

    broken = tmp_path / "broken_package"
    shutil.copytree(exporter.PACKAGE_DIR, broken)
    source = (broken / "data_sources.py").read_text()
    assert "batch = batch / np.float32(scale)" in source
    (broken / "data_sources.py").write_text(source.replace("np.float32(scale)", "1"))
    monkeypatch.setattr(exporter, "PACKAGE_DIR", broken)
    rng = np.random.default_rng(1)
    np.save(tmp_path / "x.npy", rng.integers(0, 256, (30, 1, 4, 4), dtype=np.uint8))
    np.save(tmp_path / "y.npy", rng.integers(0, 2, 30))
    from tests.engine.datasets.archives import _idx

    (tmp_path / "img.idx").write_bytes(_idx(np.load(tmp_path / "x.npy")[:, 0]))
    (tmp_path / "lab.idx").write_bytes(_idx(np.load(tmp_path / "y.npy").astype(np.uint8)))
    dataset = {"format": "idx", "images": "img.idx", "labels": "lab.idx"}
    project = _project(tmp_path, _graph((1, 4, 4), 2), dataset)
    result = export_pytorch(project, tmp_path / "pkg")
    config = json.loads((tmp_path / "pkg" / "data.json").read_text())
    assert config["kind"] == "builtin" and "inputs differ" in config["reason"]
    assert not (tmp_path / "pkg" / "split.npz").exists()
    assert "Snapshot, not the source" in (tmp_path / "pkg" / "README.md").read_text()
    assert any("snapshot" in note for note in result.notes)
    _assert_same(_data_module(tmp_path / "pkg", monkeypatch), _engine_batches(project))
