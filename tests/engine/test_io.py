"""Model files: round trips, resumed training, and refusal of damaged or hostile files."""

import io as pyio
import json
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

import engine
from engine import Input, Model, Sequential
from engine.io import ModelFileError
from engine.layers import Dense, Dropout, Flatten
from engine.model_files import archive as model_archive


def _data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 1, 4, 4)).astype(np.float32)
    y = (x.reshape(n, -1).sum(axis=1) > 0).astype(np.int64) + 2 * (x[:, 0, 0, 0] > 0)
    return x, y


def _model(seed=0):
    engine.set_random_seed(seed)
    model = Sequential(
        [
            Input((1, 4, 4), name="pixels"),
            Flatten(),
            Dense(12, activation="relu"),
            Dropout(0.2),
            Dense(4, activation="softmax"),
        ],
        name="small",
    )
    model.compile(
        optimizer={"name": "adam", "learning_rate": 0.01},
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


@pytest.fixture
def saved(tmp_path):
    x, y = _data()
    model = _model()
    model.fit(x, y, epochs=1, batch_size=16, seed=0, verbose=0)
    model.metadata = {"class_names": ["a", "b", "c", "d"], "mean": np.float32(0.5)}
    path = tmp_path / "small.lcmodel"
    model.save(path)
    return model, path


def test_archive_holds_exactly_the_documented_members(saved):
    model, path = saved
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        config = json.loads(archive.read("config.json"))
        metadata = json.loads(archive.read("metadata.json"))
    n = len(model.get_weights())
    assert names[:2] == ["config.json", "metadata.json"]
    assert [m for m in names if m.startswith("weights/")] == [
        f"weights/{i:04d}.npy" for i in range(n)
    ]
    assert any(m.startswith("optimizer/") for m in names)
    assert config["format"] == "layercanvas-model" and config["version"] == 1
    assert config["model"]["class_name"] == "Sequential"
    assert config["compile"]["loss"] == "sparse_categorical_crossentropy"
    assert metadata["user"] == {"class_names": ["a", "b", "c", "d"], "mean": 0.5}
    assert metadata["engine_version"] == engine.__version__
    assert list(Path(path).parent.iterdir()) == [Path(path)]  # no temporary file left


def test_round_trip_gives_identical_predictions_and_compile_state(saved):
    model, path = saved
    x, _ = _data(20, seed=1)
    loaded = engine.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert loaded.name == "small" and loaded.metadata == model.metadata
    model.metadata = {"std": np.array([1.0, 2.0])}
    model.save(path)
    assert engine.load_model(path).metadata == {"std": [1.0, 2.0]}
    model.metadata = {"fn": print}
    with pytest.raises(TypeError, match="metadata cannot be saved"):
        model.save(path)
    assert loaded.compiled and type(loaded.optimizer) is type(model.optimizer)
    assert loaded.optimizer.iterations == model.optimizer.iterations
    assert loaded.metrics_names == ["loss", "accuracy"]
    uncompiled = engine.load_model(path, compile=False)
    assert not uncompiled.compiled


def test_resumed_training_equals_uninterrupted_training(tmp_path):
    x, y = _data()
    straight = _model()
    straight.fit(x, y, epochs=4, batch_size=16, seed=3, verbose=0)

    first = _model()
    first.fit(x, y, epochs=2, batch_size=16, seed=3, verbose=0)
    first.save(tmp_path / "half.lcmodel")
    resumed = engine.load_model(tmp_path / "half.lcmodel")
    resumed.fit(x, y, epochs=4, initial_epoch=2, batch_size=16, seed=3, verbose=0)

    for a, b in zip(resumed.get_weights(), straight.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert resumed.optimizer.iterations == straight.optimizer.iterations


def test_functional_model_with_two_outputs_round_trips(tmp_path):
    a, b = Input((3,), name="a"), Input((2,), name="b")
    shared = Dense(4, activation="tanh", name="shared")
    merged = engine.layers.Concatenate(name="cat")([shared(a), Dense(4, name="db")(b)])
    model = Model(
        [a, b], [Dense(3, activation="softmax", name="cls")(merged), Dense(1, name="reg")(merged)]
    )
    model.compile(
        "sgd",
        loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"},
        metrics={"cls": ["accuracy"]},
        loss_weights={"cls": 1.0, "reg": 0.5},
    )
    xa, xb = np.ones((4, 3), np.float32), np.zeros((4, 2), np.float32)
    model.fit([xa, xb], [np.array([0, 1, 2, 1]), np.arange(4.0)], epochs=1, verbose=0)
    model.save(tmp_path / "two.lcmodel")
    loaded = engine.load_model(tmp_path / "two.lcmodel")
    for got, want in zip(loaded.predict([xa, xb]), model.predict([xa, xb])):
        np.testing.assert_array_equal(got, want)
    assert loaded.metrics_names == model.metrics_names
    assert loaded.evaluate([xa, xb], [np.array([0, 1, 2, 1]), np.arange(4.0)]) == pytest.approx(
        model.evaluate([xa, xb], [np.array([0, 1, 2, 1]), np.arange(4.0)]), rel=1e-6
    )


def test_loss_objects_are_saved_by_config(tmp_path):
    model = Sequential([Input((2,)), Dense(1)])
    model.compile(engine.optimizers.SGD(learning_rate=0.05), loss=engine.losses.Huber(delta=2.0))
    model.save(tmp_path / "huber.lcmodel")
    loaded = engine.load_model(tmp_path / "huber.lcmodel")
    assert isinstance(loaded._compiled_spec().losses[0], engine.losses.Huber)
    assert loaded.optimizer.learning_rate == pytest.approx(0.05)


def test_metric_and_optimizer_objects_are_saved_by_config(tmp_path):
    model = Sequential([Input((3,)), Dense(2, activation="softmax")])
    model.compile(
        engine.optimizers.RMSprop(learning_rate=0.003),
        loss="sparse_categorical_crossentropy",
        metrics=[engine.metrics.SparseCategoricalAccuracy(), "mae"],
    )
    model.save(tmp_path / "objects.lcmodel")
    loaded = engine.load_model(tmp_path / "objects.lcmodel")
    assert isinstance(loaded.optimizer, engine.optimizers.RMSprop)
    assert loaded.optimizer.learning_rate == pytest.approx(0.003)
    assert loaded.metrics_names == ["loss", "sparse_categorical_accuracy", "mae"]


def test_an_unbuilt_model_cannot_be_saved(tmp_path):
    with pytest.raises(ValueError, match="no input yet"):
        Sequential([Dense(2)]).save(tmp_path / "empty.lcmodel")


def test_custom_loss_function_saves_an_uncompiled_model(tmp_path):
    model = Sequential([Input((2,)), Dense(1)])
    model.compile("sgd", loss=lambda t, p: engine.ops.mean(engine.ops.square(p)))
    model.save(tmp_path / "custom.lcmodel")
    assert not engine.load_model(tmp_path / "custom.lcmodel").compiled


def test_weights_files_round_trip_and_refuse_other_architectures(tmp_path):
    model = _model()
    path = tmp_path / "w.weights.npz"
    model.save_weights(path)
    other = _model(seed=5)
    other.load_weights(path)
    for a, b in zip(other.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    # numpy reads the file too: it is a plain zip of .npy arrays, no pickle.
    with np.load(path, allow_pickle=False) as npz:
        assert len([k for k in npz.files if k.startswith("weights/")]) == len(model.weights)
    wider = Sequential([Input((1, 4, 4)), Flatten(), Dense(13), Dense(4)])
    with pytest.raises(ModelFileError, match="different architecture") as info:
        wider.load_weights(path)
    assert str(path) in str(info.value)
    # A model file's weights can be loaded into the same architecture too.
    model.save(tmp_path / "m.lcmodel")
    other.load_weights(tmp_path / "m.lcmodel")


def test_save_is_atomic(tmp_path, monkeypatch, saved):
    model, path = saved
    before = path.read_bytes()
    calls = {"n": 0}
    original = zipfile.ZipFile.writestr

    def failing(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", failing)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    monkeypatch.undo()
    with pytest.raises(FileExistsError):
        model.save(path, overwrite=False)


# -- damaged and hostile files --------------------------------------------------------------


def _rewrite(path: Path, out: Path, edit) -> Path:
    """Copy the archive at ``path`` to ``out``, letting ``edit(members)`` change the members."""
    with zipfile.ZipFile(path) as archive:
        members = [(info.filename, archive.read(info)) for info in archive.infolist()]
    members = edit(members)
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members:
            archive.writestr(name, data)
    return out


def _member_offset(path: Path, name: str) -> tuple[int, int]:
    """Where the stored bytes of member ``name`` start in the file, and how many there are."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(name)
    raw = path.read_bytes()
    header = info.header_offset
    name_len, extra_len = struct.unpack("<HH", raw[header + 26 : header + 30])
    return header + 30 + name_len + extra_len, info.compress_size


def _expect_error(path: Path, match: str) -> None:
    with pytest.raises(ModelFileError, match=match) as info:
        engine.load_model(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_truncated_file(saved, tmp_path):
    _, path = saved
    raw = path.read_bytes()
    for keep in (len(raw) // 2, len(raw) - 10, 30):
        cut = tmp_path / f"cut{keep}.lcmodel"
        cut.write_bytes(raw[:keep])
        _expect_error(cut, "truncated or not a zip")


@pytest.mark.parametrize("member", ["config.json", "weights/0002.npy"])
def test_flipped_bytes_inside_a_member(saved, tmp_path, member):
    _, path = saved
    raw = bytearray(path.read_bytes())
    start, size = _member_offset(path, member)
    for k in range(start + size // 3, start + size // 3 + 4):
        raw[k] ^= 0xFF
    bad = tmp_path / "flipped.lcmodel"
    bad.write_bytes(bytes(raw))
    _expect_error(bad, "damaged")


def test_flipped_bytes_in_the_directory(saved, tmp_path):
    _, path = saved
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("weights/0000.npy")
    raw[info.header_offset : info.header_offset + 4] = b"XXXX"  # the local header's signature
    bad = tmp_path / "header.lcmodel"
    bad.write_bytes(bytes(raw))
    _expect_error(bad, "damaged")


@pytest.mark.parametrize("evil", ["../evil", "/etc/passwd", "weights/../../x.npy", "run.py"])
def test_unexpected_member_names(saved, tmp_path, evil):
    _, path = saved
    bad = _rewrite(path, tmp_path / "evil.lcmodel", lambda m: [*m, (evil, b"boom")])
    _expect_error(bad, "unexpected member")


def test_member_too_large_by_header(saved, tmp_path, monkeypatch):
    _, path = saved
    monkeypatch.setattr(model_archive, "MAX_ARRAY_BYTES", 4096)
    raw = bytearray(path.read_bytes())
    # Make the central directory claim weights/0000.npy unpacks to 10x the limit. Its entry
    # is the name's last occurrence (the directory comes after the data), 46 bytes after
    # the entry's start; the uncompressed size sits at offset 24.
    at = raw.rindex(b"weights/0000.npy") - 46
    assert raw[at : at + 4] == b"PK\x01\x02"
    raw[at + 24 : at + 28] = struct.pack("<I", 40960)
    bad = tmp_path / "big.lcmodel"
    bad.write_bytes(bytes(raw))
    _expect_error(bad, "claims 40,960 bytes, more than the limit of 4,096")


def test_member_really_too_large(saved, tmp_path, monkeypatch):
    _, path = saved
    monkeypatch.setattr(model_archive, "MAX_JSON_BYTES", 100)
    _expect_error(path, "config.json' claims")


def test_too_many_members(saved, tmp_path, monkeypatch):
    _, path = saved
    monkeypatch.setattr(model_archive, "MAX_MEMBERS", 3)
    _expect_error(path, "members")


@pytest.mark.parametrize(
    "content", [b"", b"garbage bytes, not a zip at all" * 10, bytes(range(256)) * 4]
)
def test_garbage_files(tmp_path, content):
    bad = tmp_path / "garbage.lcmodel"
    bad.write_bytes(content)
    _expect_error(bad, "not a zip")


def test_missing_file_and_folder(tmp_path):
    _expect_error(tmp_path / "nothing.lcmodel", "file not found")
    _expect_error(tmp_path, "folder")


def _edit_config(edit):
    def apply(members):
        out = []
        for name, data in members:
            if name == "config.json":
                config = json.loads(data)
                edit(config)
                data = json.dumps(config).encode()
            out.append((name, data))
        return out

    return apply


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda c: c.update(format="something-else"), "not a layercanvas-model file"),
        (lambda c: c.update(version=99), "format version 99"),
        (lambda c: c.update(num_weights=2), "do not match"),
        (lambda c: c.update(num_weights="many"), "num_weights"),
        (lambda c: c["model"].update(class_name="builtins.eval"), "unknown model class"),
        (
            lambda c: c["model"]["config"]["layers"][2].update(class_name="subprocess.Popen"),
            "unknown layer type",
        ),
        (
            lambda c: c["model"]["config"]["layers"][2]["config"].update(units=13),
            "shape",
        ),
        (
            lambda c: c["model"]["config"]["layers"][2]["config"].update(units=10**6),
            "more weights",
        ),
        (lambda c: c["compile"].update(loss="no_such_loss"), "unknown loss"),
        (lambda c: c["optimizer"].update(state_keys=["m/0"]), "do not match"),
    ],
)
def test_tampered_configuration(saved, tmp_path, edit, match):
    _, path = saved
    bad = _rewrite(path, tmp_path / "tampered.lcmodel", _edit_config(edit))
    _expect_error(bad, match)


def test_invalid_json_and_pickled_arrays(saved, tmp_path):
    _, path = saved

    def broken_json(members):
        return [(n, b"{not json" if n == "config.json" else d) for n, d in members]

    _expect_error(_rewrite(path, tmp_path / "json.lcmodel", broken_json), "not valid JSON")

    def pickled(members):
        buffer = pyio.BytesIO()
        np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
        return [(n, buffer.getvalue() if n == "weights/0001.npy" else d) for n, d in members]

    _expect_error(_rewrite(path, tmp_path / "pickle.lcmodel", pickled), "not a valid array")

    def not_npy(members):
        return [(n, b"PK\x03\x04 zip inside" if n == "weights/0001.npy" else d) for n, d in members]

    _expect_error(_rewrite(path, tmp_path / "npz.lcmodel", not_npy), "not a valid array")


def test_duplicate_members(saved, tmp_path):
    _, path = saved
    bad = tmp_path / "dup.lcmodel"
    with pytest.warns(UserWarning, match="Duplicate name"):
        _rewrite(path, bad, lambda m: [*m, ("weights/0000.npy", m[2][1])])
    _expect_error(bad, "appears twice")


def test_weights_of_the_wrong_shape(saved, tmp_path):
    _, path = saved

    def swap(members):
        buffer = pyio.BytesIO()
        np.save(buffer, np.zeros((3, 3), np.float32))
        return [(n, buffer.getvalue() if n == "weights/0000.npy" else d) for n, d in members]

    _expect_error(_rewrite(path, tmp_path / "shape.lcmodel", swap), "has shape")
