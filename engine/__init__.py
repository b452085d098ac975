"""LayerCanvas's engine: a small Keras-shaped deep-learning library on NumPy (or CuPy).

Public API (DESIGN.md, "The Python API")::

    import engine
    model = engine.Sequential([engine.Input((1, 8, 8)), engine.layers.Flatten(),
                               engine.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=5)

Attributes are imported on first use so that ``import engine`` stays fast and a module
being built does not break the rest.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    # eager tensors and autodiff
    "Tensor": ("engine.autodiff.tensor", "Tensor"),
    "Variable": ("engine.autodiff.tensor", "Variable"),
    "constant": ("engine.autodiff.tensor", "constant"),
    "GradientTape": ("engine.autodiff.tensor", "GradientTape"),
    "no_grad": ("engine.autodiff.tensor", "no_grad"),
    "ops": ("engine.autodiff.ops", None),
    # models
    "Sequential": ("engine.models", "Sequential"),
    "Model": ("engine.models", "Model"),
    "Input": ("engine.layers.base", "Input"),
    "load_model": ("engine.io", "load_model"),
    # families of objects, as modules
    "layers": ("engine.layers", None),
    "activations": ("engine.activations", None),
    "initializers": ("engine.initializers", None),
    "losses": ("engine.losses", None),
    "metrics": ("engine.metrics", None),
    "optimizers": ("engine.optimizers", None),
    "regularizers": ("engine.regularizers", None),
    "constraints": ("engine.constraints", None),
    "schedules": ("engine.schedules", None),
    "callbacks": ("engine.callbacks", None),
    "datasets": ("engine.datasets", None),
    "applications": ("engine.applications", None),
    "backend": ("engine.backend", None),
    # utilities
    "set_random_seed": ("engine.random", "set_random_seed"),
    "set_device": ("engine.backend", "set_device"),
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    try:
        module_name, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'engine' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
