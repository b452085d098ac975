"""Sweep parameters: every syntax read from text, names bound to settings, and every bad
value refused with one message naming the parameter and the value."""

import math

import numpy as np
import pytest

from engine.experiments import SweepError, parse_param, resolve_params
from engine.graph.project import load_project
from engine.user_errors import user_error_types

EXAMPLE = "resources/examples/digits_mlp.lcproj"


@pytest.fixture(scope="module")
def project():
    return load_project(EXAMPLE)


def test_a_list_of_numbers_keeps_ints_and_floats():
    p = parse_param("units=32,64, 128")
    assert (p.name, p.spec, p.values) == ("units", "32,64, 128", [32, 64, 128])
    assert all(type(v) is int for v in p.values)
    assert parse_param("rate=0.1,.25,1e-1x".replace("x", "0")).values == [0.1, 0.25, 1e-10]


def test_a_list_of_names_and_flags():
    assert parse_param("optimizer=adam,sgd").values == ["adam", "sgd"]
    assert parse_param("x.use_bias=true,False").values == [True, False]


def test_a_linear_range_includes_both_ends():
    assert parse_param("units=32:128:4").values == [32, 64, 96, 128]
    values = parse_param("rate=0:0.5:6").values
    np.testing.assert_allclose(values, np.linspace(0, 0.5, 6))
    assert values[3] == 0.3  # no floating-point dust in tables
    assert parse_param("units=16:16:1").values == [16]


def test_a_log_range_matches_numpy_geomspace():
    p = parse_param("lr=1e-4:1e-1:log:6")
    assert p.is_range and len(p.values) == 6
    np.testing.assert_allclose(p.values, np.geomspace(1e-4, 1e-1, 6), rtol=1e-9)
    assert (p.values[0], p.values[-1]) == (1e-4, 1e-1)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("units", "NAME=VALUES"),
        ("=1,2", "name"),
        ("units=", "empty"),
        ("units=32,,64", "empty value"),
        ("units=32,32", "listed twice"),
        ("lr=1:2", "not a range"),
        ("lr=1:2:3:4", "not a range"),
        ("lr=1:2:0", "at least 1"),
        ("lr=1:2:-3", "at least 1, got -3"),
        ("lr=1:2:2.5", "not a whole number"),
        ("lr=a:2:3", "start 'a' is not a number"),
        ("lr=-1e-3:1e-1:log:4", "log range needs start and stop > 0, got start -0.001"),
        ("lr=1e-3:0:log:4", "got stop 0"),
        ("lr=1:2:100000", "above"),
        ("lr=nan,1", "finite"),
        ("units=3$2", "neither a number nor a name"),
    ],
)
def test_bad_text_is_refused_naming_the_parameter(text, words):
    with pytest.raises(SweepError) as caught:
        parse_param(text)
    assert words in str(caught.value)
    assert isinstance(caught.value, user_error_types())


def test_training_names_and_the_lr_alias(project):
    params = resolve_params(
        project,
        [
            "lr=1e-4:1e-1:log:3",
            "batch_size=16,32",
            "optimizer=Adam,sgd",
            "schedule=none,cosine_decay",
        ],
    )
    assert [p.name for p in params] == ["learning_rate", "batch_size", "optimizer", "schedule"]
    assert {p.target for p in params} == {"training"}
    assert params[2].values == ["adam", "sgd"]
    assert params[0].label == "learning rate"


def test_node_parameters_by_id_and_by_bare_name(project):
    units, rate = resolve_params(project, ["hidden.units=16:64:3", "rate=0,0.5"])
    assert (units.name, units.target, units.node, units.param) == (
        "hidden.units",
        "node",
        "hidden",
        "units",
    )
    assert units.values == [16, 40, 64] and all(type(v) is int for v in units.values)
    assert (rate.name, rate.values) == ("dropout.rate", [0.0, 0.5])


