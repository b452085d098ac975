"""Parsing what people type into tuple fields, and the editors' value round trips."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from widgets.inspector_fields import make_field, parse_int_list  # noqa: E402


@pytest.mark.parametrize(
    ("text", "kind", "value", "problem", "partial"),
    [
        ("3", "int_tuple", 3, None, False),
        ("3, 5", "int_tuple", [3, 5], None, False),
        ("(3 x 5)", "int_tuple", [3, 5], None, False),
        ("3,", "int_tuple", 3, None, True),
        ("3, 5, 7", "int_tuple", None, "one number or 2 numbers", False),
        ("0", "int_tuple", None, "out of range", False),
        ("a", "int_tuple", None, "not a whole number", False),
        ("", "int_tuple", None, "at least one number", True),
        ("[1, 8, 8]", "shape", [1, 8, 8], None, False),
        ("-1, 4", "shape", [-1, 4], None, False),
        ("-1, -1", "shape", None, "only one dimension", False),
        ("4, 0", "shape", None, "positive", False),
        ("4, -", "shape", None, "not a whole number", True),
    ],
)
def test_parse_int_list(text, kind, value, problem, partial):
    param = {"name": "p", "kind": kind, "length": 2}
    if kind == "int_tuple":
        param.update(min=1, max=1024)
    got_value, got_problem, got_partial = parse_int_list(text, param)
    assert got_value == value
    if problem is None:
        assert got_problem is None
    else:
        assert problem in got_problem
    assert got_partial == partial


def test_an_empty_nullable_tuple_means_the_default():
    param = {"name": "strides", "kind": "int_tuple", "length": 2, "nullable": True}
    assert parse_int_list("", param) == (None, None, False)


@pytest.mark.parametrize(
    ("param", "value", "shown"),
    [
        ({"name": "units", "kind": "int", "min": 1, "max": 100}, 7, True),
        ({"name": "units", "kind": "int", "min": 1, "max": 100}, 500, True),  # out of range
        ({"name": "units", "kind": "int", "min": 1}, "many", False),
        ({"name": "units", "kind": "int"}, 2**40, False),
        ({"name": "rate", "kind": "float", "min": 0.0, "max": 1.0}, 0.001, True),
        ({"name": "rate", "kind": "float"}, True, False),
        ({"name": "on", "kind": "bool"}, True, True),
        ({"name": "on", "kind": "bool"}, "yes", False),
        ({"name": "act", "kind": "choice", "choices": ["relu", "tanh"]}, "tanh", True),
        ({"name": "act", "kind": "choice", "choices": ["relu", "tanh"]}, "swish", False),
        ({"name": "k", "kind": "int_tuple", "length": 2}, [3, 5], True),
        ({"name": "k", "kind": "int_tuple", "length": 2}, {"x": 1}, False),
        ({"name": "s", "kind": "str"}, "text", True),
    ],
)
def test_editors_show_good_values_and_report_bad_ones(qtbot, param, value, shown):
    sent = []
    field = make_field(param, sent.append)
    qtbot.addWidget(field.widget)
    assert field.show_value(value) is shown
    assert sent == []  # showing a value never sends it back
