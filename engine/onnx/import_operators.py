"""Every ONNX operator importer, loaded: importing this module imports each operator module,
which registers its operators in :data:`engine.onnx.import_registry.IMPORTERS`."""

from __future__ import annotations

from engine.onnx import (  # noqa: F401 - imported for their registrations
    import_activation,
    import_attention,
    import_conv,
    import_conv_transpose,
    import_dense,
    import_dot,
    import_group_norm,
    import_merge,
    import_misc,
    import_norm,
    import_resample,
    import_rnn,
    import_shape,
    import_wrappers,
)
from engine.onnx.import_registry import IMPORTERS

__all__ = ["supported_operators"]


def supported_operators() -> list[str]:
    """The ONNX operators (default domain) the importer reads."""
    return sorted(IMPORTERS)
