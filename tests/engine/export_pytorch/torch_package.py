"""Helpers for the PyTorch package tests: import a generated package's files as modules."""

from __future__ import annotations

import importlib.util
import itertools
import sys

_counter = itertools.count()


def import_file(path, name: str | None = None):
    """``path`` as a fresh module (a unique name, so packages from two tests never mix)."""
    name = name or f"lc_pkg_{path.stem}_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def torch_module(model, tmp_path, name="model"):
    """The generated module of the engine ``model``, holding the engine's weights."""
    import torch

    from engine.export_pytorch.model_code import build_model_code, model_source, torch_state

    mc = build_model_code(model)
    path = tmp_path / f"{name}.py"
    path.write_text(model_source(mc, model.name), encoding="utf-8")
    module = import_file(path)
    net = module.build_model()
    net.load_state_dict({k: torch.from_numpy(v) for k, v in torch_state(model, mc).items()})
    return module, net, mc
