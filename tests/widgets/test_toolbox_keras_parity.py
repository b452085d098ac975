"""The Setup tab against Keras 3 (torch backend) as the independent reference: every
optimizer's form has Keras's argument names and defaults, and the schedule preview draws
Keras's learning rates."""

from __future__ import annotations

import inspect
import os
import warnings

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")
os.environ.setdefault("KERAS_BACKEND", "torch")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # import-time warnings of Keras and PyTorch, not ours
    keras = pytest.importorskip("keras")

from widgets.training_panel import TrainingPanel  # noqa: E402


@pytest.fixture
def panel(qtbot):
    written: list[dict] = []
    panel = TrainingPanel(on_settings=written.append)
    panel.written = written
    qtbot.addWidget(panel)
    panel.set_training({"loss": "mse", "optimizer": {"name": "adam", "learning_rate": 0.01}})
    panel.epochs_box.setValue(8)
    panel.set_train_samples(800)  # 25 steps of 32 per epoch
    return panel


def _keras_defaults(cls) -> dict:
    params = inspect.signature(cls.__init__).parameters.values()
    return {
        p.name: p.default
        for p in params
        if p.name not in ("self", "name", "learning_rate") and p.kind == p.POSITIONAL_OR_KEYWORD
    }


def test_each_optimizer_form_has_keras_arguments_and_defaults(panel):
    for i in range(panel.optimizer_box.count()):
        name = panel.optimizer_box.itemText(i)
        panel.optimizer_box.setCurrentText(name)
        form = panel.form.optimizer_args
        reference = getattr(keras.optimizers, form.entry.cls.__name__)
        expected = _keras_defaults(reference)
        shown = {arg: field.value() for arg, field in form.fields().items()}
        assert shown == expected, name
        # What Keras's identifier resolves to is the same optimizer.
        assert type(keras.optimizers.get(name)).__name__ == form.entry.cls.__name__


@pytest.mark.parametrize(
    ("name", "args", "keras_class"),
    [
        ("cosine_decay", {"warmup_target": 0.05, "warmup_steps": 40, "alpha": 0.1}, "CosineDecay"),
        ("exponential_decay", {"decay_rate": 0.5, "staircase": True}, "ExponentialDecay"),
        ("polynomial_decay", {"power": 2.0}, "PolynomialDecay"),
        ("cosine_decay_restarts", {"t_mul": 1.5}, "CosineDecayRestarts"),
        ("inverse_time_decay", {"decay_rate": 0.5}, "InverseTimeDecay"),
    ],
)
def test_the_schedule_preview_draws_keras_rates(panel, name, args, keras_class):
    form = panel.form
    form.schedule_box.setCurrentText(name)
    for arg, value in args.items():
        field = form.schedule_args.field(arg)
        if field.enable is not None:
            field.enable.setChecked(True)
        if isinstance(value, bool):
            field.editor.setChecked(value)
        else:
            field.editor.setValue(value)
    config = panel.written[-1]["optimizer"]["learning_rate"]
    assert {k: config[k] for k in args} == args
    keras_args = {k: v for k, v in config.items() if k != "name"}
    if "first_decay_steps" not in keras_args and name == "cosine_decay_restarts":
        pytest.fail("cosine_decay_restarts needs first_decay_steps")
    schedule = getattr(keras.optimizers.schedules, keras_class)(**keras_args)
    preview = form.preview
    assert preview.error is None and len(preview.steps) == 8 * 25
    expected = np.array([float(schedule(int(step))) for step in preview.steps])
    np.testing.assert_allclose(preview.rates, expected, rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(preview.curve.getData()[1], expected, rtol=1e-5, atol=1e-9)
