"""Random image augmentation on whole batches, with Keras's ``ImageDataGenerator`` options.

For a batch ``(N, C, H, W)`` one 2x3 affine matrix per image (rotation, shift, shear, zoom,
flips, all about the image centre) maps every output pixel to the point of the input it is
read from; the whole batch is then resampled at once with vectorised bilinear (or nearest)
interpolation; even the matrices are built with array arithmetic, so no Python loop runs per
image or per pixel. Out-of-image reads follow ``fill_mode`` like Keras/SciPy: ``"nearest"``
(repeat the edge), ``"constant"`` (``cval``), ``"reflect"`` (mirror) or ``"wrap"`` (tile).
Brightness scales each image by a random factor and ``gaussian_noise`` adds noise of that
standard deviation, both after the geometry.

All randomness comes from the ``numpy.random.Generator`` passed in, so the loader can derive
one per batch from its seed and the result is reproducible. Shape and dtype are kept; labels
are never touched. With every range at 0 the batch comes back unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.data.errors import DataError
from engine.data.loader import BatchLoader

__all__ = ["ImageDataGenerator", "FILL_MODES"]

FILL_MODES = ("nearest", "constant", "reflect", "wrap")
INTERPOLATIONS = ("bilinear", "nearest")


def _non_negative(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise DataError(f"{name} must be a number >= 0, got {value!r}")
    return float(value)


def _zoom_bounds(value: Any) -> tuple[float, float]:
    """Keras: a number z means factors in [1 - z, 1 + z]; a pair gives the bounds itself."""
    if isinstance(value, list | tuple):
        if len(value) != 2:
            raise DataError(f"zoom_range as a pair needs two numbers, got {value!r}")
        lo, hi = (_non_negative("zoom_range", v) for v in value)
    else:
        z = _non_negative("zoom_range", value)
        lo, hi = 1.0 - z, 1.0 + z
    if lo <= 0 or hi < lo:
        raise DataError(f"zoom_range must give 0 < lower <= upper, got {value!r}")
    return lo, hi


def _fill_index(i: np.ndarray, n: int, mode: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Integer indices mapped into [0, n) per ``mode``; for ``constant`` also the in-range mask."""
    if mode == "nearest":
        return np.clip(i, 0, n - 1), None
    if mode == "wrap":
        return np.mod(i, n), None
    if mode == "reflect":  # d c b a | a b c d | d c b a  (SciPy's "reflect")
        j = np.mod(i, 2 * n)
        return np.where(j >= n, 2 * n - 1 - j, j), None
    inside = (i >= 0) & (i < n)
    return np.clip(i, 0, n - 1), inside


