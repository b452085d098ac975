"""Per-layer-type ONNX mappings, registered by decorator (the torch.onnx pattern).

An *exporter* is ``fn(ctx, layer, inputs, output)``: it appends ONNX nodes and initializers
to the :class:`~engine.onnx.context.ExportContext` so that the tensor named ``output`` holds
the layer's result computed from the tensors named in ``inputs``. Adding a layer type adds
one such small function in ``engine/onnx/mappings/``.
"""

from __future__ import annotations

from collections.abc import Callable

Exporter = Callable[..., None]

EXPORTERS: dict[str, Exporter] = {}


def exports(*type_names: str) -> Callable[[Exporter], Exporter]:
    """Register ``fn`` as the ONNX exporter of the named layer types."""

    def decorate(fn: Exporter) -> Exporter:
        for name in type_names:
            if name in EXPORTERS:
                raise TypeError(f"an ONNX exporter for {name!r} is already registered")
            EXPORTERS[name] = fn
        return fn

    return decorate


def exporter_for(type_name: str) -> Exporter | None:
    _load_mappings()
    return EXPORTERS.get(type_name)


_loaded = False


def _load_mappings() -> None:
    """Import every module of ``engine.onnx.mappings`` so their decorators run."""
    global _loaded
    if _loaded:
        return
    import importlib  # noqa: PLC0415
    import pkgutil  # noqa: PLC0415

    from engine.onnx import mappings  # noqa: PLC0415

    for info in pkgutil.iter_modules(mappings.__path__):
        importlib.import_module(f"{mappings.__name__}.{info.name}")
    _loaded = True
