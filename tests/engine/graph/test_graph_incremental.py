"""Incremental re-checking gives exactly what a fresh check gives, and does less work."""

import random

from engine.graph.compiler import GraphChecker, check_graph
from engine.graph.document import Edge, GraphDocument

TYPES = [
    (
        "Dense",
        lambda r: {"units": r.choice([1, 4, 8, -1]), "activation": r.choice(["relu", "tanh"])},
    ),
    ("Flatten", lambda r: {}),
    ("Reshape", lambda r: {"target_shape": r.choice([[2, 4], [8], [-1, 2]])}),
    ("Add", lambda r: {}),
    ("Concatenate", lambda r: {}),
    ("Dropout", lambda r: {"rate": r.choice([0.1, 0.5, 1.5])}),
    ("Dense", lambda r: {"units": 8}),
]


def chain(n: int) -> GraphDocument:
    doc = GraphDocument("chain")
    doc.create_node("Input", {"shape": [8]}, node_id="input")
    previous = "input"
    for i in range(n):
        # Distinct widths, so no two layers share a cache entry.
        node = doc.create_node("Dense", {"units": 8 + i, "activation": "relu"}, node_id=f"d{i}")
        doc.connect(previous, node.id)
        previous = node.id
    return doc


def random_edit(doc: GraphDocument, rng: random.Random) -> None:
    ids = [n.id for n in doc.nodes]
    action = rng.random()
    if action < 0.3 and ids:
        node_id = rng.choice(ids)
        if doc.node(node_id).type == "Input":
            doc.set_params(node_id, {"shape": rng.choice([[8], [2, 4], [4, 2]])})
        else:
            type_name, params = rng.choice(TYPES)
            doc.set_params(node_id, params(rng) if doc.node(node_id).type == type_name else {})
    elif action < 0.45:
        type_name, params = rng.choice(TYPES)
        doc.create_node(type_name, params(rng))
    elif action < 0.55 and len(ids) > 2:
        node_id = rng.choice(ids[1:])
        doc.remove_node(node_id)
    elif action < 0.8 and ids:
        doc.add_edge(Edge(rng.choice(ids), rng.choice(ids), rng.choice([0, 0, 1, 2])))
    elif doc.edges:
        doc.remove_edge(rng.choice(doc.edges))


def test_random_edits_give_the_same_result_as_a_fresh_check():
    rng = random.Random(1234)
    doc = chain(20)
    checker = GraphChecker()
    seen_codes = set()
    for _ in range(300):
        random_edit(doc, rng)
        incremental = checker.check(doc)
        fresh = check_graph(doc)
        assert incremental.diagnostics == fresh.diagnostics
        assert incremental.nodes == fresh.nodes
        assert incremental.order == fresh.order
        assert incremental.outputs == fresh.outputs
        seen_codes |= {d.code for d in fresh.diagnostics}
    # The walk went through broken graphs of many kinds, not just valid ones.
    assert {"shape", "parameter", "cycle", "port_conflict"} <= seen_codes


def test_an_edit_reevaluates_only_the_edited_node_and_what_its_change_reaches():
    doc = chain(50)
    checker = GraphChecker()
    checker.check(doc)
    first = checker.evaluations_run
    assert first == 51  # every node once (the input and 50 Dense layers)

    doc.set_param("d49", "activation", "tanh")  # the last layer: nothing downstream
    checker.check(doc)
    assert checker.evaluations_run - first == 1

    doc.set_param("d10", "activation", "tanh")  # same output shape: downstream unchanged
    before = checker.evaluations_run
    checker.check(doc)
    assert checker.evaluations_run - before == 1

    doc.set_param("d10", "units", 5)  # new shape: d11 sees a new input, d12 on does not
    before = checker.evaluations_run
    result = checker.check(doc)
    assert checker.evaluations_run - before == 2
    assert result.nodes["d11"].input_shapes == ((5,),)
    assert result.ok


def test_moving_a_node_needs_no_evaluation():
    doc = chain(10)
    checker = GraphChecker()
    checker.check(doc)
    before = checker.evaluations_run
    doc.move_node("d3", (500, 500))
    checker.check(doc)
    assert checker.evaluations_run == before
