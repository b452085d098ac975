"""The training panel's Setup tab: forms generated from the engine's constructors, edits
written in the project-file format as one undo step each, the schedule preview, losses
with arguments, metrics, and old projects shown and saved unchanged."""

from __future__ import annotations

import copy
import inspect
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit, QSpinBox  # noqa: E402

from engine import losses as engine_losses  # noqa: E402
from engine import optimizers as engine_optimizers  # noqa: E402
from engine import schedules as engine_schedules  # noqa: E402
from widgets.number_fields import FloatSpinBox  # noqa: E402
from widgets.training_panel import TrainingPanel  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def _constructor_defaults(cls: type) -> dict:
    """Named constructor arguments and defaults of ``cls``, following ``**kwargs`` up to
    the base classes (as Keras's optimizers pass clipnorm, use_ema, ... on)."""
    found: dict = {}
    for klass in cls.__mro__:
        if "__init__" not in klass.__dict__:
            continue
        params = inspect.signature(klass.__dict__["__init__"]).parameters.values()
        for p in params:
            if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name != "self":
                found.setdefault(p.name, p.default)
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            break
    found.pop("name", None)
    return found


@pytest.fixture
def panel(qtbot):
    written: list[dict] = []
    panel = TrainingPanel(on_settings=written.append)
    panel.written = written
    qtbot.addWidget(panel)
    panel.resize(440, 900)
    panel.set_training(
        {
            "loss": "sparse_categorical_crossentropy",
            "optimizer": {"name": "adam", "learning_rate": 0.003},
            "metrics": ["accuracy"],
            "batch_size": 32,
            "epochs": 30,
            "seed": 0,
        }
    )
    return panel


@pytest.fixture
def editor_panel(qtbot):
    """A panel wired to a real editor document, as the main window wires it."""
    from app.editing import EditorDocument  # noqa: PLC0415

    editor = EditorDocument.open(EXAMPLES / "digits_mlp.lcproj")
    panel = TrainingPanel(on_settings=lambda t: editor.set_settings("training", t))
    qtbot.addWidget(panel)
    editor.settingsChanged.connect(
        lambda key: key == "training" and panel.set_training(editor.settings("training"))
    )
    panel.set_training(editor.settings("training"))
    yield editor, panel
    editor.close()


def test_every_engine_optimizer_is_offered(panel):
    offered = [panel.optimizer_box.itemText(i) for i in range(panel.optimizer_box.count())]
    assert offered == list(engine_optimizers.available())
    assert len(offered) >= 11


def test_each_optimizer_builds_a_form_of_its_constructor_arguments_and_defaults(panel):
    for name, cls in engine_optimizers.available().items():
        panel.optimizer_box.setCurrentText(name)
        form = panel.form.optimizer_args
        expected = _constructor_defaults(cls)
        expected.pop("learning_rate")
        assert list(form.fields()) == list(expected), name
        for arg, default in expected.items():
            field = form.field(arg)
            assert field.value() == default, (name, arg)
            editor = field.editor
            if default is None:
                assert field.enable is not None and not field.enable.isChecked()
            elif isinstance(default, bool):
                assert isinstance(editor, QCheckBox)
            elif isinstance(default, int):
                assert isinstance(editor, QSpinBox | FloatSpinBox)
            elif isinstance(default, float):
                assert isinstance(editor, FloatSpinBox)
        # The form's values build the same optimizer as the engine's defaults.
        built = engine_optimizers.get({"name": name, **form.all_values()})
        assert built.get_config() == cls().get_config(), name
        assert panel.written[-1]["optimizer"]["name"] == name


