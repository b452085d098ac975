"""What an imported image classifier expects of its inputs: size, colour and the per-channel
``mean``/``std`` its training images were normalised with.

The size and channel count come from the model's input shape ``(C, H, W)``. ``mean`` and
``std`` come from the ONNX file's ``metadata_props`` when it has them (keys ``mean``/``std``,
``image_mean``/``image_std`` or ``norm_mean``/``norm_std``; values as a JSON list
``[0.485, 0.456, 0.406]`` or comma-separated text); otherwise the caller asks the user, and
:func:`suggested` offers ImageNet's for a 224x224 RGB input (what torchvision classifiers
expect). The result is the ``"images"`` dataset settings of a project
(:mod:`engine.data.importers.image_folder` applies them).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ImagePreprocessing",
    "parse_numbers",
    "preprocessing_of",
    "suggested",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_KEYS = (("mean", "std"), ("image_mean", "image_std"), ("norm_mean", "norm_std"))


def parse_numbers(text: object, what: str, channels: int | None = None) -> list[float]:
    """``"0.5,0.5,0.5"`` or ``"[0.5, 0.5, 0.5]"`` as floats; ValueError naming ``what``."""
    if isinstance(text, str):
        stripped = text.strip()
        try:
            values = json.loads(stripped) if stripped.startswith("[") else stripped.split(",")
        except json.JSONDecodeError:
            values = None
    else:
        values = text
    try:
        numbers = [float(v) for v in values]  # type: ignore[union-attr]
    except (TypeError, ValueError):
        numbers = []
    if not numbers or not all(math.isfinite(v) for v in numbers):
        raise ValueError(f"{what} must be numbers separated by commas, got {text!r}")
    if channels is not None and len(numbers) not in (1, channels):
        raise ValueError(f"{what} has {len(numbers)} values but the input has {channels} channels")
    if what == "std" and any(v <= 0 for v in numbers):
        raise ValueError(f"std must be positive, got {text!r}")
    return numbers


class ImagePreprocessing:
    """An image input's ``channels``, ``size`` (H, W), and ``mean``/``std`` (or ``None``
    when unknown); ``source`` says where mean/std came from."""

    def __init__(self, channels, size, mean=None, std=None, source="unknown"):
        self.channels = int(channels)
        self.size = (int(size[0]), int(size[1]))
        self.mean = None if mean is None else [float(v) for v in mean]
        self.std = None if std is None else [float(v) for v in std]
        self.source = source

    @property
    def color(self) -> str | None:
        return {1: "grayscale", 3: "rgb"}.get(self.channels)

    def dataset(self, path: str, **options) -> dict:
        """The project's ``"images"`` dataset settings for the folder ``path``."""
        spec = {"format": "images", "path": path, "size": list(self.size)}
        if self.color is not None:
            spec["color"] = self.color
        if self.mean is not None:
            spec["mean"] = self.mean
        if self.std is not None:
            spec["std"] = self.std
        spec.update(options)
        return spec

    def describe(self) -> str:
        what = f"{self.channels}x{self.size[0]}x{self.size[1]}"
        if self.mean is None:
            return f"expects {what} images; mean/std unknown"
        return f"expects {what} images normalised with mean {self.mean}, std {self.std}"


def preprocessing_of(
    input_shape: Sequence[int], metadata: Mapping[str, str]
) -> ImagePreprocessing | None:
    """What a model with ``input_shape`` (without batch) and ONNX ``metadata`` expects, or
    ``None`` when its input is not an image ``(C, H, W)``. A malformed mean/std in the
    metadata is ignored (the user is asked instead)."""
    shape = tuple(input_shape)
    if len(shape) != 3 or not all(isinstance(d, int) and d > 0 for d in shape):
        return None
    channels, height, width = shape
    for mean_key, std_key in _KEYS:
        if mean_key in metadata and std_key in metadata:
            try:
                mean = parse_numbers(metadata[mean_key], "mean", channels)
                std = parse_numbers(metadata[std_key], "std", channels)
            except ValueError:
                continue
            return ImagePreprocessing(channels, (height, width), mean, std, "the file's metadata")
    return ImagePreprocessing(channels, (height, width))


def suggested(pre: ImagePreprocessing) -> tuple[list[float], list[float]] | None:
    """ImageNet's mean/std for an RGB input of 224x224 or larger (torchvision's models),
    else ``None`` (no sensible guess: ask, or leave the pixels in [0, 1])."""
    if pre.channels == 3 and min(pre.size) >= 224:
        return list(IMAGENET_MEAN), list(IMAGENET_STD)
    return None
