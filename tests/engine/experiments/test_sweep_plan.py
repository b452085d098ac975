"""Plans: the grid's size and order, random draws without repeats and seeded, successive
halving's rungs and its promotion of the better half."""

import itertools

import pytest

from engine.experiments import SweepError, SweepParam
from engine.experiments.experiment import Experiment, add_trial
from engine.experiments.plan import (
    grid,
    grid_size,
    halving_rungs,
    initial_trials,
    promote,
    random_trials,
)

A = SweepParam("learning_rate", "", [0.1, 0.01, 0.001])
B = SweepParam("hidden.units", "", [16, 32])
C = SweepParam("optimizer", "", ["adam", "sgd"])


def test_the_grid_is_the_cartesian_product_in_order():
    combos = grid([A, B, C])
    assert grid_size([A, B, C]) == len(combos) == 12
    expected = [
        {"learning_rate": a, "hidden.units": b, "optimizer": c}
        for a, b, c in itertools.product(A.values, B.values, C.values)
    ]
    assert combos == expected


def test_an_empty_grid_is_refused():
    with pytest.raises(SweepError, match="empty"):
        grid([A, SweepParam("x", "", [])])
    with pytest.raises(SweepError, match="empty"):
        initial_trials("grid", [], None, 0, 3)


def test_random_draws_distinct_combinations_of_the_grid_and_repeats_with_its_seed():
    drawn = random_trials([A, B, C], 7, seed=3)
    keys = [tuple(d.values()) for d in drawn]
    assert len(set(keys)) == 7
    assert all(d in grid([A, B, C]) for d in drawn)
    assert random_trials([A, B, C], 7, seed=3) == drawn
    assert random_trials([A, B, C], 7, seed=4) != drawn
    assert sorted(map(tuple, (d.values() for d in random_trials([A, B, C], 12, 0)))) == sorted(
        tuple(d.values()) for d in grid([A, B, C])
    )


def test_more_random_trials_than_combinations_is_refused():
    with pytest.raises(SweepError, match="13 trials asked for, but the grid has only 12"):
        random_trials([A, B, C], 13)
    with pytest.raises(SweepError, match="unknown strategy 'bayes'"):
        initial_trials("bayes", [A], None, 0, 3)


def test_halving_rungs_halve_the_trials_and_double_the_epochs():
    assert halving_rungs(8, 32) == [(8, 4), (4, 8), (2, 16), (1, 32)]
    assert halving_rungs(6, 8) == [(6, 2), (3, 4), (1, 8)]
    # Never two rungs with the same epochs: 2 epochs allow two rungs.
    assert halving_rungs(6, 2) == [(6, 1), (3, 2)]
    assert halving_rungs(1, 5) == [(1, 5)]


def test_halving_starts_every_configuration_at_the_first_rung_and_refuses_swept_epochs():
    trials = initial_trials("halving", [A, B], None, 0, 8)
    assert (
        len(trials) == 6
        and {t["epochs"] for t in trials} == {2}
        and {t["rung"] for t in trials} == {0}
    )
    with pytest.raises(SweepError, match="do not sweep epochs"):
        initial_trials("halving", [A, SweepParam("epochs", "", [1, 2])], None, 0, 8)


def _experiment(mode: str) -> Experiment:
    experiment = Experiment(
        id="e",
        name="e",
        created="",
        params=[A.to_json()],
        strategy="halving",
        metric="val_accuracy" if mode == "max" else "val_loss",
        mode=mode,
        epochs=8,
    )
    for item in initial_trials("halving", [SweepParam("x", "", [1, 2, 3, 4, 5, 6])], None, 0, 8):
        add_trial(experiment, item)
    return experiment


@pytest.mark.parametrize("mode", ["max", "min"])
def test_promotion_keeps_the_better_half_once_the_rung_is_done(mode):
    experiment = _experiment(mode)
    scores = [0.5, 0.9, 0.1, 0.7, 0.3, 0.8]
    for trial, score in zip(experiment.trials, scores, strict=True):
        trial.status, trial.metric, trial.run_id = "finished", score, f"run-{trial.id}"
    experiment.trials[-1].status = "running"
    assert promote(experiment) == []  # the rung is not done
    experiment.trials[-1].status = "finished"
    nxt = promote(experiment)
    best_first = sorted(range(6), key=lambda i: scores[i], reverse=mode == "max")[:3]
    assert [n["parent"] for n in nxt] == [experiment.trials[i].id for i in best_first]
    assert {n["rung"] for n in nxt} == {1} and {n["epochs"] for n in nxt} == {4}
    assert [n["values"] for n in nxt] == [experiment.trials[i].values for i in best_first]


def test_failed_trials_are_never_promoted_and_the_last_rung_ends_it():
    experiment = _experiment("max")
    for i, trial in enumerate(experiment.trials):
        trial.status, trial.metric = ("failed", None) if i < 5 else ("finished", 0.2)
    (only,) = promote(experiment)
    assert only["parent"] == experiment.trials[5].id
    add_trial(experiment, only)
    experiment.trials[-1].status, experiment.trials[-1].metric = "finished", 0.6
    (last,) = promote(experiment)
    assert last["rung"] == 2 and last["epochs"] == 8
    add_trial(experiment, last)
    experiment.trials[-1].status, experiment.trials[-1].metric = "finished", 0.4
    assert promote(experiment) == []
    # The best trial is of the last rung reached, even with a lower value than rung 1's.
    assert experiment.best_trial() is experiment.trials[-1]
