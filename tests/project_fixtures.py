"""Small project documents that several test modules train or check: one definition, each
test asking for the variation it needs."""

from __future__ import annotations

import copy
from typing import Any

_TINY: dict[str, Any] = {
    "format": "layercanvas-project",
    "version": 1,
    "name": "Tiny",
    "graph": {
        "nodes": [
            {"id": "input", "type": "Input", "params": {"shape": [2]}, "position": [0, 0]},
            {
                "id": "hidden",
                "type": "Dense",
                "params": {"units": 8, "activation": "relu"},
                "position": [220, 0],
            },
            {
                "id": "out",
                "type": "Dense",
                "params": {"units": 2, "activation": "softmax"},
                "position": [440, 0],
            },
        ],
        "edges": [
            {"source": "input", "target": "hidden", "target_port": 0},
            {"source": "hidden", "target": "out", "target_port": 0},
        ],
    },
    "dataset": {"name": "moons", "n_samples": 200, "validation_split": 0.25, "seed": 0},
    "training": {
        "loss": "sparse_categorical_crossentropy",
        "optimizer": {"name": "adam", "learning_rate": 0.01},
        "metrics": ["accuracy"],
        "batch_size": 32,
        "epochs": 2,
        "seed": 0,
    },
}


def tiny_project(
    *, epochs: int = 2, learning_rate: float = 0.01, hidden_params: dict | None = None
) -> dict[str, Any]:
    """A fresh copy of a 2-8-2 MLP on 200 moons (trains in well under a second), with its
    epochs, Adam learning rate and extra parameters of the hidden Dense as given."""
    project = copy.deepcopy(_TINY)
    project["training"]["epochs"] = epochs
    project["training"]["optimizer"]["learning_rate"] = learning_rate
    if hidden_params:
        project["graph"]["nodes"][1]["params"].update(copy.deepcopy(hidden_params))
    return project


def mlp_project(
    name: str,
    features: int,
    classes: int,
    dataset: dict[str, Any],
    training: dict[str, Any],
    *,
    hidden_id: str = "hidden",
    out_activation: str = "softmax",
) -> dict[str, Any]:
    """Input(features) -> Dense 8 relu -> Dense(classes, out_activation) on ``dataset``."""
    return {
        "format": "layercanvas-project",
        "version": 1,
        "name": name,
        "graph": {
            "nodes": [
                {
                    "id": "input",
                    "type": "Input",
                    "params": {"shape": [features]},
                    "position": [0, 0],
                },
                {
                    "id": hidden_id,
                    "type": "Dense",
                    "params": {"units": 8, "activation": "relu"},
                    "position": [200, 0],
                },
                {
                    "id": "out",
                    "type": "Dense",
                    "params": {"units": classes, "activation": out_activation},
                    "position": [400, 0],
                },
            ],
            "edges": [
                {"source": "input", "target": hidden_id, "target_port": 0},
                {"source": hidden_id, "target": "out", "target_port": 0},
            ],
        },
        "dataset": copy.deepcopy(dataset),
        "training": copy.deepcopy(training),
    }
