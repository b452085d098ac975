"""The exception types that mean "the user's input is wrong", not "LayerCanvas has a bug".

The command line prints these as one line and the app shows them in a message; anything else
is unexpected and gets a log file with its traceback.
"""

from __future__ import annotations


def user_error_types() -> tuple[type[BaseException], ...]:
    """Every engine exception type raised for a bad file, graph, dataset or option."""
    # Imported here: each lives with the module that raises it, and most are heavy to import.
    from engine.applications import PretrainedError  # noqa: PLC0415
    from engine.backend import BackendError  # noqa: PLC0415
    from engine.data import DataError  # noqa: PLC0415
    from engine.experiments.errors import SweepError  # noqa: PLC0415
    from engine.export_pytorch.errors import PyTorchExportError  # noqa: PLC0415
    from engine.graph.compiler import GraphError  # noqa: PLC0415
    from engine.graph.convert import ConversionError  # noqa: PLC0415
    from engine.graph.document import GraphFormatError  # noqa: PLC0415
    from engine.graph.project import ProjectError  # noqa: PLC0415
    from engine.graph.session import ProjectInvalid  # noqa: PLC0415
    from engine.io import ModelFileError  # noqa: PLC0415
    from engine.keras_io.errors import KerasExportError, KerasImportError  # noqa: PLC0415

    return (
        BackendError,
        ConversionError,
        DataError,
        GraphError,
        GraphFormatError,
        KerasExportError,
        KerasImportError,
        ModelFileError,
        PretrainedError,
        ProjectError,
        ProjectInvalid,
        PyTorchExportError,
        SweepError,
    )