def test_editing_a_field_writes_only_what_differs_and_one_undo_reverts_it(editor_panel):
    editor, panel = editor_panel
    before = editor.settings("training")
    panel.optimizer_box.setCurrentText("nadam")
    assert editor.project.training["optimizer"] == {"name": "nadam", "learning_rate": 0.003}
    field = panel.form.optimizer_args.field("beta_2")
    field.editor.setValue(0.99)
    assert editor.project.training["optimizer"] == {
        "name": "nadam",
        "learning_rate": 0.003,
        "beta_2": 0.99,
    }
    clip = panel.form.optimizer_args.field("clipnorm")
    clip.enable.setChecked(True)
    clip.editor.setValue(1.5)
    assert editor.project.training["optimizer"]["clipnorm"] == 1.5
    assert editor.undo_stack.count() == 4  # optimizer, beta_2, clipnorm ticked, its value
    editor.undo_stack.undo()
    editor.undo_stack.undo()
    assert editor.project.training["optimizer"] == {
        "name": "nadam",
        "learning_rate": 0.003,
        "beta_2": 0.99,
    }
    assert panel.form.optimizer_args.field("clipnorm").value() is None
    editor.undo_stack.undo()
    assert editor.project.training["optimizer"] == {"name": "nadam", "learning_rate": 0.003}
    assert panel.form.optimizer_args.field("beta_2").value() == 0.999
    editor.undo_stack.undo()
    assert editor.project.training == before
    assert panel.optimizer_box.currentText() == "adam"


def test_a_float_field_takes_scientific_notation(panel, qtbot):
    panel.optimizer_box.setCurrentText("adam")
    box = panel.form.optimizer_args.field("epsilon").editor
    line = box.findChild(QLineEdit)
    line.selectAll()
    qtbot.keyClicks(line, "3e-9")
    qtbot.keyClick(line, Qt.Key.Key_Return)
    assert box.value() == 3e-9
    assert panel.written[-1]["optimizer"]["epsilon"] == 3e-9
    assert box.text() == "3e-09"


def test_switching_optimizer_keeps_the_rate_and_the_shared_settings(panel):
    panel.form.optimizer_args.field("clipnorm").enable.setChecked(True)
    panel.form.optimizer_args.field("clipnorm").editor.setValue(2.0)
    panel.form.optimizer_args.field("beta_1").editor.setValue(0.8)
    panel.optimizer_box.setCurrentText("sgd")
    assert panel.written[-1]["optimizer"] == {
        "name": "sgd",
        "learning_rate": 0.003,
        "clipnorm": 2.0,
    }


def test_a_schedule_is_written_as_the_learning_rate_and_previewed(panel):
    panel.set_train_samples(1437)  # digits' training split: 45 steps of 32
    form = panel.form
    form.schedule_box.setCurrentText("cosine_decay")
    written = panel.written[-1]["optimizer"]["learning_rate"]
    assert written == {"name": "cosine_decay", "initial_learning_rate": 0.003, "decay_steps": 1350}
    assert not panel.rate_box.isEnabled()
    args = form.schedule_args
    args.field("warmup_target").enable.setChecked(True)
    args.field("warmup_target").editor.setValue(0.01)
    args.field("warmup_steps").editor.setValue(90)
    args.field("initial_learning_rate").editor.setValue(0.0)
    config = panel.written[-1]["optimizer"]["learning_rate"]
    assert config == {
        "name": "cosine_decay",
        "initial_learning_rate": 0.0,
        "decay_steps": 1350,
        "warmup_target": 0.01,
        "warmup_steps": 90,
    }
    preview = form.preview
    assert preview.error is None
    assert len(preview.steps) == 30 * 45
    schedule = engine_schedules.get(config)
    expected = np.array([schedule(int(s)) for s in preview.steps])
    np.testing.assert_allclose(preview.rates, expected, rtol=1e-12)
    x, y = preview.curve.getData()
    np.testing.assert_allclose(x, preview.steps / 45)
    np.testing.assert_allclose(y, expected, rtol=1e-12)
    assert y.max() == pytest.approx(0.01)
    # More epochs: the preview covers the longer run at once.
    panel.epochs_box.setValue(40)
    assert len(preview.steps) == 40 * 45
    # Back to a constant: the schedule's starting rate, or here its warmup target.
    form.schedule_box.setCurrentText("constant")
    assert panel.written[-1]["optimizer"] == {"name": "adam", "learning_rate": 0.01}
    assert panel.rate_box.isEnabled() and panel.rate_box.value() == 0.01
    np.testing.assert_allclose(preview.rates, 0.01)


