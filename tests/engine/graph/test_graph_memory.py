"""The compiler's training-memory estimate (counted here by hand, in bytes) and the
diagnostic that refuses a model this machine cannot hold, on the node that contributes most,
without allocating anything while checking."""

import os
import time
import tracemalloc

import pytest

from engine.graph.compiler import GraphChecker, GraphError, build_model, check_graph
from engine.graph.document import GraphDocument
from engine.graph.memory import (
    ENV_LIMIT,
    format_bytes,
    memory_limit,
    parse_size,
)
from engine.models.summary import training_memory

GIB = 1024**3


@pytest.fixture(autouse=True)
def _no_limit_from_the_environment(monkeypatch):
    monkeypatch.delenv(ENV_LIMIT, raising=False)


def chain(*nodes) -> GraphDocument:
    """A document of ``(id, type, params)`` nodes, each feeding the next."""
    doc = GraphDocument("t")
    previous = None
    for node_id, type_name, params in nodes:
        doc.create_node(type_name, params, node_id=node_id)
        if previous is not None:
            doc.connect(previous, node_id)
        previous = node_id
    return doc


def small_mlp() -> GraphDocument:
    return chain(
        ("input", "Input", {"shape": [4]}),
        ("hidden", "Dense", {"units": 3, "activation": "relu"}),
        ("out", "Dense", {"units": 2}),
    )


def huge_dense() -> GraphDocument:
    return chain(
        ("input", "Input", {"shape": [100000]}),
        ("dense_1", "Dense", {"units": 100000}),
    )


def huge_input() -> GraphDocument:
    return chain(
        ("input", "Input", {"shape": [100000, 100000]}),
        ("flat", "Flatten", {}),
        ("dense", "Dense", {"units": 10, "activation": "softmax"}),
    )


# -- the estimate, by hand -------------------------------------------------------------------


def test_the_estimate_of_a_small_mlp_to_the_byte():
    result = check_graph(small_mlp(), {"batch_size": 8, "optimizer": "adam"})
    memory = result.memory
    # hidden 4*3+3 = 15 and out 3*2+2 = 8 parameters: 23 float32 = 92 bytes.
    assert memory.weights == 92
    assert memory.gradients == 92
    assert memory.optimizer_state == 2 * 92  # Adam's m and v
    # Outputs of input (4), hidden (3) and out (2) per sample, 8 samples, float32.
    assert memory.activations == 8 * (4 + 3 + 2) * 4 == 288
    assert memory.total == 656
    assert memory.summary_line() == (
        "Estimated training memory at batch 8 with Adam: 656 B "
        "(weights 92, gradients 92, Adam state 184, activations 288)"
    )
    assert result.ok


@pytest.mark.parametrize(
    ("optimizer", "slots"),
    [
        ("sgd", 0),
        ({"name": "sgd", "momentum": 0.9}, 1),
        ("rmsprop", 1),
        ({"name": "rmsprop", "momentum": 0.9, "centered": True}, 3),
        ("adam", 2),
        ({"name": "adam", "amsgrad": True}, 3),
        ("adamw", 2),
    ],
)
def test_optimizer_state_counts_the_optimizers_slots(optimizer, slots):
    memory = check_graph(small_mlp(), {"batch_size": 8, "optimizer": optimizer}).memory
    assert memory.slots == slots
    assert memory.optimizer_state == slots * 92
    assert ("state" in memory.summary_line()) == (slots > 0)


def test_defaults_are_the_projects_batch_32_and_adam():
    memory = check_graph(small_mlp()).memory
    assert (memory.batch_size, memory.optimizer, memory.slots) == (32, "Adam", 2)
    assert memory.activations == 32 * 9 * 4


def test_frozen_layers_and_moving_statistics_have_no_gradients():
    doc = chain(
        ("input", "Input", {"shape": [4]}),
        ("hidden", "Dense", {"units": 3, "trainable": False}),
        ("norm", "BatchNormalization", {}),
    )
    memory = check_graph(doc, {"batch_size": 2, "optimizer": "sgd"}).memory
    # hidden 15 frozen; norm: gamma, beta (3 each) train, moving mean and variance do not.
    assert memory.weights == (15 + 12) * 4
    assert memory.gradients == 6 * 4


