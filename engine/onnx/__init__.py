"""ONNX export and import: one small mapping per layer type (``engine/onnx/mappings``), one
small importer per operator (``engine/onnx/import_*``)."""

from engine.onnx.context import ExportError
from engine.onnx.export import DEFAULT_OPSET, ExportReport, export_model, verify_export
from engine.onnx.import_errors import Issue, OnnxImportError
from engine.onnx.importer import (
    ImportResult,
    default_training,
    graph_document,
    import_model,
    supported_operators,
)

__all__ = [
    "DEFAULT_OPSET",
    "ExportError",
    "ExportReport",
    "ImportResult",
    "Issue",
    "OnnxImportError",
    "default_training",
    "export_model",
    "graph_document",
    "import_model",
    "supported_operators",
    "verify_export",
]
