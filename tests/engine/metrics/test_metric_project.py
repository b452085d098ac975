"""Metrics in project files: names and ``{"name": ..., **args}`` objects load, check, train
(logged under their names) and survive a save; unknown names and bad arguments are
diagnostics on the right key."""

import copy

from engine.graph.project import Project, load_project, save_project
from engine.graph.session import prepare_training
from tests.project_fixtures import mlp_project

PROJECT = mlp_project(
    "Breast cancer",
    30,
    1,
    {"name": "breast_cancer", "validation_split": 0.2, "seed": 0},
    {
        "loss": "binary_crossentropy",
        "optimizer": {"name": "adam", "learning_rate": 0.01},
        "metrics": ["precision", "recall", {"name": "auc", "curve": "PR", "num_thresholds": 50}],
        "batch_size": 64,
        "epochs": 2,
        "seed": 0,
    },
    hidden_id="h",
    out_activation="sigmoid",
)


def test_project_metrics_with_arguments_train_and_round_trip(tmp_path):
    path = tmp_path / "bc.lcproj"
    save_project(Project.from_json(copy.deepcopy(PROJECT)), path)
    project = load_project(path)
    assert project.training["metrics"][2] == {"name": "auc", "curve": "PR", "num_thresholds": 50}
    assert project.check().ok
    setup = prepare_training(project)
    history = setup.model.fit(**setup.fit_arguments())
    for key in ("precision", "recall", "auc", "val_precision", "val_recall", "val_auc"):
        assert len(history.history[key]) == 2
        assert all(0 <= v <= 1 for v in history.history[key])


def test_unknown_metric_names_and_bad_arguments_are_diagnostics():
    for metrics, text in (
        (["precison"], "unknown metric 'precison'"),
        ([{"name": "auc", "curve": "XY"}], "curve must be one of ROC, PR"),
        ([{"name": "mean_iou"}], "bad options for metric 'mean_iou'"),
    ):
        data = copy.deepcopy(PROJECT)
        data["training"]["metrics"] = metrics
        errors = Project.from_json(data).check().errors
        assert [d.key for d in errors] == ["training.metrics[0]"], metrics
        assert text in errors[0].message