def test_every_schedule_draws_the_engines_values(panel):
    for name in engine_schedules.available():
        panel.form.schedule_box.setCurrentText(name)
        config = panel.written[-1]["optimizer"]["learning_rate"]
        assert config["name"] == name
        preview = panel.form.preview
        assert preview.error is None, (name, preview.error)
        expected = engine_schedules.preview(engine_schedules.get(config), preview.total_steps)
        np.testing.assert_allclose(preview.rates, expected[preview.steps], rtol=1e-12)


def test_a_project_schedule_key_stays_where_it_is(panel):
    training = {
        "loss": "mse",
        "optimizer": {"name": "sgd", "learning_rate": 0.1},
        "schedule": {
            "name": "exponential_decay",
            "initial_learning_rate": 0.1,
            "decay_steps": 100,
            "decay_rate": 0.5,
        },
        "epochs": 5,
    }
    panel.set_training(training)
    assert panel.form.schedule_box.currentText() == "exponential_decay"
    assert panel.training() == training and panel.written == []
    panel.form.schedule_args.field("decay_rate").editor.setValue(0.25)
    assert panel.written[-1]["schedule"]["decay_rate"] == 0.25
    assert panel.written[-1]["optimizer"] == {"name": "sgd", "learning_rate": 0.1}
    panel.form.schedule_box.setCurrentText("constant")
    assert "schedule" not in panel.written[-1]
    assert panel.written[-1]["optimizer"] == {"name": "sgd", "learning_rate": 0.1}


def test_a_loss_with_from_logits_and_label_smoothing_round_trips(panel, qtbot):
    form = panel.form
    form.loss_box.setCurrentText("binary_crossentropy")
    assert panel.written[-1]["loss"] == "binary_crossentropy"
    form.loss_args.field("from_logits").editor.setChecked(True)
    form.loss_args.field("label_smoothing").editor.setValue(0.1)
    loss = panel.written[-1]["loss"]
    assert loss == {"name": "binary_crossentropy", "from_logits": True, "label_smoothing": 0.1}
    built = engine_losses.get(loss).get_config()
    assert built["from_logits"] is True and built["label_smoothing"] == 0.1
    # A fresh panel shows what was saved, and saves it back unchanged.
    again = TrainingPanel(on_settings=lambda t: pytest.fail("nothing was edited"))
    qtbot.addWidget(again)
    saved = json.loads(json.dumps(panel.written[-1]))
    again.set_training(saved)
    assert again.form.loss_box.currentText() == "binary_crossentropy"
    assert again.form.loss_args.field("from_logits").value() is True
    assert again.form.loss_args.field("label_smoothing").value() == 0.1
    assert again.training() == saved
    # Back to defaults: the loss is a plain name again.
    form.loss_args.field("from_logits").editor.setChecked(False)
    form.loss_args.field("label_smoothing").editor.setValue(0.0)
    assert panel.written[-1]["loss"] == "binary_crossentropy"


def test_a_loss_alias_is_shown_as_its_loss_and_kept(panel):
    panel.set_training({"loss": "mse", "optimizer": "adam"})
    assert panel.form.loss_box.currentText() == "mean_squared_error"
    assert panel.form.loss_note.text() == "'mse' is mean_squared_error."
    panel.form.loss_args.field("reduction").editor.setCurrentText("sum")
    assert panel.written[-1]["loss"] == {"name": "mse", "reduction": "sum"}


def test_a_loss_per_output_is_shown_and_left_alone(panel):
    panel.set_training({"loss": {"out_a": "mse", "out_b": "binary_crossentropy"}})
    assert not panel.form.loss_box.isEnabled()
    assert "out_a: mse" in panel.form.loss_note.text()
    assert panel.written == []


