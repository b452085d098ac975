"""The data panel: the dataset dict it writes for each source, and its background preview."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402

from app.data_panel import DataPanel, load_preview  # noqa: E402
from engine.data import load_dataset  # noqa: E402

HOUSES = "rooms,area,price\n3,70.5,210\n4,95.0,305\n2,48.2,150\n5,120.0,400\n3,80.0,240\n"


@pytest.fixture
def project_dir(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "houses.csv").write_text(HOUSES, encoding="utf-8")
    return tmp_path


@pytest.fixture
def panel(qtbot, project_dir):
    applied: list[dict] = []
    widget = DataPanel(on_apply=applied.append, base_dir=lambda: project_dir)
    widget.applied = applied
    qtbot.addWidget(widget)
    widget.resize(380, 700)
    widget.show()
    return widget


def _wait_preview(qtbot, panel):
    qtbot.waitUntil(lambda: panel.last_preview is not None and not panel.preview_busy, timeout=5000)
    return panel.last_preview


def test_shows_a_builtin_dataset_and_writes_only_changed_options(panel, qtbot):
    panel.set_dataset({"name": "moons", "validation_split": 0.25, "seed": 3})
    assert panel.builtin.name() == "moons"
    assert panel.validation_split.value() == pytest.approx(0.25) and panel.seed.value() == 3
    assert not panel.apply_button.isEnabled()
    assert panel.spec() == {"name": "moons", "validation_split": 0.25, "seed": 3}
    noise, default = panel.builtin.option_widgets["noise"]
    noise.setValue(0.3)
    assert panel.spec() == {"name": "moons", "noise": 0.3, "validation_split": 0.25, "seed": 3}
    qtbot.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    assert panel.applied == [{"name": "moons", "noise": 0.3, "validation_split": 0.25, "seed": 3}]
    # What it writes loads as that dataset.
    assert len(load_dataset(panel.applied[0])) == 400


def test_a_csv_file_gets_a_relative_path_and_its_options(panel, qtbot, project_dir):
    panel.set_dataset({"name": "digits", "validation_split": 0.2, "seed": 0})
    panel.source.setCurrentIndex(panel.source.findData("csv"))
    page = panel.pages["csv"]
    page.fields["path"][1].set_path(str(project_dir / "data" / "houses.csv"))
    page.fields["target"][1].setText("price")
    page.fields["task"][1].setCurrentIndex(2)  # regression
    expected = {
        "format": "csv",
        "path": "data/houses.csv",
        "target": "price",
        "task": "regression",
        "validation_split": 0.2,
        "seed": 0,
    }
    assert panel.spec() == expected
    preview = _wait_preview(qtbot, panel)
    assert preview.error is None and preview.samples == 5
    assert preview.input_shape == (2,) and preview.task == "regression"
    assert panel.apply()
    assert panel.applied[-1] == expected
    loaded = load_dataset(expected, project_dir)
    assert loaded.input_shape == (2,) and len(loaded) == 5


def test_a_file_outside_the_project_folder_keeps_its_absolute_path(panel, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "x.npz"
    panel.source.setCurrentIndex(panel.source.findData("npz"))
    panel.pages["npz"].fields["path"][1].set_path(str(elsewhere))
    assert panel.spec()["path"] == elsewhere.as_posix()


def test_keys_the_form_does_not_show_are_kept(panel):
    spec = {
        "format": "images",
        "path": "photos",
        "size": [28, 28],
        "color": "rgb",
        "validation_split": 0.1,
        "seed": 0,
        "augmentation": {"horizontal_flip": True},
        "stratify": True,
    }
    panel.set_dataset(spec)
    assert panel.source.currentData() == "images"
    assert panel.spec() == spec  # nothing changed: everything round-trips
    panel.pages["images"].fields["size"][1].height.setValue(32)
    changed = panel.spec()
    assert changed["size"] == [32, 28] and changed["augmentation"] == {"horizontal_flip": True}
    assert changed["stratify"] is True


def test_idx_reads_designs_path_key_as_the_images_file(panel):
    panel.set_dataset({"format": "idx", "path": "train-images.idx3-ubyte", "labels": "l.idx"})
    fields = panel.pages["idx"].fields
    assert fields["images"][1].value() == "train-images.idx3-ubyte"
    spec = panel.spec()
    assert spec["images"] == "train-images.idx3-ubyte" and "path" not in spec


def test_normalization_and_revert(panel):
    panel.set_dataset({"name": "wine", "validation_split": 0.2, "seed": 0})
    panel.normalization.setCurrentIndex(panel.normalization.findData("standardize"))
    assert panel.spec()["normalization"] == "standardize"
    assert panel.revert_button.isEnabled()
    panel.revert_button.click()
    assert "normalization" not in panel.spec()
    assert not panel.apply_button.isEnabled()


def test_nothing_to_apply_without_a_file(panel):
    panel.source.setCurrentIndex(panel.source.findData("text_csv"))
    assert not panel.spec_ready() and not panel.apply()
    assert panel.applied == []


def test_a_bad_file_previews_as_a_message(panel, qtbot, project_dir):
    (project_dir / "bad.csv").write_text("a,b\n1\n", encoding="utf-8")
    panel.set_dataset({"format": "csv", "path": "bad.csv"})
    preview = _wait_preview(qtbot, panel)
    assert preview.error is not None and preview.error.startswith("Cannot load this dataset:")
    assert "bad.csv" in panel.preview_label.text()
    assert panel.preview_label.property("role") == "error"


def test_the_fit_check_is_shown(qtbot, project_dir):
    panel = DataPanel(fit_check=lambda ds: [] if ds.input_shape == (4,) else ["wrong shape"])
    qtbot.addWidget(panel)
    panel.set_dataset({"name": "iris"})
    _wait_preview(qtbot, panel)
    assert panel.fit_label.text() == "✓ The graph fits this data"
    panel.set_dataset({"name": "wine"})
    qtbot.waitUntil(lambda: panel.last_preview.name == "wine", timeout=5000)
    assert panel.fit_label.text() == "✗ wrong shape"


def test_load_preview_describes_the_classes_and_split():
    preview = load_preview({"name": "iris", "validation_split": 0.2}, Path.cwd())
    assert preview.class_names == ["setosa", "versicolor", "virginica"]
    assert preview.class_counts == [50, 50, 50]
    assert (preview.train_samples, preview.validation_samples) == (120, 30)
    lines = preview.summary_lines()
    assert lines[0] == "150 samples · input (4,) float32 · classification"
    assert lines[2].startswith("3 classes: setosa (50)")