class ImageDataGenerator:
    """Random augmentation of image batches ``(N, C, H, W)`` (or ``(N, H, W)``).

    Arguments follow Keras: ``rotation_range`` in degrees (uniform in ``[-r, r]``);
    ``width_shift_range`` / ``height_shift_range`` as a fraction of the size when below 1,
    else in pixels; ``shear_range`` in degrees; ``zoom_range`` a number ``z`` (factors in
    ``[1-z, 1+z]``, drawn for each axis) or a ``[lower, upper]`` pair; flips with probability
    1/2; ``brightness_range`` a ``(low, high)`` pair of multiplicative factors;
    ``gaussian_noise`` a standard deviation; ``fill_mode`` and ``cval`` for pixels read from
    outside the image; ``interpolation`` ``"bilinear"`` or ``"nearest"``. ``seed`` seeds
    :meth:`flow` and calls of :meth:`random_transform_batch` without a generator.
    """

    def __init__(
        self,
        rotation_range: float = 0,
        width_shift_range: float = 0,
        height_shift_range: float = 0,
        zoom_range: float | tuple[float, float] = 0,
        horizontal_flip: bool = False,
        vertical_flip: bool = False,
        brightness_range: tuple[float, float] | None = None,
        gaussian_noise: float = 0.0,
        fill_mode: str = "nearest",
        seed: int | None = None,
        shear_range: float = 0,
        cval: float = 0.0,
        interpolation: str = "bilinear",
    ) -> None:
        self.rotation_range = _non_negative("rotation_range", rotation_range)
        self.width_shift_range = _non_negative("width_shift_range", width_shift_range)
        self.height_shift_range = _non_negative("height_shift_range", height_shift_range)
        self.shear_range = _non_negative("shear_range", shear_range)
        self.zoom_range = zoom_range
        self._zoom = _zoom_bounds(zoom_range)
        self.horizontal_flip = bool(horizontal_flip)
        self.vertical_flip = bool(vertical_flip)
        if brightness_range is not None:
            if not isinstance(brightness_range, list | tuple) or len(brightness_range) != 2:
                raise DataError(
                    f"brightness_range must be a (low, high) pair, got {brightness_range!r}"
                )
            lo, hi = (_non_negative("brightness_range", v) for v in brightness_range)
            if hi < lo:
                raise DataError(f"brightness_range needs low <= high, got {brightness_range!r}")
            brightness_range = (lo, hi)
        self.brightness_range = brightness_range
        self.gaussian_noise = _non_negative("gaussian_noise", gaussian_noise)
        if fill_mode not in FILL_MODES:
            raise DataError(f"fill_mode must be one of {FILL_MODES}, got {fill_mode!r}")
        self.fill_mode = fill_mode
        if interpolation not in INTERPOLATIONS:
            raise DataError(f"interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")
        self.interpolation = interpolation
        self.cval = float(cval)
        self.seed = seed
        self._rng = np.random.default_rng(seed)

    # ---- configuration -----------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, JSON-able (what a project file's ``augmentation`` holds)."""
        zoom = list(self.zoom_range) if isinstance(self.zoom_range, tuple) else self.zoom_range
        return {
            "rotation_range": self.rotation_range,
            "width_shift_range": self.width_shift_range,
            "height_shift_range": self.height_shift_range,
            "shear_range": self.shear_range,
            "zoom_range": zoom,
            "horizontal_flip": self.horizontal_flip,
            "vertical_flip": self.vertical_flip,
            "brightness_range": None
            if self.brightness_range is None
            else list(self.brightness_range),
            "gaussian_noise": self.gaussian_noise,
            "fill_mode": self.fill_mode,
            "cval": self.cval,
            "interpolation": self.interpolation,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ImageDataGenerator:
        """Build from a project file's ``augmentation`` dict; unknown keys are named."""
        if not isinstance(config, dict):
            raise DataError(f"augmentation must be a dict of options, got {type(config).__name__}")
        allowed = cls().get_config().keys()
        unknown = sorted(set(config) - set(allowed))
        if unknown:
            raise DataError(
                f"augmentation: unknown option(s) {', '.join(map(repr, unknown))}; "
                f"allowed: {', '.join(sorted(allowed))}"
            )
        return cls(**config)

    @property
    def is_identity(self) -> bool:
        """True when no option changes anything."""
        return (
            not self._has_geometry()
            and (self.brightness_range is None or self.brightness_range == (1.0, 1.0))
            and self.gaussian_noise == 0
        )

    def _has_geometry(self) -> bool:
        return bool(
            self.rotation_range
            or self.width_shift_range
            or self.height_shift_range
            or self.shear_range
            or self._zoom != (1.0, 1.0)
            or self.horizontal_flip
            or self.vertical_flip
        )

    # ---- randomness --------------------------------------------------------------------

    def get_random_transform_batch(
        self, shape: tuple[int, ...], rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """Draw the parameters for a batch of ``shape``: one value per image for each key."""
        n, h, w = shape[0], shape[-2], shape[-1]

        def uniform(bound: float) -> np.ndarray:
            return rng.uniform(-bound, bound, n) if bound else np.zeros(n)

        def pixels(value: float, size: int) -> float:
            return value * size if value < 1 else value

        zlo, zhi = self._zoom
        zoom = rng.uniform(zlo, zhi, (2, n)) if (zlo, zhi) != (1.0, 1.0) else np.ones((2, n))
        return {
            "theta": uniform(self.rotation_range),
            "shift_x": uniform(pixels(self.width_shift_range, w)),
            "shift_y": uniform(pixels(self.height_shift_range, h)),
            "shear": uniform(self.shear_range),
            "zoom_x": zoom[0],
            "zoom_y": zoom[1],
            "flip_horizontal": rng.random(n) < 0.5 if self.horizontal_flip else np.zeros(n, bool),
            "flip_vertical": rng.random(n) < 0.5 if self.vertical_flip else np.zeros(n, bool),
            "brightness": (
                rng.uniform(*self.brightness_range, n)
                if self.brightness_range is not None
                else np.ones(n)
            ),
        }

    def random_transform_batch(
        self, x: np.ndarray, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        """A randomly augmented copy of the batch ``x`` (same shape and dtype)."""
        x = np.asarray(x)
        if x.ndim not in (3, 4):
            raise DataError(
                f"image augmentation needs batches (N, C, H, W) or (N, H, W), got shape {x.shape}"
            )
        rng = self._rng if rng is None else rng
        if self.is_identity:
            return x.copy()
        params = self.get_random_transform_batch(x.shape, rng)
        out = self.apply_transform_batch(x, params)
        if self.gaussian_noise:
            noisy = out.astype(np.float32, copy=False) + rng.normal(
                0.0, self.gaussian_noise, out.shape
            ).astype(np.float32)
            out = _cast_like(noisy, x.dtype)
        return out

    # ---- the resampling ----------------------------------------------------------------

    def apply_transform_batch(self, x: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
        """Apply the geometric and brightness parameters ``params`` to the batch ``x``."""
        squeeze = x.ndim == 3
        images = x[:, None] if squeeze else x
        n, c, h, w = images.shape
        work = images if images.dtype.kind == "f" else images.astype(np.float32)
        if self._has_geometry():
            work = self._resample(work, self._matrices(params, h, w))
        brightness = np.asarray(params["brightness"])
        if not np.all(brightness == 1.0):
            work = work * brightness.astype(work.dtype).reshape(n, 1, 1, 1)
        out = _cast_like(work, x.dtype)
        return out[:, 0] if squeeze else out

    @staticmethod
    def _matrices(params: dict[str, np.ndarray], h: int, w: int) -> np.ndarray:
        """Per-image 2x3 maps from output (col, row) to input (col, row), about the centre.

        source = centre + R(theta) S(shear) Z F (output - centre) - shift, where F flips and
        Z zooms (Keras: a factor above 1 shows more of the image, i.e. zooms out).
        """
        theta = np.deg2rad(params["theta"])
        shear = np.deg2rad(params["shear"])
        cos, sin = np.cos(theta), np.sin(theta)
        fx = np.where(params["flip_horizontal"], -1.0, 1.0) * params["zoom_x"]
        fy = np.where(params["flip_vertical"], -1.0, 1.0) * params["zoom_y"]
        # R(theta) @ [[1, -sin(shear)], [0, cos(shear)]] @ diag(fx, fy), written out.
        a = np.empty((len(theta), 2, 3))
        a[:, 0, 0] = cos * fx
        a[:, 0, 1] = (-cos * np.sin(shear) - sin * np.cos(shear)) * fy
        a[:, 1, 0] = sin * fx
        a[:, 1, 1] = (-sin * np.sin(shear) + cos * np.cos(shear)) * fy
        cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
        a[:, 0, 2] = cx - params["shift_x"]
        a[:, 1, 2] = cy - params["shift_y"]
        return a

    def _resample(self, images: np.ndarray, mats: np.ndarray) -> np.ndarray:
        n, c, h, w = images.shape
        cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
        rows, cols = np.divmod(np.arange(h * w), w)
        d = np.stack([cols - cx, rows - cy])  # (2, P), centred output coordinates
        src = np.einsum("nij,jp->nip", mats[:, :, :2], d) + mats[:, :, 2:]  # (N, 2, P)
        sx, sy = src[:, 0], src[:, 1]
        flat = images.reshape(n, c, h * w)
        if self.interpolation == "nearest":
            return self._gather(flat, np.rint(sy), np.rint(sx), h, w).reshape(n, c, h, w)
        x0, y0 = np.floor(sx), np.floor(sy)
        wx = (sx - x0).astype(images.dtype)[:, None, :]
        wy = (sy - y0).astype(images.dtype)[:, None, :]
        top = (
            self._gather(flat, y0, x0, h, w) * (1 - wx) + self._gather(flat, y0, x0 + 1, h, w) * wx
        )
        bottom = (
            self._gather(flat, y0 + 1, x0, h, w) * (1 - wx)
            + self._gather(flat, y0 + 1, x0 + 1, h, w) * wx
        )
        return (top * (1 - wy) + bottom * wy).reshape(n, c, h, w)

    def _gather(
        self, flat: np.ndarray, rows: np.ndarray, cols: np.ndarray, h: int, w: int
    ) -> np.ndarray:
        """Pixels at integer (rows, cols) of shape (N, P) from ``flat`` (N, C, H*W)."""
        r, r_in = _fill_index(rows.astype(np.int64), h, self.fill_mode)
        k, k_in = _fill_index(cols.astype(np.int64), w, self.fill_mode)
        values = np.take_along_axis(flat, (r * w + k)[:, None, :], axis=2)
        if r_in is not None and k_in is not None:
            values = np.where((r_in & k_in)[:, None, :], values, flat.dtype.type(self.cval))
        return values

    # ---- batches -----------------------------------------------------------------------

    def flow(
        self,
        x: np.ndarray,
        y: np.ndarray | None = None,
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int | None = None,
    ) -> BatchLoader:
        """A :class:`~engine.data.loader.BatchLoader` over ``(x, y)`` applying this augmentation.

        Unlike Keras's endless iterator, iterate it one epoch at a time:
        ``for xb, yb in gen.flow(x, y).epoch(k)`` (or a plain ``for`` loop per epoch).
        """
        seed = self.seed if seed is None else seed
        return BatchLoader(x, y, batch_size, shuffle=shuffle, seed=seed, augment=self)

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.get_config().items() if v != _DEFAULTS.get(k)}
        return f"ImageDataGenerator({', '.join(f'{k}={v!r}' for k, v in changed.items())})"


def _cast_like(a: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``a`` as ``dtype``; integer images are rounded and clipped to the type's range."""
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        return np.clip(np.rint(a), info.min, info.max).astype(dtype)
    return a.astype(dtype, copy=False)


_DEFAULTS: dict[str, Any] = ImageDataGenerator().get_config()