def test_several_metrics_can_be_ticked(panel):
    boxes = panel.form.metric_boxes
    assert {"accuracy", "precision", "recall", "auc"} <= set(boxes)
    assert boxes["accuracy"].isChecked()
    boxes["precision"].setChecked(True)
    boxes["recall"].setChecked(True)
    assert panel.written[-1]["metrics"] == ["accuracy", "precision", "recall"]
    boxes["accuracy"].setChecked(False)
    assert panel.written[-1]["metrics"] == ["precision", "recall"]


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.lcproj")), ids=lambda p: p.stem)
def test_an_old_project_shows_and_saves_unchanged(qtbot, path):
    from engine.graph.project import load_project  # noqa: PLC0415

    training = load_project(path).training
    written: list[dict] = []
    panel = TrainingPanel(on_settings=written.append)
    qtbot.addWidget(panel)
    panel.set_training(copy.deepcopy(training))
    assert written == []
    assert panel.training() == training
    optimizer = training["optimizer"]
    assert panel.optimizer_box.currentText() == optimizer["name"]
    assert panel.rate_box.value() == optimizer["learning_rate"]
    assert [n for n, b in panel.form.metric_boxes.items() if b.isChecked()] == sorted(
        training.get("metrics", []), key=list(panel.form.metric_boxes).index
    )
    # An edit and its reverse give the very dict the file held.
    panel.epochs_box.setValue(panel.epochs_box.value() + 1)
    panel.epochs_box.setValue(panel.epochs_box.value() - 1)
    assert written[-1] == training


def test_a_run_switches_from_setup_to_the_curves_and_locks_the_form(panel):
    panel.show_message_tab("Setup")
    panel.set_state("training")
    panel.begin_run(3)
    assert panel.tabs.tabText(panel.tabs.currentIndex()) == "Curves"
    assert not panel.form.isEnabled() and not panel.optimizer_box.isEnabled()
    panel.set_state("idle")
    assert panel.form.isEnabled()


def test_choice_arguments_are_combo_boxes(panel):
    panel.form.loss_box.setCurrentText("huber")
    reduction = panel.form.loss_args.field("reduction").editor
    assert isinstance(reduction, QComboBox)
    assert reduction.currentText() == "sum_over_batch_size"


def test_a_metric_with_arguments_keeps_them(panel):
    panel.set_training({"loss": "binary_crossentropy", "metrics": [{"name": "auc", "curve": "PR"}]})
    boxes = panel.form.metric_boxes
    assert boxes["auc"].isChecked()
    assert panel.form.metrics_editor.forms["auc"].field("curve").value() == "PR"
    boxes["precision"].setChecked(True)
    assert panel.written[-1]["metrics"] == [{"name": "auc", "curve": "PR"}, "precision"]
    boxes["auc"].setChecked(False)
    assert panel.written[-1]["metrics"] == ["precision"]


def test_what_the_panel_writes_is_a_valid_project_that_round_trips(panel, tmp_path):
    from engine.graph.project import load_project, save_project  # noqa: PLC0415

    panel.optimizer_box.setCurrentText("nadam")
    panel.form.optimizer_args.field("beta_2").editor.setValue(0.99)
    panel.form.schedule_box.setCurrentText("cosine_decay")
    panel.form.loss_args.field("from_logits").editor.setChecked(True)
    panel.form.metric_boxes["sparse_top_k_categorical_accuracy"].setChecked(True)
    training = panel.written[-1]
    project = load_project(EXAMPLES / "digits_mlp.lcproj")
    project.training = training
    save_project(project, tmp_path / "saved.lcproj")
    loaded = load_project(tmp_path / "saved.lcproj")
    assert loaded.training == training
    check = loaded.check()
    assert not [d for d in check.diagnostics if d.severity == "error"], check.diagnostics
