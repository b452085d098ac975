"""Every schedule, from a project file to a trained and saved model, through the calls
``layercanvas train`` makes (``load_project`` → ``prepare_training`` → ``fit`` →
``model.save``), then ``engine.load_model``: the optimizer follows the schedule step by step,
and the saved model brings the same schedule back, at the same step."""

import json

import numpy as np
import pytest

import engine
from engine import schedules
from engine.graph.project import load_project
from engine.graph.session import prepare_training
from tests.project_fixtures import mlp_project

STEPS_PER_EPOCH = 8  # iris: 150 samples, 20% for validation, batches of 16
EPOCHS = 2
TOTAL = STEPS_PER_EPOCH * EPOCHS

SCHEDULES = {
    "polynomial_decay": {
        "name": "polynomial_decay",
        "initial_learning_rate": 0.05,
        "decay_steps": 10,
        "power": 2.0,
    },
    "polynomial_cycle_with_warmup": {
        "name": "polynomial_decay",
        "initial_learning_rate": 0.0,
        "decay_steps": 4,
        "cycle": True,
        "warmup_target": 0.05,
        "warmup_steps": 3,
    },
    "cosine_decay_restarts": {
        "name": "cosine_decay_restarts",
        "initial_learning_rate": 0.05,
        "first_decay_steps": 3,
        "m_mul": 0.7,
    },
    "one_cycle": {"name": "one_cycle", "max_learning_rate": 0.05, "total_steps": TOTAL},
    "one_cycle_three_phase": {
        "name": "one_cycle",
        "max_learning_rate": 0.05,
        "total_steps": 10,
        "three_phase": True,
        "anneal_strategy": "linear",
    },
    "cosine_decay_warmup": {
        "name": "cosine_decay",
        "initial_learning_rate": 0.0,
        "decay_steps": 10,
        "warmup_target": 0.05,
        "warmup_steps": 4,
    },
    "exponential_warmup": {
        "name": "exponential_decay",
        "initial_learning_rate": 0.001,
        "decay_steps": 5,
        "decay_rate": 0.5,
        "warmup_target": 0.05,
        "warmup_steps": 5,
    },
    "piecewise_warmup": {
        "name": "piecewise_constant_decay",
        "boundaries": [4, 8],
        "values": [0.05, 0.01, 0.001],
        "warmup_target": 0.05,
        "warmup_steps": 3,
    },
    "step_decay": {"name": "step_decay", "initial_learning_rate": 0.05, "step_size": 5},
    "inverse_time_decay": {
        "name": "inverse_time_decay",
        "initial_learning_rate": 0.05,
        "decay_steps": 4,
        "decay_rate": 1.0,
        "staircase": True,
    },
}


def iris_project(schedule: dict, where: str) -> dict:
    training = {
        "loss": "sparse_categorical_crossentropy",
        "optimizer": {"name": "sgd", "learning_rate": 0.01},
        "metrics": ["accuracy"],
        "batch_size": 16,
        "epochs": EPOCHS,
        "seed": 0,
    }
    if where == "schedule":
        training["schedule"] = schedule
    else:  # the schedule as the optimizer's learning_rate, as Keras configs hold it
        training["optimizer"] = {"name": "sgd", "learning_rate": schedule}
    return mlp_project("iris", 4, 3, {"name": "iris", "validation_split": 0.2, "seed": 0}, training)


class RateRecorder(engine.callbacks.Callback):
    """The rate the optimizer is about to use, before every training batch."""

    def __init__(self):
        super().__init__()
        self.rates = []

    def on_train_batch_begin(self, batch, logs=None):
        self.rates.append(self.model.optimizer.current_learning_rate())


@pytest.mark.parametrize("where", ["schedule", "optimizer"])
@pytest.mark.parametrize("case", SCHEDULES)
def test_a_project_trains_with_the_schedule_and_the_saved_model_keeps_it(tmp_path, case, where):
    config = SCHEDULES[case]
    path = tmp_path / "iris.lcproj"
    path.write_text(json.dumps(iris_project(config, where)))
    project = load_project(path)
    assert project.check().ok, [str(d) for d in project.check().diagnostics]
    setup = prepare_training(project)
    model = setup.model
    assert setup.steps_per_epoch == STEPS_PER_EPOCH
    recorder = RateRecorder()
    history = model.fit(**setup.fit_arguments([recorder]))

    expected = schedules.preview(config, TOTAL + 1)
    np.testing.assert_allclose(recorder.rates, expected[:TOTAL], rtol=1e-12)
    assert model.optimizer.iterations == TOTAL
    assert np.isfinite(history.history["loss"]).all()
    # the epoch logs show the rate for the next step, as Keras's do
    assert history.history["learning_rate"][-1] == pytest.approx(expected[TOTAL])

    model.save(tmp_path / "model.lcmodel")
    again = engine.load_model(tmp_path / "model.lcmodel")
    schedule = again.optimizer.learning_rate
    assert isinstance(schedule, schedules.available()[config["name"]])
    assert schedule.get_config() == schedules.get(config).get_config()
    assert again.optimizer.iterations == TOTAL
    assert again.optimizer.current_learning_rate() == pytest.approx(expected[TOTAL])


def test_a_bad_schedule_in_a_project_is_a_diagnostic_on_its_key(tmp_path):
    bad = {"name": "one_cycle", "max_learning_rate": 0.05, "total_steps": 10, "pct_start": 1.5}
    path = tmp_path / "iris.lcproj"
    path.write_text(json.dumps(iris_project(bad, "schedule")))
    found = [d for d in load_project(path).check().diagnostics if d.key == "training.schedule"]
    assert found and "pct_start must be a fraction strictly between 0 and 1, got 1.5" in str(
        found[0]
    )
