"""Property-based fuzz of project documents through ``layercanvas check``.

Hypothesis builds project dicts that look valid (real layer types and parameter names, a
dataset, training settings) and then breaks them: wrong types, huge and negative numbers,
NaN and infinities, deep nesting, unknown keys, edges to nowhere, integers of thousands of
digits written straight into the text. Whatever it builds, ``check`` may only say "OK"
(exit 0) or name the problems (exit 1); it must never crash, print a traceback or an
"internal error". The example count is kept small so CI stays fast.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.cli import main
from engine.graph import all_layer_info

BUILTIN = ["iris", "sine", "sentiment", "digits", "timeseries", "nope"]
LAYERS = {info.type_name: [p["name"] for p in info.params] for info in all_layer_info()}
TYPES = sorted(LAYERS)
HUGE = "__HUGE_NUMBER__"  # replaced in the JSON text by an integer of many digits
DEEP = "__DEEP_NESTING__"  # replaced in the JSON text by lists nested ``depth`` deep

# Numbers at and past every boundary the readers draw: int64, 2**53, 18 digits, float range.
EDGE_INTS = [0, -1, 1, 2**31, 2**53, 2**53 + 1, 2**63, -(2**63), 10**17, 10**18, 10**30]
EDGE_FLOATS = [math.inf, -math.inf, math.nan, 1e300, -1e-300, 0.5, 1e16]


def rarely(common: st.SearchStrategy, rare: st.SearchStrategy) -> st.SearchStrategy:
    """``common`` seven times in eight, else ``rare``: most examples get past the reader, so
    the checks behind it are fuzzed too, while every kind of breakage still turns up."""
    return st.integers(0, 7).flatmap(lambda k: rare if k == 7 else common)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.sampled_from(EDGE_INTS),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(EDGE_FLOATS),
    st.text(max_size=12),
    st.just(HUGE),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=6), inner, max_size=4),
    ),
    max_leaves=12,
)
small_ints = rarely(st.integers(min_value=-3, max_value=64), st.sampled_from(EDGE_INTS))
param_values = rarely(
    st.one_of(
        small_ints,
        st.lists(small_ints, min_size=1, max_size=4),
        st.sampled_from(["relu", "softmax", "same", "valid", "causal", None, True, 0.5, 2.0]),
    ),
    json_values,
)


@st.composite
def nodes(draw, node_id: str):
    type_name = draw(rarely(st.sampled_from(TYPES), st.text(max_size=8)))
    names = LAYERS.get(type_name) or ["units"]
    params = draw(
        st.dictionaries(
            rarely(st.sampled_from(names), st.text(max_size=6)), param_values, max_size=4
        )
    )
    node = {"id": node_id, "type": type_name, "params": params}
    node["position"] = draw(
        rarely(
            st.lists(st.integers(-500, 500), min_size=2, max_size=2),
            st.one_of(st.lists(st.sampled_from(EDGE_FLOATS), min_size=2, max_size=2), json_values),
        )
    )
    if draw(rarely(st.just(False), st.just(True))):
        node[draw(st.text(max_size=5))] = draw(json_values)  # an unknown key
    return node


@st.composite
def projects(draw):
    count = draw(st.integers(0, 5))
    ids = [f"n{i}" for i in range(count)]
    if draw(rarely(st.just(False), st.just(True))):
        ids = draw(st.lists(st.sampled_from(["n0", "n1", "", "in"]), max_size=4))  # duplicates
    node_list = [draw(nodes(i)) for i in ids]
    if draw(st.booleans()):  # a graph that works (Input -> Dense ...), one value changed
        node_list = [
            {"id": f"n{i}", "type": "Dense", "params": {"units": draw(st.integers(1, 8))}}
            for i in range(draw(st.integers(1, 3)))
        ]
        node_list[-1]["params"] = {"units": 2, "activation": "softmax"}
        if draw(st.booleans()):
            victim = draw(st.sampled_from(node_list))
            victim["params"][draw(st.sampled_from(LAYERS["Dense"]))] = draw(param_values)
    if draw(rarely(st.just(True), st.just(False))):
        shape = draw(rarely(st.just([2]), param_values))
        node_list.insert(0, {"id": "in", "type": "Input", "params": {"shape": shape}})
    known = [n["id"] for n in node_list]
    edges = [
        {"source": a, "target": b, "target_port": 0} for a, b in zip(known, known[1:])
    ]  # a chain, as most real graphs are
    edges += draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "source": st.sampled_from([*known, "ghost"]),
                    "target": st.sampled_from([*known, "ghost"]),
                    "target_port": rarely(small_ints, json_values),
                }
            ),
            max_size=2,
        )
    )
    training = st.fixed_dictionaries(
        {"loss": rarely(st.just("sparse_categorical_crossentropy"), scalars)},
        optional={
            "optimizer": rarely(
                st.fixed_dictionaries(
                    {"name": st.sampled_from(["adam", "sgd", "rmsprop"])},
                    optional={"learning_rate": scalars, "momentum": scalars},
                ),
                json_values,
            ),
            "batch_size": small_ints,
            "epochs": small_ints,
            "seed": small_ints,
            "validation_split": rarely(st.sampled_from([0.1, 0.2, 0.0]), scalars),
            "callbacks": rarely(st.just({"early_stopping": {"patience": 2}}), json_values),
            "metrics": rarely(st.just(["accuracy"]), json_values),
            "schedule": rarely(st.just(None), json_values),
        },
    )
    dataset = st.fixed_dictionaries(
        {"name": rarely(st.sampled_from(["xor", "moons"]), st.sampled_from(BUILTIN))},
        optional={
            "n_samples": small_ints,
            "noise": rarely(st.just(0.1), scalars),
            "seed": small_ints,
        },
    )
    data = {
        "format": draw(rarely(st.just("layercanvas-project"), scalars)),
        "version": draw(rarely(st.just(1), small_ints)),
        "name": draw(rarely(st.text(max_size=10), json_values)),
        "graph": draw(rarely(st.just({"nodes": node_list, "edges": edges}), json_values)),
        "dataset": draw(rarely(dataset, json_values)),
        "training": draw(rarely(training, json_values)),
    }
    if draw(rarely(st.just(False), st.just(True))):
        data[draw(st.text(max_size=6))] = draw(json_values)  # an unknown top-level key
    if draw(rarely(st.just(False), st.just(True))):
        data["nested"] = DEEP
    return data


def _run_check(path: Path) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(["check", str(path)])
    return code, out.getvalue()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    data=projects(),
    huge_digits=st.sampled_from([19, 25, 400, 5000]),
    depth=st.sampled_from([1, 5, 99, 100, 101, 3000]),
)
def test_check_never_crashes_on_a_project_document(data, huge_digits, depth):
    text = json.dumps(data)
    text = text.replace(f'"{HUGE}"', "9" * huge_digits)
    text = text.replace(f'"{DEEP}"', "[" * depth + "]" * depth)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.lcproj"
        path.write_text(text, encoding="utf-8")
        code, output = _run_check(path)
    assert code in (0, 1), output
    assert "Traceback" not in output, output
    assert "internal error" not in output, output
    if code == 1:
        assert output.strip(), "a refusal must say why"
