"""The registry of built-in datasets: one name -> one loader and a one-line description.

``load_builtin("moons", n_samples=1000, noise=0.2)`` calls the loader with those options;
unknown names and options give a :class:`DataError` that lists what exists. The loaders live
in :mod:`engine.data.bundled` (real data shipped with scikit-learn), :mod:`engine.data.synthetic`
and :mod:`engine.data.sentiment`; none downloads anything and each takes milliseconds.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from engine.data import bundled, downloadable, sentiment, synthetic
from engine.data.dataset import Dataset
from engine.data.errors import DataError

__all__ = ["BUILTIN_DATASETS", "BUILTIN_LOADERS", "load_builtin", "builtin_options"]

BUILTIN_LOADERS: dict[str, Callable[..., Dataset]] = {
    "digits": bundled.digits,
    "iris": bundled.iris,
    "wine": bundled.wine,
    "breast_cancer": bundled.breast_cancer,
    "spirals": synthetic.spirals,
    "moons": synthetic.moons,
    "circles": synthetic.circles,
    "xor": synthetic.xor,
    "blobs": synthetic.blobs,
    "sine": synthetic.sine,
    "timeseries": synthetic.timeseries,
    "sentiment": sentiment.sentiment,
    **downloadable.DOWNLOADABLE,  # read from the dataset cache; see engine.data.downloadable
}

#: name -> one line for the user (the data panel's list).
BUILTIN_DATASETS: dict[str, str] = {
    "digits": "Handwritten digits 0-9: 1797 grey 8x8 images (1, 8, 8), 10 classes",
    "iris": "Iris flowers: 150 samples, 4 measurements, 3 species",
    "wine": "Wines: 178 samples, 13 chemical measurements, 3 cultivars",
    "breast_cancer": "Breast tumours: 569 samples, 30 measurements, malignant/benign",
    "spirals": "Two interleaved spirals in 2-D, 2 classes (hard for small networks)",
    "moons": "Two interleaving half moons in 2-D, 2 classes",
    "circles": "A ring around a smaller ring in 2-D, 2 classes",
    "xor": "XOR pattern in 2-D: class by whether x1 and x2 share a sign",
    "blobs": "Gaussian clusters in 2-D, one per class (3 by default)",
    "sine": "Regression: y = sin(x) + noise, x in [-pi, pi]",
    "timeseries": "Forecasting: next value of a noisy sum of sines from 24 past steps",
    "sentiment": "Text: short review sentences, positive/negative, with negations",
    "mnist": "MNIST digits: 60000 grey 28x28 images (1, 28, 28), 10 classes (download)",
    "fashion_mnist": "Fashion-MNIST: 60000 grey 28x28 clothing images, 10 classes (download)",
    "cifar10": "CIFAR-10: 50000 colour 32x32 photos (3, 32, 32), 10 classes (download)",
    "cifar100": "CIFAR-100: 50000 colour 32x32 photos, 100 classes (download)",
    "imdb": "IMDB reviews: 25000 word-id sequences, positive/negative (download)",
    "reuters": "Reuters newswires: 8982 word-id sequences, 46 topics (download)",
}


def builtin_options(name: str) -> dict[str, Any]:
    """The options a built-in dataset accepts, with their defaults."""
    loader = _loader(name)
    return {p.name: p.default for p in inspect.signature(loader).parameters.values()}


def _loader(name: str) -> Callable[..., Dataset]:
    try:
        return BUILTIN_LOADERS[name]
    except (KeyError, TypeError):
        raise DataError(
            f"unknown built-in dataset {name!r}; available: {', '.join(BUILTIN_LOADERS)}"
        ) from None


def load_builtin(name: str, **options: Any) -> Dataset:
    """Load the built-in dataset ``name`` with generator ``options`` (n_samples, noise, seed...)."""
    loader = _loader(name)
    allowed = builtin_options(name)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        takes = f"its options are {', '.join(allowed)}" if allowed else "it takes no options"
        raise DataError(
            f"built-in dataset {name!r}: unknown option(s) {', '.join(map(repr, unknown))}; "
            + takes
        )
    return loader(**options)