def test_an_int_parameter_rounds_a_range_but_refuses_a_fraction_in_a_list(project):
    (units,) = resolve_params(project, ["hidden.units=16:256:log:5"])
    assert units.values == [16, 32, 64, 128, 256]
    with pytest.raises(SweepError, match=r"hidden.units: 32.5 is not a whole number"):
        resolve_params(project, ["hidden.units=32.5,64"])


def test_an_optimizer_argument(project):
    (beta,) = resolve_params(project, ["optimizer.beta_1=0.8,0.9"])
    assert (beta.name, beta.values, beta.target) == ("optimizer.beta_1", [0.8, 0.9], "training")


@pytest.mark.parametrize(
    ("param", "words"),
    [
        ("lr=-1e-3:1e-1:4", "learning_rate: -0.001 is not a usable learning rate"),
        ("lr=0,0.1", "learning_rate: 0 is not a usable learning rate"),
        ("bogus=1,2", "unknown parameter 'bogus'"),
        ("units=32,64", "2 nodes have 'units' (hidden.units, output.units)"),
        ("nosuch.units=32", "no node 'nosuch'"),
        ("hidden.rate=0.1", "node 'hidden' (Dense) has no parameter 'rate'"),
        ("hidden.units=0,8", "hidden.units: 0 is out of range"),
        ("dropout.rate=0.5,1.5", "dropout.rate: 1.5 is out of range"),
        ("hidden.activation=relu,wobble", "'wobble' is not allowed"),
        ("batch_size=0,32", "batch_size: 0 is below 1"),
        ("epochs=2.5", "epochs: 2.5 is not a whole number"),
        ("optimizer=adam,nope", "unknown optimizer 'nope'"),
        ("schedule=none,wavy", "unknown schedule 'wavy'"),
        ("optimizer.beta_9=0.1", "has no argument 'beta_9'"),
        (
            "optimizer.beta_1=0.5,2",
            "optimizer.beta_1=2: training.optimizer: beta_1 must be in [0, 1)",
        ),
        ("input.shape=3", "cannot be swept"),
    ],
)
def test_bad_values_are_refused_before_anything_starts(project, param, words):
    with pytest.raises(SweepError) as caught:
        resolve_params(project, [param])
    assert words in str(caught.value)


def test_a_value_the_schema_allows_but_the_graph_does_not_is_refused():
    # pool_size 8 is a valid MaxPooling2D setting, but after pool1 the 8x8 digits are 1x1
    # by conv2's pool: the project's own check says so, naming the node.
    cnn = load_project("resources/examples/digits_cnn.lcproj")
    (pool,) = resolve_params(cnn, ["pool2.pool_size=1,2,4"])
    assert pool.values == [1, 2, 4]
    with pytest.raises(SweepError) as caught:
        resolve_params(cnn, ["pool1.pool_size=2,8"])
    assert str(caught.value).startswith("parameter pool1.pool_size=8: graph.nodes[4]: pool 2x2")


def test_an_argument_every_swept_optimizer_must_take(project):
    with pytest.raises(SweepError, match="with optimizer sgd"):
        resolve_params(project, ["optimizer=adam,sgd", "optimizer.beta_1=0.9"])


def test_no_parameters_and_a_name_given_twice(project):
    with pytest.raises(SweepError, match="no parameters"):
        resolve_params(project, [])
    with pytest.raises(SweepError, match="learning_rate is given twice"):
        resolve_params(project, ["lr=0.1", "learning_rate=0.2"])


def test_values_are_json_numbers(project):
    (lr,) = resolve_params(project, ["lr=1e-4:1e-1:log:6"])
    assert all(isinstance(v, float) and math.isfinite(v) for v in lr.values)
    assert lr.to_json() == {
        "name": "learning_rate",
        "spec": "1e-4:1e-1:log:6",
        "values": lr.values,
        "target": "training",
        "label": "learning rate",
    }