def test_an_int64_input_batch_takes_eight_bytes_a_value_and_an_unused_input_none():
    doc = chain(
        ("tokens", "Input", {"shape": [5], "dtype": "int64"}),
        ("embed", "Embedding", {"input_dim": 10, "output_dim": 3}),
    )
    doc.create_node("Input", {"shape": [1000]}, node_id="spare")  # feeds nothing
    memory = check_graph(doc, {"batch_size": 4}).memory
    assert memory.activations == 4 * (5 * 8 + 5 * 3 * 4)
    assert memory.weights == 30 * 4


def test_a_built_models_summary_gives_the_same_figures_as_the_compiler():
    doc = small_mlp()
    result = check_graph(doc, {"batch_size": 8})
    model = build_model(doc, result)
    from_weights = training_memory(model, batch_size=8)
    assert from_weights.total == result.memory.total == 656
    lines = []
    model.summary(print_fn=lines.append)
    # At batch 32: 368 bytes of weights, gradients and Adam state, 32 x 9 x 4 of activations.
    assert (
        "Estimated training memory at batch 32 with Adam: 1.5 KiB "
        "(weights 0.1, gradients 0.1, Adam state 0.2, activations 1.1)"
    ) in lines[0]


# -- the diagnostic -------------------------------------------------------------------------


def test_a_10g_parameter_dense_is_refused_on_its_node_with_the_fix(monkeypatch):
    monkeypatch.setenv(ENV_LIMIT, "24G")
    result = check_graph(huge_dense())
    assert not result.ok
    [error] = result.errors
    assert error.code == "memory"
    assert error.node_ids == ("dense_1",)
    assert error.param == "units"
    # 10,000,100,000 parameters x 4 bytes x (weights, gradients, m, v) + 32 x 200,000 x 4.
    assert result.memory.total == 10_000_100_000 * 16 + 32 * 200_000 * 4
    assert "needs 149.0 GiB to train at batch 32" in error.message
    assert "Adam state 74.5 GiB" in error.message
    assert f"{ENV_LIMIT} allows 24.0 GiB" in error.message
    assert error.fix.startswith("reduce units in dense_1")
    with pytest.raises(GraphError, match="reduce units in dense_1"):
        build_model(huge_dense(), result)


def test_a_huge_input_is_refused_and_the_fix_names_the_input_it_gets():
    result = GraphChecker(memory_limit=24 * GIB).check(huge_input())
    [error] = result.errors
    assert error.code == "memory" and error.node_ids == ("dense",)
    assert "mostly for activations" in error.message
    assert "10,000,000,000 values per sample" in error.fix
    assert "the limit is 24.0 GiB" in error.message


def test_a_huge_embedding_names_its_larger_size():
    doc = chain(
        ("tokens", "Input", {"shape": [5], "dtype": "int64"}),
        ("embed", "Embedding", {"input_dim": 100_000_000, "output_dim": 1000}),
    )
    [error] = check_graph(doc, memory_limit=GIB).errors
    assert error.node_ids == ("embed",) and error.param == "input_dim"
    assert error.fix.startswith("reduce input_dim or output_dim in embed")


def test_activations_alone_can_be_too_much_and_the_fix_is_the_batch_or_the_input():
    doc = chain(("input", "Input", {"shape": [1000, 1000]}), ("flat", "Flatten", {}))
    result = check_graph(doc, {"batch_size": 64}, memory_limit=256 * 1024**2)
    [error] = result.errors
    assert error.node_ids == ("input",) and error.param == "shape"
    assert "reduce the batch size (64) or the shape of Input 'input'" in error.fix
    # The same graph at batch 1 needs 8 MB, and fits.
    assert check_graph(doc, {"batch_size": 1}, memory_limit=256 * 1024**2).ok


