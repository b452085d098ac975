"""The Setup tab's fit options (class_weight, validation_freq, initial_epoch,
steps_per_epoch) and the ticked metrics' argument forms, on the real training panel wired
to a real editor document: each edit writes the project-file value, one undo reverts it,
what is written checks and trains, and projects without these keys stay unchanged."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")

from widgets.training_panel import TrainingPanel  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
DIGITS = [str(i) for i in range(10)]


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
    panel.show_message_tab("Setup")
    yield editor, panel
    editor.close()


def digits_train_labels() -> np.ndarray:
    """The training split's labels of the example project, from the engine's own split."""
    from app.data_panel import load_preview  # noqa: PLC0415
    from engine import data  # noqa: PLC0415
    from engine.graph.project import load_project  # noqa: PLC0415

    spec = load_project(EXAMPLES / "digits_mlp.lcproj").dataset
    preview = load_preview(spec, EXAMPLES)
    labels = data.prepare(data.load_dataset(spec, EXAMPLES)).train.y.reshape(-1)
    assert preview.train_class_counts == np.bincount(labels, minlength=10).tolist()
    return labels


def test_validation_freq_initial_epoch_steps_each_one_undo_step(editor_panel):
    editor, panel = editor_panel
    before = editor.settings("training")
    fit = panel.form.fit_options
    for box, key, value in (
        (fit.validation_freq, "validation_freq", 3),
        (fit.initial_epoch, "initial_epoch", 2),
        (fit.steps_per_epoch, "steps_per_epoch", 7),
    ):
        count = editor.undo_stack.count()
        box.setValue(value)
        assert editor.project.training[key] == value
        assert editor.undo_stack.count() == count + 1
        editor.undo_stack.undo()
        assert key not in editor.project.training and box.value() == box.minimum()
        editor.undo_stack.redo()
    # back at Keras's default: the key is removed again (the file stays as it was)
    fit.validation_freq.setValue(1)
    fit.initial_epoch.setValue(0)
    fit.steps_per_epoch.setValue(0)
    assert editor.project.training == before
    assert fit.steps_per_epoch.text() == "all batches"


def test_class_weights_per_class_and_balanced_from_the_training_labels(editor_panel):
    from sklearn.utils.class_weight import compute_class_weight  # noqa: PLC0415

    editor, panel = editor_panel
    labels = digits_train_labels()
    fit = panel.form.fit_options
    assert not fit.balanced_button.isVisibleTo(panel)  # no counts known: no button
    panel.set_classes(DIGITS, np.bincount(labels, minlength=10).tolist())
    assert fit.balanced_button.isVisibleTo(panel)
    before = editor.settings("training")
    fit.weigh_box.setChecked(True)
    assert editor.project.training["class_weight"] == {str(i): 1.0 for i in range(10)}
    fit.findChild(type(fit._weight_fields["3"]), "classWeight_3").setValue(4.5)
    assert editor.project.training["class_weight"]["3"] == 4.5
    fit.balanced_button.click()
    expected = compute_class_weight("balanced", classes=np.arange(10), y=labels)
    written = editor.project.training["class_weight"]
    assert list(written) == [str(i) for i in range(10)]
    np.testing.assert_allclose([written[str(i)] for i in range(10)], expected, rtol=1e-5)
    editor.undo_stack.undo()  # one undo: back to the hand-set weights
    assert editor.project.training["class_weight"]["3"] == 4.5
    assert fit._weight_fields["3"].value() == 4.5
    fit.weigh_box.setChecked(False)
    assert editor.project.training == before


def test_class_weights_as_pairs_when_the_classes_are_unknown(editor_panel, qtbot):
    editor, panel = editor_panel
    fit = panel.form.fit_options
    fit.weigh_box.setChecked(True)
    assert fit.pairs.isVisibleTo(panel) and not fit.weights_grid.isVisibleTo(panel)
    assert "class_weight" not in editor.project.training  # nothing typed yet
    count = editor.undo_stack.count()
    fit.pairs.setText("0=1, 1=x")
    fit.pairs.editingFinished.emit()
    assert fit.problem.isVisibleTo(panel) and "weight must be a number" in fit.problem.text()
    assert editor.undo_stack.count() == count
    fit.pairs.setText("0=1, 7=5.5")
    fit.pairs.editingFinished.emit()
    assert not fit.problem.isVisibleTo(panel)
    assert editor.project.training["class_weight"] == {"0": 1.0, "7": 5.5}
    assert editor.undo_stack.count() == count + 1
    editor.undo_stack.undo()
    assert "class_weight" not in editor.project.training


def test_a_ticked_metrics_arguments_are_editable_and_one_undo_reverts(editor_panel):
    editor, panel = editor_panel
    metrics = panel.form.metrics_editor
    start = list(editor.project.training["metrics"])
    panel.form.metric_boxes["f1_score"].setChecked(True)
    assert editor.project.training["metrics"] == [*start, "f1_score"]
    form = metrics.forms["f1_score"]
    average = form.field("average")
    assert average.value() is None  # Keras's default: one value per class
    average.enable.setChecked(True)
    average.editor.setCurrentText("weighted")
    assert editor.project.training["metrics"][-1] == {"name": "f1_score", "average": "weighted"}
    editor.undo_stack.undo()
    assert editor.project.training["metrics"][-1] == {"name": "f1_score", "average": "micro"}
    editor.undo_stack.undo()
    assert editor.project.training["metrics"][-1] == "f1_score"
    assert metrics.forms["f1_score"].field("average").value() is None
    panel.form.metric_boxes["f1_score"].setChecked(False)
    assert editor.project.training["metrics"] == start and "f1_score" not in metrics.forms


def test_mean_iou_num_classes_from_the_dataset_or_a_clear_problem(editor_panel):
    editor, panel = editor_panel
    metrics = panel.form.metrics_editor
    box = panel.form.metric_boxes["mean_iou"]
    box.setChecked(True)  # the class count is not known: not written, and a problem shown
    # (the graph's output gives class scores, not ids: sparse_y_pred=False from the start)
    assert editor.project.training["metrics"][-1] == {"name": "mean_iou", "sparse_y_pred": False}
    problem = metrics.problems["mean_iou"]
    assert problem.isVisibleTo(panel) and "needs num_classes" in problem.text()
    errors = [d.message for d in editor.project.check().diagnostics if d.severity == "error"]
    assert any("mean_iou" in e and "num_classes" in e for e in errors), errors
    metrics.forms["mean_iou"].field("ignore_class").enable.setChecked(True)
    assert editor.project.training["metrics"][-1] == {
        "name": "mean_iou",
        "ignore_class": 1,
        "sparse_y_pred": False,
    }
    assert problem.isVisibleTo(panel)
    metrics.forms["mean_iou"].field("num_classes").editor.setValue(10)
    assert editor.project.training["metrics"][-1] == {
        "name": "mean_iou",
        "num_classes": 10,
        "ignore_class": 1,
        "sparse_y_pred": False,
    }
    assert not metrics.problems["mean_iou"].isVisibleTo(panel)
    box.setChecked(False)
    panel.set_classes(DIGITS, None)  # now known: seeded from the class count
    box.setChecked(True)
    assert editor.project.training["metrics"][-1] == {
        "name": "mean_iou",
        "num_classes": 10,
        "sparse_y_pred": False,
    }
    assert not metrics.problems["mean_iou"].isVisibleTo(panel)


def test_r2_score_per_column_and_precision_thresholds(editor_panel):
    editor, panel = editor_panel
    metrics = panel.form.metrics_editor
    panel.form.metric_boxes["r2_score"].setChecked(True)
    metrics.forms["r2_score"].field("class_aggregation").editor.setCurrentText("None")
    assert editor.project.training["metrics"][-1] == {"name": "r2_score", "class_aggregation": None}
    panel.form.metric_boxes["precision"].setChecked(True)
    thresholds = metrics.forms["precision"].field("thresholds")
    thresholds.enable.setChecked(True)
    thresholds.editor.setText("0.3, 0.7")
    thresholds.editor.editingFinished.emit()
    assert editor.project.training["metrics"][-1] == {"name": "precision", "thresholds": [0.3, 0.7]}


def test_what_the_tab_writes_checks_trains_and_round_trips(editor_panel, tmp_path):
    from engine.graph.project import load_project, save_project  # noqa: PLC0415
    from engine.graph.session import prepare_training  # noqa: PLC0415

    editor, panel = editor_panel
    labels = digits_train_labels()
    panel.set_classes(DIGITS, np.bincount(labels, minlength=10).tolist())
    panel.epochs_box.setValue(2)
    form = panel.form
    form.metric_boxes["f1_score"].setChecked(True)
    form.metric_boxes["mean_iou"].setChecked(True)
    form.fit_options.weigh_box.setChecked(True)
    form.fit_options.balanced_button.click()
    form.fit_options.validation_freq.setValue(2)
    form.fit_options.steps_per_epoch.setValue(5)
    training = editor.settings("training")
    project = load_project(EXAMPLES / "digits_mlp.lcproj")
    project.training = training
    save_project(project, tmp_path / "saved.lcproj")
    loaded = load_project(tmp_path / "saved.lcproj")
    assert loaded.training == training
    check = loaded.check()
    assert not [d for d in check.diagnostics if d.severity == "error"], check.diagnostics
    setup = prepare_training(loaded)
    history = setup.model.fit(**setup.fit_arguments()).history
    assert len(history["loss"]) == 2 and len(history["val_loss"]) == 1  # every 2 epochs
    assert [f"f1_score_{i}" for i in range(10)] == [k for k in history if k.startswith("f1")]
    assert "val_f1_score_9" in history and "val_mean_iou" in history


def test_a_project_with_fit_options_shows_and_saves_unchanged(qtbot):
    from engine.graph.project import load_project  # noqa: PLC0415

    training = load_project(EXAMPLES / "digits_mlp.lcproj").training
    training.update(
        class_weight={"0": 1.0, "3": 2.5},
        validation_freq=2,
        initial_epoch=1,
        steps_per_epoch=20,
        metrics=["accuracy", {"name": "f1_score", "average": "macro"}, "mean_iou"],
    )
    written: list[dict] = []
    panel = TrainingPanel(on_settings=written.append)
    qtbot.addWidget(panel)
    panel.set_training(copy.deepcopy(training))
    fit = panel.form.fit_options
    assert (fit.validation_freq.value(), fit.initial_epoch.value()) == (2, 1)
    assert fit.steps_per_epoch.value() == 20 and fit.weigh_box.isChecked()
    assert fit.pairs.text() == "0=1, 3=2.5"
    assert panel.form.metrics_editor.forms["f1_score"].field("average").value() == "macro"
    panel.epochs_box.setValue(panel.epochs_box.value() + 1)
    panel.epochs_box.setValue(panel.epochs_box.value() - 1)
    assert written[-1] == training
