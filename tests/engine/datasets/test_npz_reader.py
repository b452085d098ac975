"""The pickle-free reader of ragged ``.npz`` arrays: numpy's own ``np.savez`` writes the
fixtures, and hostile pickles are refused without ever being run."""

from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np
import pytest

from engine.data import DataError
from engine.datasets.npz_reader import read_npz, read_pickled_object_array
from engine.datasets.sequences import pad_ragged


def _objects(items) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = item
    return out


def test_lists_of_ints_round_trip_through_numpy_savez(tmp_path):
    rng = np.random.default_rng(1)
    seqs = [[int(v) for v in rng.integers(0, 90_000, int(n))] for n in rng.integers(0, 3000, 40)]
    seqs[3] = []
    seqs[4] = [2**40, -5, 255, 256, 65_535, 65_536]  # every integer opcode width
    path = tmp_path / "a.npz"
    np.savez(path, x=_objects(seqs), y=np.arange(40), grid=np.ones((2, 3), np.float32))
    arrays = read_npz(path)
    assert [list(s) for s in arrays["x"].to_lists()] == seqs
    np.testing.assert_array_equal(arrays["y"], np.arange(40))
    assert arrays["grid"].dtype == np.float32 and arrays["grid"].shape == (2, 3)


def test_integer_arrays_as_elements_are_read_too(tmp_path):
    items = [np.arange(5, dtype=np.int32), np.array([7, 8], dtype=">i8"), np.zeros(0, np.int16)]
    np.savez(tmp_path / "b.npz", x=_objects(items))
    ragged = read_npz(tmp_path / "b.npz")["x"]
    assert ragged.to_lists().tolist() == [[0, 1, 2, 3, 4], [7, 8], []]


class _Evil:
    def __reduce__(self):
        import os

        return (os.system, ("touch /tmp/layercanvas-pwned",))


def _npz_with_pickle(path, payload: bytes) -> None:
    """An .npz whose member is an object-array header followed by ``payload``."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "|O", "fortran_order": False, "shape": (1,)}
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.npy", header.getvalue() + payload)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (pickle.dumps(_objects([_Evil()]), protocol=2), "names '(_codecs|posix|os)\\."),
        (pickle.dumps(_objects([_Evil()]), protocol=4), "names 'posix.system'|names 'os.system'"),
        (pickle.dumps(_objects([{"a": 1}])), "opcode"),
        (pickle.dumps(_objects([[1.5, 2.5]])), "opcode"),
        (pickle.dumps(_objects([[1, 2, 3]]))[:-20], "ends early|not accepted|stack"),
    ],
    ids=["system-p2", "system-p4", "dict", "floats", "truncated"],
)
def test_anything_but_integer_sequences_is_refused_and_never_run(tmp_path, payload, message):
    marker = "/tmp/layercanvas-pwned"
    import os

    if os.path.exists(marker):
        os.remove(marker)
    path = tmp_path / "evil.npz"
    _npz_with_pickle(path, payload)
    with pytest.raises(DataError, match=message) as err:
        read_npz(path)
    assert "evil.npz (x.npy)" in str(err.value)
    assert not os.path.exists(marker)


def test_bad_archives_are_named(tmp_path):
    path = tmp_path / "notzip.npz"
    path.write_bytes(b"hello")
    with pytest.raises(DataError, match=r"notzip\.npz: not a readable \.npz archive"):
        read_npz(path)
    with zipfile.ZipFile(tmp_path / "slip.npz", "w") as archive:
        archive.writestr("../x.npy", b"")
    with pytest.raises(DataError, match="unexpected archive member '../x.npy'"):
        read_npz(tmp_path / "slip.npz")
    with pytest.raises(DataError, match="larger than|uncompressed"):
        np.savez(tmp_path / "big.npz", x=np.zeros(1000))
        read_npz(tmp_path / "big.npz", max_member_bytes=100)


def test_padding_matches_keras_pad_sequences(tmp_path):
    from keras.preprocessing.sequence import pad_sequences

    seqs = [[1, 2, 3], [], [4, 5, 6, 7, 8, 9], [10]]
    np.savez(tmp_path / "s.npz", x=_objects(seqs))
    ragged = read_npz(tmp_path / "s.npz")["x"]
    np.testing.assert_array_equal(pad_ragged(ragged, 4), pad_sequences(seqs, maxlen=4))
    assert read_pickled_object_array  # the public entry point for one member's stream
