"""ONNX export and import: one small mapping per layer type (``engine/onnx/mappings``)."""

from engine.onnx.context import ExportError
from engine.onnx.export import DEFAULT_OPSET, ExportReport, export_model, verify_export

__all__ = ["DEFAULT_OPSET", "ExportError", "ExportReport", "export_model", "verify_export"]
