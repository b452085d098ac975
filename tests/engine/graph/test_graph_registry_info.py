"""Registry info is read from the layer classes, covers every type, and is usable as is."""

import pytest

from engine.graph.compiler import check_graph
from engine.graph.document import GraphDocument
from engine.graph.registry_info import (
    CATEGORY_ORDER,
    all_layer_info,
    by_category,
    closest_type,
    default_params,
    layer_info,
    layer_types,
)
from engine.layers.base import LAYER_TYPES

TYPES = sorted(LAYER_TYPES)


def test_every_registered_type_is_listed_once_in_palette_order():
    infos = all_layer_info()
    assert sorted(i.type_name for i in infos) == layer_types() == TYPES
    ranks = [
        CATEGORY_ORDER.index(i.category) if i.category in CATEGORY_ORDER else 99 for i in infos
    ]
    assert ranks == sorted(ranks)
    sections = by_category()
    assert list(sections)[0] == "Core"
    assert sum(len(v) for v in sections.values()) == len(TYPES)


@pytest.mark.parametrize("type_name", TYPES)
def test_info_is_the_class_declaration(type_name):
    cls = LAYER_TYPES[type_name]
    info = layer_info(type_name)
    assert info.display_name and info.description and info.category
    assert info.params == tuple(p.to_json() for p in cls.params)
    assert (info.min_inputs, info.max_inputs) == (cls.min_inputs, cls.max_inputs)
    assert info.to_json()["type_name"] == type_name


@pytest.mark.parametrize("type_name", [t for t in TYPES if LAYER_TYPES[t].examples])
def test_default_params_with_an_example_input_give_a_valid_node(type_name):
    """A node dropped from the palette is valid on the input its own examples use."""
    cls = LAYER_TYPES[type_name]
    example = cls.examples[0]
    shapes = example["input_shape"]
    shapes = shapes if isinstance(shapes, list) else [shapes]
    doc = GraphDocument()
    dtype = example.get("input_dtype", "float32")
    params = {**default_params(type_name), **example["config"]}
    node = doc.create_node(type_name, params, node_id="layer")
    for port, shape in enumerate(shapes):
        doc.create_node("Input", {"shape": list(shape), "dtype": dtype}, node_id=f"in{port}")
        doc.connect(f"in{port}", node.id, port)
    result = check_graph(doc)
    assert result.ok, [str(d) for d in result.diagnostics]


def test_ports_of_fixed_and_variadic_types():
    assert layer_info("Dense").port_count() == 1
    assert layer_info("Input").port_count() == 0
    concat = layer_info("Concatenate")
    assert concat.variadic
    assert concat.port_count(0) == 2 and concat.port_count(3) == 4


def test_unknown_types_suggest_the_closest():
    assert closest_type("dense") == "Dense"
    assert closest_type("Conv2d") == "Conv2D"
    assert closest_type("Densse") == "Dense"
    assert closest_type("zzzzzzzz") is None
    with pytest.raises(KeyError, match="did you mean 'Dense'"):
        layer_info("Dence")


def test_default_params_fill_required_values():
    assert default_params("Dense") == {"units": 32}
    assert default_params("Flatten") == {}
