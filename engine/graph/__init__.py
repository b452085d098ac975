"""The graph document (pure data), the layer registry as the app sees it, the compiler with
its diagnostics, project files, and conversion to and from models.

``engine.graph`` imports no Qt: the canvas, inspector and palette in ``widgets`` read it.
"""

from engine.graph.compiler import (
    CheckResult,
    GraphChecker,
    GraphError,
    NodeReport,
    build_model,
    check_graph,
)
from engine.graph.convert import copy_weights, document_from_model, model_from_document
from engine.graph.diagnostics import Diagnostic
from engine.graph.document import Edge, GraphDocument, GraphEvent, GraphFormatError, Node
from engine.graph.project import Project, ProjectError, load_project, save_project
from engine.graph.registry_info import LayerInfo, all_layer_info, by_category, layer_info

__all__ = [
    "CheckResult",
    "Diagnostic",
    "Edge",
    "GraphChecker",
    "GraphDocument",
    "GraphError",
    "GraphEvent",
    "GraphFormatError",
    "LayerInfo",
    "Node",
    "NodeReport",
    "Project",
    "ProjectError",
    "all_layer_info",
    "build_model",
    "by_category",
    "check_graph",
    "copy_weights",
    "document_from_model",
    "load_project",
    "model_from_document",
    "save_project",
    "layer_info",
]
