"""A trial's values applied to a project, checked by building the run from the result
(the optimizer, its rate and schedule, the layers) rather than by reading the JSON back."""

import copy
import math

import pytest

from engine.experiments import SweepError, apply_values, changes_for
from engine.graph.project import Project, load_project
from engine.graph.session import prepare_training

EXAMPLE = "resources/examples/digits_mlp.lcproj"


@pytest.fixture(scope="module")
def base():
    return load_project(EXAMPLE).to_json()


def built(project_json, **kw):
    return prepare_training(Project.from_json(project_json, file=EXAMPLE), **kw)


def test_values_reach_the_built_model(base):
    values = {"learning_rate": 0.02, "batch_size": 16, "hidden.units": 24, "dropout.rate": 0.4}
    setup = built(apply_values(base, values))
    assert math.isclose(float(setup.model.optimizer.learning_rate), 0.02)
    assert setup.batch_size == 16
    hidden = setup.model.get_layer("hidden")
    assert hidden.get_weights()[0].shape == (64, 24)
    assert setup.model.get_layer("dropout").rate == 0.4


def test_the_input_is_not_changed(base):
    before = copy.deepcopy(base)
    apply_values(base, {"learning_rate": 0.5, "hidden.units": 8, "schedule": "cosine_decay"})
    assert base == before


def test_switching_the_optimizer_keeps_the_rate_and_shared_arguments(base):
    data = apply_values(base, {"optimizer.clipnorm": 1.0, "optimizer.beta_1": 0.8})
    sgd = apply_values(data, {"optimizer": "sgd"})["training"]["optimizer"]
    assert sgd == {"name": "sgd", "learning_rate": 0.003, "clipnorm": 1.0}
    optimizer = built(apply_values(data, {"optimizer": "sgd"})).model.optimizer
    assert type(optimizer).__name__ == "SGD" and optimizer.clipnorm == 1.0


def test_a_new_schedule_is_seeded_from_the_planned_run(base):
    data = apply_values(base, {"schedule": "cosine_decay", "epochs": 3}, train_samples=1438)
    setup = built(data)
    schedule = setup.model.optimizer.learning_rate
    assert type(schedule).__name__ == "CosineDecay"
    config = schedule.get_config()
    # All the run's steps, as prepare_training counts them; the project's rate to start.
    assert config["decay_steps"] == setup.epochs * setup.steps_per_epoch
    assert config["initial_learning_rate"] == 0.003
    assert schedule(0) == pytest.approx(0.003)
    assert schedule(config["decay_steps"]) == pytest.approx(0.0)


def test_without_a_sample_count_the_steps_are_counted_from_the_dataset(base):
    data = apply_values(base, {"schedule": "cosine_decay", "batch_size": 64})
    setup = built(data)
    assert setup.model.optimizer.learning_rate.get_config()["decay_steps"] == (
        setup.epochs * setup.steps_per_epoch
    )
    unreadable = copy.deepcopy(base)
    unreadable["dataset"] = {"format": "csv", "path": "nowhere.csv", "target": "y"}
    fallback = apply_values(unreadable, {"schedule": "cosine_decay"})
    assert fallback["training"]["optimizer"]["learning_rate"]["decay_steps"] == 30 * 100


def test_the_rate_goes_to_the_schedule_when_one_is_in_use(base):
    scheduled = apply_values(base, {"schedule": "cosine_decay", "learning_rate": 0.01})
    schedule = built(scheduled).model.optimizer.learning_rate
    assert schedule(0) == pytest.approx(0.01)
    # The project keeps its schedule in training.schedule: it stays there.
    kept = copy.deepcopy(base)
    kept["training"]["schedule"] = {
        "name": "exponential_decay",
        "initial_learning_rate": 0.1,
        "decay_steps": 10,
        "decay_rate": 0.5,
    }
    out = apply_values(kept, {"learning_rate": 0.05})["training"]
    assert out["schedule"]["initial_learning_rate"] == 0.05
    assert built(apply_values(kept, {"learning_rate": 0.05})).model.optimizer.learning_rate(10) == (
        pytest.approx(0.025)
    )


def test_no_schedule_restores_a_constant_rate(base):
    scheduled = apply_values(base, {"schedule": "step_decay", "learning_rate": 0.02})
    # A step every epoch: the digits' training samples over the batch, counted from the data.
    assert scheduled["training"]["optimizer"]["learning_rate"]["step_size"] == (
        built(base).steps_per_epoch
    )
    constant = apply_values(scheduled, {"schedule": "none"})
    assert constant["training"]["optimizer"]["learning_rate"] == 0.02
    assert math.isclose(float(built(constant).model.optimizer.learning_rate), 0.02)


def test_changes_for_names_only_what_changes(base):
    nodes_only = changes_for(base, {"hidden.units": 32})
    assert nodes_only == {
        "training": None,
        "nodes": {"hidden": {"units": 32, "activation": "relu"}},
    }
    both = changes_for(base, {"learning_rate": 0.01, "hidden.units": 64})
    assert both["nodes"] == {}  # 64 is what it was
    assert both["training"]["optimizer"] == {"name": "adam", "learning_rate": 0.01}
    assert both["training"]["epochs"] == base["training"]["epochs"]


def test_an_unknown_node_is_a_sweep_error(base):
    with pytest.raises(SweepError, match="no node 'gone'"):
        apply_values(base, {"gone.units": 3})
