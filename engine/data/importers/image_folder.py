"""Import an image folder: one sub-folder per class, PNG/JPEG/BMP files inside.

``read_image_folder("photos/", size=(32, 32), color="grayscale")`` gives float32
``(N, C, H, W)`` in [0, 1] and int64 labels; the class names are the sub-folder names in sorted
order. Images are converted to ``"grayscale"`` (1 channel) or ``"rgb"`` (3), or with
``color=None`` kept as they are, in which case all must share one mode. Each is resized to
``size`` = (height, width) with bilinear filtering. ``mean`` and ``std`` (one number per
channel, or one for all) normalise each channel after the scaling to [0, 1], as a
pre-trained model expects (ImageNet's are ``mean=[0.485, 0.456, 0.406]``,
``std=[0.229, 0.224, 0.225]``): ``x = (x - mean) / std``. An empty folder, an empty class folder,
an unreadable or oversized image, or mixed modes raise :class:`DataError` naming the file;
files that are not images (``.txt``, ``Thumbs.db``) are left out and listed in the notes.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from engine.data.dataset import Dataset
from engine.data.errors import DataError
from engine.data.files import DEFAULT_MAX_BYTES, check_file, check_folder, format_size

__all__ = ["read_image_folder", "IMAGE_SUFFIXES", "COLORS"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
COLORS = ("grayscale", "rgb", None)
#: Pillow mode per colour choice, and the modes that can be kept as they are.
_MODES = {"grayscale": "L", "rgb": "RGB"}
_KEEPABLE = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}
#: Images with more pixels than this are refused (Pillow's own bomb check warns at ~89M).
DEFAULT_MAX_PIXELS = 50_000_000


def _size(size: object) -> tuple[int, int]:
    if (
        not isinstance(size, list | tuple)
        or len(size) != 2
        or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in size)
    ):
        raise DataError(f"size must be [height, width] with positive integers, got {size!r}")
    return int(size[0]), int(size[1])


def _read_image(
    path: Path,
    root: Path,
    size: tuple[int, int],
    color: str | None,
    max_bytes: int,
    max_pixels: int,
) -> tuple[np.ndarray, str]:
    """One image as float32 (C, H, W) in [0, 1], and its original mode."""
    check_file(path, max_bytes)
    shown = path.relative_to(root)
    try:
        # Pillow's DecompressionBombWarning would be an error under strict warning filters;
        # the explicit pixel limit below gives the user a clearer message instead.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                w, h = img.size
                if w * h > max_pixels:
                    raise DataError(
                        f"{shown}: {w}x{h} pixels is more than the limit of {max_pixels}",
                        path=path,
                    )
                img.load()
                mode = img.mode
                if color is not None:
                    img = img.convert(_MODES[color])
                elif mode not in _KEEPABLE:
                    raise DataError(
                        f"{shown}: mode {mode} cannot be used as it is; load with "
                        "color='grayscale' or 'rgb' to convert",
                        path=path,
                    )
                if img.size != (size[1], size[0]):
                    img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
                pixels = np.asarray(img, dtype=np.float32)
    except DataError:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
    ) as exc:
        raise DataError(f"{shown}: cannot read this image ({exc})", path=path) from None
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    return np.transpose(pixels, (2, 0, 1)) / 255.0, mode


def _per_channel(values: object, name: str, channels: int) -> np.ndarray | None:
    """``mean``/``std`` as float32 (C, 1, 1), checked against the channel count."""
    if values is None:
        return None
    if isinstance(values, int | float) and not isinstance(values, bool):
        values = [values]
    if (
        not isinstance(values, list | tuple)
        or not values
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        or not all(np.isfinite(v) for v in values)
    ):
        raise DataError(f"{name} must be a list of numbers, one per channel, got {values!r}")
    if len(values) not in (1, channels):
        raise DataError(
            f"{name} has {len(values)} values but the images have {channels} channel(s)"
        )
    if name == "std" and any(v <= 0 for v in values):
        raise DataError(f"std must be positive, got {list(values)}")
    out = np.array(values, dtype=np.float32).reshape(-1, 1, 1)
    return np.broadcast_to(out, (channels, 1, 1)).copy()


def read_image_folder(
    path: str | Path,
    size: tuple[int, int] | list[int] = (32, 32),
    color: str | None = "grayscale",
    mean: list[float] | None = None,
    std: list[float] | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_images: int = 200_000,
) -> Dataset:
    """Load images from ``path/<class name>/<image file>`` (see the module docstring).

    ``max_bytes`` limits each file and the decoded array, ``max_images`` the number of files.
    """
    root = check_folder(path)
    size = _size(size)
    if color not in COLORS:
        raise DataError(f"color must be 'grayscale', 'rgb' or None, got {color!r}")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    ignored = [p.name for p in root.iterdir() if p.is_file()]
    if not class_dirs:
        raise DataError(
            f"{root.name}: no class folders found; put each class's images in its own "
            "sub-folder (e.g. cats/ and dogs/)",
            path=root,
        )
    files: list[tuple[Path, int]] = []
    for label, folder in enumerate(class_dirs):
        members = sorted(folder.iterdir())
        images = [p for p in members if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
        ignored += [str(p.relative_to(root)) for p in members if p not in images]
        if not images:
            raise DataError(
                f"{root.name}/{folder.name}: class folder holds no PNG, JPEG or BMP images",
                path=folder,
            )
        files += [(p, label) for p in images]
    if len(files) > max_images:
        raise DataError(f"{root.name}: {len(files)} images, more than the limit of {max_images}")
    channels = 1 if color == "grayscale" else 3 if color == "rgb" else None
    decoded = len(files) * (channels or 4) * size[0] * size[1] * 4
    if decoded > max_bytes:
        raise DataError(
            f"{root.name}: {len(files)} images of {size[0]}x{size[1]} would take "
            f"{format_size(decoded)}, more than the limit of {format_size(max_bytes)}",
            path=root,
        )

    arrays, first_mode, first_file = [], None, None
    for file, _ in files:
        pixels, mode = _read_image(file, root, size, color, max_bytes, max_pixels)
        if color is None:
            if first_mode is None:
                first_mode, first_file = mode, file.relative_to(root)
            elif mode != first_mode:
                raise DataError(
                    f"{file.relative_to(root)} is {mode} but {first_file} is {first_mode}; "
                    "images of mixed modes need color='grayscale' or 'rgb' to convert them",
                    path=file,
                )
        arrays.append(pixels)
    notes = []
    if ignored:
        notes.append(
            f"left out {len(ignored)} file(s) that are not images inside a class folder: "
            + ", ".join(ignored[:10])
            + (", ..." if len(ignored) > 10 else "")
        )
    x = np.stack(arrays).astype(np.float32)
    # Checked before decoding would be nicer, but with color=None the channel count is
    # only known from the images themselves.
    shift = _per_channel(mean, "mean", x.shape[1])
    scale = _per_channel(std, "std", x.shape[1])
    if shift is not None:
        x -= shift
    if scale is not None:
        x /= scale
    metadata = {"source": str(root), "format": "images", "size": list(size), "color": color}
    if mean is not None:
        metadata["mean"] = [float(v) for v in shift.reshape(-1)]
    if std is not None:
        metadata["std"] = [float(v) for v in scale.reshape(-1)]
    return Dataset(
        x=x,
        y=np.array([label for _, label in files], dtype=np.int64),
        task="classification",
        name=root.name,
        class_names=[d.name for d in class_dirs],
        description=(
            f"{len(x)} images from {root.name}/ in {len(class_dirs)} classes, "
            f"{x.shape[1]}x{size[0]}x{size[1]}"
        ),
        notes=notes,
        metadata=metadata,
    )
