"""Image-folder import: classes from folders, resizing, colour modes, and bad folders/files."""

import numpy as np
import pytest
from PIL import Image

from engine.data import DataError, read_image_folder


def save(path, mode="L", size=(10, 8), value=128, fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    color = value if mode in ("L", "P") else (value,) * len(mode)
    Image.new(mode, size, color).save(path, format=fmt)
    return path


def test_classes_shapes_and_scaling(tmp_path):
    root = tmp_path / "photos"
    save(root / "cat" / "a.png", value=255)
    save(root / "cat" / "b.jpg", mode="RGB", value=0)
    save(root / "dog" / "c.bmp", mode="RGB", size=(20, 20), value=51)
    (root / "dog" / "notes.txt").write_text("not an image")
    ds = read_image_folder(root, size=(6, 5), color="grayscale")
    assert ds.x.shape == (3, 1, 6, 5) and ds.x.dtype == np.float32
    assert ds.class_names == ["cat", "dog"] and list(ds.y) == [0, 0, 1]
    assert ds.x.min() >= 0 and ds.x.max() <= 1
    assert np.allclose(ds.x[0], 1.0) and np.allclose(ds.x[2], 0.2, atol=0.01)
    assert any("notes.txt" in n for n in ds.notes)
    rgb = read_image_folder(root, size=[4, 4], color="rgb")
    assert rgb.x.shape == (3, 3, 4, 4)


def test_keep_mode_requires_one_mode(tmp_path):
    root = tmp_path / "set"
    save(root / "a" / "1.png", mode="RGB")
    save(root / "a" / "2.png", mode="RGB")
    save(root / "b" / "3.png", mode="RGBA")
    with pytest.raises(DataError, match=r"b/3.png is RGBA but a/1.png is RGB; .*color="):
        read_image_folder(root, size=(4, 4), color=None)
    (root / "b" / "3.png").unlink()
    save(root / "b" / "3.png", mode="RGB")
    assert read_image_folder(root, size=(4, 4), color=None).x.shape == (3, 3, 4, 4)


def test_empty_folder_and_empty_class(tmp_path):
    root = tmp_path / "empty"
    root.mkdir()
    with pytest.raises(DataError, match="empty: no class folders found"):
        read_image_folder(root)
    (root / "cats").mkdir()
    (root / "cats" / "readme.txt").write_text("x")
    with pytest.raises(DataError, match="empty/cats: class folder holds no PNG, JPEG or BMP"):
        read_image_folder(root)
    with pytest.raises(DataError, match="folder not found"):
        read_image_folder(tmp_path / "nowhere")


def test_unreadable_image_names_the_file(tmp_path):
    root = tmp_path / "pics"
    save(root / "ok" / "good.png")
    (root / "ok" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(DataError, match=r"ok/broken.png: cannot read this image"):
        read_image_folder(root, size=(4, 4))


def test_limits(tmp_path):
    root = tmp_path / "big"
    save(root / "a" / "wide.png", size=(300, 300))
    with pytest.raises(DataError, match="a/wide.png: 300x300 pixels is more than the limit"):
        read_image_folder(root, size=(4, 4), max_pixels=10_000)
    with pytest.raises(DataError, match="would take .* more than the limit"):
        read_image_folder(root, size=(100, 100), max_bytes=1000)
    with pytest.raises(DataError, match=r"size must be \[height, width\]"):
        read_image_folder(root, size=(0, 4))
