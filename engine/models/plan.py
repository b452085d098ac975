"""The static execution plan a model compiles its graph into (the seeds' *graph execution*).

A Functional or Sequential model is a graph of layer calls: each :class:`KerasTensor` is
the output of one call and remembers the tensors it was computed from. Walking that graph
on every batch would rebuild the same Python structures again and again, so on first use
the model compiles it once into an :class:`ExecutionPlan`:

- a topological order of the calls, inputs first;
- for each step, the layer and the *slot* indices its inputs are read from and the slot
  its output is written to (one slot per tensor of the graph);
- the shape (without batch) of every slot, known before anything runs;
- for each step, the slots no later step reads, so inference frees activations early.

:meth:`ExecutionPlan.run` then executes the steps one after the other. Layers compute with
the same primitives whether they are called eagerly or by the plan, so both give the same
numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from engine.autodiff.tensor import Tensor
from engine.layers.base import InputLayer, KerasTensor, Layer, Shape

__all__ = ["ExecutionPlan", "GraphError", "Step", "graph_nodes"]


class GraphError(ValueError):
    """The tensors given to a model do not form a usable graph."""


@dataclass(frozen=True)
class Step:
    """One layer call of the plan."""

    layer: Layer
    inputs: tuple[int, ...]  # slots read
    output: int  # slot written
    takes_list: bool  # multi-input layers (``max_inputs != 1``) receive a list
    release: tuple[int, ...]  # slots that no later step (and no output) needs


def _describe(tensor: KerasTensor) -> str:
    return f"{tensor.layer.name!r}"


def graph_nodes(inputs: Sequence[KerasTensor], outputs: Sequence[KerasTensor]) -> list:
    """Every tensor the outputs depend on, inputs first, each after the tensors it reads.

    Raises :class:`GraphError` when an output depends on an ``Input`` that is not among
    ``inputs`` or when ``inputs`` are not ``Input`` tensors.
    """
    seen: set[int] = set()
    for tensor in inputs:
        if not isinstance(tensor, KerasTensor) or not isinstance(tensor.layer, InputLayer):
            raise GraphError(
                f"model inputs must be tensors made by engine.Input(...), got {tensor!r}"
            )
        if id(tensor) in seen:
            raise GraphError(f"input {_describe(tensor)} is given twice")
        seen.add(id(tensor))
    order: list[KerasTensor] = list(inputs)
    for output in outputs:
        if not isinstance(output, KerasTensor):
            raise GraphError(
                f"model outputs must be symbolic tensors (the result of calling layers on "
                f"engine.Input(...)), got {type(output).__name__}"
            )
        # Depth-first, post-order, without recursion (deep graphs must not hit the limit).
        # Graphs of KerasTensors cannot have cycles: a tensor exists before its consumers.
        stack: list[tuple[KerasTensor, bool]] = [(output, False)]
        while stack:
            tensor, expanded = stack.pop()
            if expanded:
                order.append(tensor)
                continue
            if id(tensor) in seen:
                continue
            if not tensor.inputs:
                raise GraphError(
                    f"output {_describe(output)} depends on input {_describe(tensor)}, "
                    "which is not among the model's inputs: add it to inputs=[...]"
                )
            seen.add(id(tensor))
            stack.append((tensor, True))
            stack.extend((p, False) for p in reversed(tensor.inputs) if id(p) not in seen)
    return order


class ExecutionPlan:
    """A model's graph, compiled once into slots and steps; :meth:`run` executes it."""

    def __init__(self, inputs: Sequence[KerasTensor], outputs: Sequence[KerasTensor]):
        nodes = graph_nodes(inputs, outputs)
        slot_of = {id(t): i for i, t in enumerate(nodes)}
        self.num_slots = len(nodes)
        self.shapes: tuple[Shape, ...] = tuple(tuple(t.shape) for t in nodes)
        self.input_slots: tuple[int, ...] = tuple(slot_of[id(t)] for t in inputs)
        self.output_slots: tuple[int, ...] = tuple(slot_of[id(t)] for t in outputs)

        n_inputs = len(inputs)
        reads = [tuple(slot_of[id(p)] for p in t.inputs) for t in nodes]
        last_read = {}
        for step_index, slots in enumerate(reads):
            for s in slots:
                last_read[s] = step_index
        keep = set(self.output_slots)
        releases: dict[int, list[int]] = {}
        for s, step_index in last_read.items():
            if s not in keep:
                releases.setdefault(step_index, []).append(s)

        self.steps: tuple[Step, ...] = tuple(
            Step(
                layer=t.layer,
                inputs=reads[i],
                output=i,
                takes_list=t.layer.max_inputs != 1,
                release=tuple(sorted(releases.get(i, ()))),
            )
            for i, t in enumerate(nodes)
            if i >= n_inputs
        )

        # Masks flow (in a parallel set of slots) only where a layer starts one.
        self.uses_masks = any(step.layer.creates_mask() for step in self.steps)

    def run(self, inputs: Sequence[Tensor], training: bool = False) -> list[Tensor]:
        """Execute the steps on ``inputs`` (one Tensor per model input); returns the outputs."""
        slots: list[Tensor | None] = [None] * self.num_slots
        for s, value in zip(self.input_slots, inputs, strict=True):
            slots[s] = value
        # Activity penalties belong to one forward pass (Keras clears them per call):
        # ``model.losses`` read after this run holds this run's, on the same tape.
        for step in self.steps:
            step.layer._clear_losses()
        masks: list | None = [None] * self.num_slots if self.uses_masks else None
        for step in self.steps:
            if step.takes_list:
                args = [slots[i] for i in step.inputs]
            else:
                args = slots[step.inputs[0]]
            if masks is None:
                slots[step.output] = step.layer.call(args, training=training)
            else:
                mask = [masks[i] for i in step.inputs] if step.takes_list else masks[step.inputs[0]]
                slots[step.output] = step.layer.call_masked(args, training=training, mask=mask)
                masks[step.output] = step.layer.compute_mask(args, mask)
            step.layer._record_activity(slots[step.output])
            for s in step.release:
                slots[s] = None
                if masks is not None:
                    masks[s] = None
        return [slots[s] for s in self.output_slots]

    def __len__(self) -> int:
        return len(self.steps)

    def describe(self) -> str:
        """One line per step: ``slot <- Layer(name)(slots)`` (for debugging and docs)."""
        lines = [f"inputs -> slots {list(self.input_slots)}"]
        for step in self.steps:
            lines.append(
                f"{step.output:3d} <- {step.layer.type_name}({step.layer.name})"
                f"{list(step.inputs)} shape {self.shapes[step.output]}"
            )
        lines.append(f"outputs <- slots {list(self.output_slots)}")
        return "\n".join(lines)