def test_a_model_under_the_limit_passes_and_off_skips_the_check(monkeypatch):
    # At batch 32: 368 bytes of weights, gradients and Adam state, 32 x 9 x 4 of activations.
    assert check_graph(small_mlp(), memory_limit=368 + 1152).ok
    assert not check_graph(small_mlp(), memory_limit=368 + 1151).ok
    monkeypatch.setenv(ENV_LIMIT, "off")
    assert check_graph(huge_dense()).ok


def test_a_bad_limit_in_the_environment_is_a_warning_and_the_machine_still_decides(monkeypatch):
    monkeypatch.setenv(ENV_LIMIT, "lots")
    result = check_graph(huge_input())  # 3.8 TiB: more than any test machine has
    codes = [(d.severity, d.code) for d in result.diagnostics]
    assert ("warning", "memory") in codes and ("error", "memory") in codes
    assert "'lots' is not a size" in result.warnings[0].message


def test_checking_the_huge_dense_is_fast_and_allocates_nothing_large():
    checker = GraphChecker(memory_limit=24 * GIB)
    checker.check(small_mlp())  # imports and registries: not part of the measure
    tracemalloc.start()
    try:
        start = time.perf_counter()
        result = checker.check(huge_dense())
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not result.ok
    assert elapsed < 1.0
    assert peak < 1024**2  # the kernel would be 40 GB; the check's own objects are KiBs


# -- sizes and the machine's limit ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1048576", 1048576),
        ("512M", 512 * 1024**2),
        ("24G", 24 * GIB),
        ("1.5GiB", 3 * GIB // 2),
        ("2 TB", 2 * 1024**4),
        ("64k", 65536),
        ("lots", None),
        ("-1G", None),
        ("1e9", None),
        ("9" * 5000, None),
    ],
)
def test_sizes_parse_with_binary_units(text, size):
    assert parse_size(text) == size


def test_sizes_print_with_binary_units():
    assert format_bytes(656) == "656 B"
    assert format_bytes(160_027_200_000) == "149.0 GiB"
    assert format_bytes(3 * 1024**4) == "3.0 TiB"


@pytest.mark.skipif(not os.path.exists("/proc/meminfo"), reason="Linux's /proc/meminfo")
def test_the_machines_limit_is_a_positive_number_of_bytes_it_names():
    limit = memory_limit({})
    assert limit.bytes is not None and limit.bytes > 0
    assert format_bytes(limit.bytes) in limit.source
    with open("/proc/meminfo") as file:
        total_kib = next(int(line.split()[1]) for line in file if line.startswith("MemTotal"))
    assert limit.bytes <= total_kib * 1024


# -- projects and training ------------------------------------------------------------------


def wide_moons_project(batch_size: int):
    from engine.graph.project import Project  # noqa: PLC0415

    doc = chain(
        ("input", "Input", {"shape": [2]}),
        ("wide", "Dense", {"units": 4096, "activation": "relu"}),
        ("out", "Dense", {"units": 2, "activation": "softmax"}),
    )
    training = {
        "loss": "sparse_categorical_crossentropy",
        "optimizer": "adam",
        "batch_size": batch_size,
        "epochs": 1,
    }
    return Project(doc, {"name": "moons", "n_samples": 100, "seed": 0}, training)


def test_a_project_is_checked_at_its_batch_size_and_training_at_the_one_it_uses(monkeypatch):
    from engine.graph.session import ProjectInvalid, prepare_training  # noqa: PLC0415

    # 20,482 parameters take 327,712 bytes with Adam; one sample's outputs 16,400 bytes.
    monkeypatch.setenv(ENV_LIMIT, "1M")
    big = wide_moons_project(1024)  # 16.8 MB of activations
    [error] = big.check().errors
    assert error.code == "memory" and error.node_ids == ("wide",)
    assert error.key == "graph.nodes[1]"
    assert "reduce the batch size (1024) or the size of the output of wide (4096)" in error.fix
    with pytest.raises(ProjectInvalid, match="needs 16.3 MiB to train at batch 1024"):
        prepare_training(big)
    setup = prepare_training(big, batch_size=8)  # 459,712 bytes: fits
    assert setup.batch_size == 8
    assert wide_moons_project(8).check().ok
