"""Models: ``Sequential`` and the Functional ``Model``, their training loops and summary.

- :mod:`~engine.models.functional` — ``Model(inputs, outputs)``: the graph of layer calls;
- :mod:`~engine.models.sequential` — ``Sequential``: a chain of layers, built lazily;
- :mod:`~engine.models.plan` — the static execution plan a graph compiles into;
- :mod:`~engine.models.training` — compile and the data helpers the loops share;
- :mod:`~engine.models.fit_loop` — fit (class/sample weights, validation_freq,
  initial_epoch, steps_per_epoch);
- :mod:`~engine.models.evaluation` / :mod:`~engine.models.predict` — evaluate, the
  single-batch methods, predict;
- :mod:`~engine.models.steps` — one batch of each, with the regularization term;
- :mod:`~engine.models.sample_weights` — class_weight and sample_weight arrays;
- :mod:`~engine.models.compile_spec` — losses, weights and metrics per output;
- :mod:`~engine.models.validation` — checks on user data with clear messages;
- :mod:`~engine.models.summary` — the Keras-style summary table;
- :mod:`~engine.models.serialization` — configs to and from JSON-ready dicts.

Saving and loading model files is :mod:`engine.io`.
"""

from engine.models.functional import Model
from engine.models.plan import ExecutionPlan, GraphError
from engine.models.sequential import Sequential
from engine.models.serialization import ModelConfigError

__all__ = ["ExecutionPlan", "GraphError", "Model", "ModelConfigError", "Sequential"]
