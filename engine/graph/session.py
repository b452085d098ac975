"""From a project to what ``fit`` needs: a compiled model, prepared data and callbacks.

Both ``layercanvas train`` and the app's training controller start a run here, so a project
trains the same way headless and in the window. :func:`prepare_training` checks the project
(graph and settings), loads and splits the dataset, checks that the data fits the graph
(:func:`data_diagnostics`: input shape and dtype, number of classes against the output
units, vocabulary against the Embedding, regression target shape), builds and compiles the
model, and optionally starts from the weights the project names. Every user mistake on this
path raises :class:`ProjectInvalid` (diagnostics), :class:`~engine.graph.project.ProjectError`
(files) or ``engine.data.DataError`` (data), each with one clear message.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from engine.graph.compiler import CheckResult, GraphChecker, build_model
from engine.graph.diagnostics import ERROR, WARNING, Diagnostic
from engine.graph.project import CALLBACKS, Project, ProjectCheck, ProjectError

__all__ = [
    "DEFAULTS",
    "ProjectInvalid",
    "TrainingSetup",
    "data_diagnostics",
    "prepare_training",
]

#: Training settings a project may leave out.
DEFAULTS: dict[str, Any] = {
    "optimizer": {"name": "adam", "learning_rate": 0.001},
    "metrics": [],
    "batch_size": 32,
    "epochs": 10,
    "seed": 0,
    "shuffle": True,
}

_CLASS_LOSSES = ("sparse_categorical_crossentropy",)
_REGRESSION_LOSSES = ("mean_squared_error", "mean_absolute_error", "huber")


class ProjectInvalid(ValueError):
    """The project cannot be trained as it is; ``diagnostics`` lists every reason."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        errors = [d for d in diagnostics if d.severity == ERROR]
        first = errors[0] if errors else None
        text = "the project is invalid" if first is None else _located(first)
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(text + more)


def _located(d: Diagnostic) -> str:
    return f"{d.key}: {d.text()}" if d.key else d.text()


@dataclass
class TrainingSetup:
    """A run ready to start: ``model.fit(**setup.fit_arguments(callbacks))``."""

    project: Project
    model: Any
    data: Any  # engine.data.PreparedData
    batch_size: int
    epochs: int
    seed: int
    shuffle: bool
    callbacks: list = field(default_factory=list)  # from training.callbacks
    warnings: list[Diagnostic] = field(default_factory=list)
    # Keras's fit options (training.class_weight, validation_freq, initial_epoch,
    # steps_per_epoch); None or the default when the project leaves them out.
    class_weight: dict[int, float] | None = None
    validation_freq: int = 1
    initial_epoch: int = 0
    steps_limit: int | None = None  # training.steps_per_epoch

    @property
    def train_samples(self) -> int:
        return len(self.data.train)

    @property
    def steps_per_epoch(self) -> int:
        batches = math.ceil(self.train_samples / self.batch_size)
        return batches if self.steps_limit is None else min(self.steps_limit, batches)

    def fit_arguments(self, extra_callbacks: list | None = None) -> dict[str, Any]:
        data = self.data
        n_outputs = len(self.model.outputs)
        y = data.train.y if n_outputs == 1 else [data.train.y] * n_outputs
        validation = None
        if data.validation is not None:
            vy = data.validation.y
            validation = (data.validation.x, vy if n_outputs == 1 else [vy] * n_outputs)
        return {
            "x": data.train.x,
            "y": y,
            "batch_size": self.batch_size,
            "epochs": self.epochs,
            "validation_data": validation,
            "shuffle": self.shuffle,
            "seed": self.seed,
            "augment": data.augmentation,
            "callbacks": [*self.callbacks, *(extra_callbacks or [])],
            "verbose": 0,
            "class_weight": self.class_weight,
            "validation_freq": self.validation_freq,
            "initial_epoch": self.initial_epoch,
            "steps_per_epoch": self.steps_limit,
        }


def prepare_training(
    project: Project,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    seed: int | None = None,
    checker: GraphChecker | None = None,
) -> TrainingSetup:
    """Everything a run needs; arguments given here override the project's settings."""
    import engine  # noqa: PLC0415
    from engine import data as data_module  # noqa: PLC0415

    # The memory check counts activations at the batch size this run will use.
    checked = project
    if batch_size is not None:
        checked = dataclasses.replace(
            project, training={**project.training, "batch_size": batch_size}
        )
    check: ProjectCheck = checked.check(checker)
    if not check.ok:
        raise ProjectInvalid(check.diagnostics)
    if not project.dataset:
        raise ProjectInvalid(
            [Diagnostic(ERROR, "dataset", "no dataset is chosen", 'add "dataset"', key="dataset")]
        )
    training = {**DEFAULTS, **project.training}
    run_seed = int(seed if seed is not None else training["seed"] or 0)
    dataset = data_module.load_dataset(project.dataset, project.base_dir)
    overrides = {}
    if project.training.get("validation_split") is not None:
        overrides["validation_split"] = float(project.training["validation_split"])
    prepared = data_module.prepare(dataset, **overrides)
    found = data_diagnostics(check.graph, project, prepared.dataset)
    if any(d.severity == ERROR for d in found):
        raise ProjectInvalid(found)

    engine.set_random_seed(run_seed)  # the same seed gives the same initial weights
    try:
        model = build_model(project.graph, check.graph)
    except MemoryError:  # the estimate fitted, but the machine's free memory shrank since
        raise ProjectInvalid([_out_of_memory(check.graph)]) from None
    start_notes: list[Diagnostic] = []
    if project.weights is not None:
        start_notes = _load_start_weights(project, model)
    model.metadata.update(
        {
            "project": project.name,
            "normalization": prepared.normalization,
            "dataset": prepared.info(),
        }
    )
    model.compile(
        optimizer=_optimizer(training),
        loss=training["loss"],
        metrics=training["metrics"],
    )
    fit_options = _fit_options(training, model, epochs)
    return TrainingSetup(
        project=project,
        model=model,
        data=prepared,
        batch_size=int(batch_size if batch_size is not None else training["batch_size"]),
        epochs=int(epochs if epochs is not None else training["epochs"]),
        seed=run_seed,
        shuffle=bool(training["shuffle"]),
        callbacks=_callbacks(training.get("callbacks") or {}),
        warnings=[d for d in check.diagnostics + found + start_notes if d.severity == WARNING],
        **fit_options,
    )


def _out_of_memory(result: CheckResult) -> Diagnostic:
    from engine.graph.memory import format_bytes, memory_limit  # noqa: PLC0415

    needed = f"about {format_bytes(result.memory.total)}" if result.memory else "more memory"
    return Diagnostic(
        ERROR,
        "memory",
        f"the model's weights could not be allocated: training needs {needed}, and "
        f"{memory_limit().source}",
        "close other programs, or make the model smaller",
        key="graph",
    )


def _optimizer(training: dict[str, Any]):
    from engine import optimizers, schedules  # noqa: PLC0415

    config = training["optimizer"]
    config = {"name": config} if isinstance(config, str) else dict(config)
    if training.get("schedule") is not None:
        try:
            config["learning_rate"] = schedules.get(dict(training["schedule"]))
        except (ValueError, TypeError) as err:
            raise ProjectInvalid([_setting_error("training.schedule", str(err))]) from None
    try:
        return optimizers.get(config)
    except (ValueError, TypeError) as err:
        raise ProjectInvalid([_setting_error("training.optimizer", str(err))]) from None


def _fit_options(training: dict[str, Any], model, epochs: int | None) -> dict[str, Any]:
    """training.class_weight / validation_freq / initial_epoch / steps_per_epoch for fit,
    checked against the model (class ids) and the epochs of this run."""
    from engine.graph.project_training import class_weight_dict  # noqa: PLC0415
    from engine.models.sample_weights import check_class_weight  # noqa: PLC0415

    options: dict[str, Any] = {
        "validation_freq": int(training.get("validation_freq") or 1),
        "initial_epoch": int(training.get("initial_epoch") or 0),
        "steps_limit": training.get("steps_per_epoch"),
    }
    total = int(epochs if epochs is not None else training["epochs"])
    if options["initial_epoch"] >= total:
        message = f"initial_epoch ({options['initial_epoch']}) must be below epochs ({total})"
        raise ProjectInvalid([_setting_error("training.initial_epoch", message)])
    if training.get("class_weight") is not None:
        try:
            options["class_weight"] = check_class_weight(
                class_weight_dict(training["class_weight"]), model
            )
        except ValueError as err:
            raise ProjectInvalid([_setting_error("training.class_weight", str(err))]) from None
    return options


def _callbacks(config: dict[str, dict]) -> list:
    from engine import callbacks  # noqa: PLC0415

    made = []
    for name, args in config.items():
        cls = getattr(callbacks, CALLBACKS[name])
        try:
            made.append(cls(**args))
        except (ValueError, TypeError) as err:
            raise ProjectInvalid([_setting_error(f"training.callbacks.{name}", str(err))]) from None
    return made


def _setting_error(key: str, message: str) -> Diagnostic:
    return Diagnostic(ERROR, "training", message, key=key)


def _load_start_weights(project: Project, model) -> list[Diagnostic]:
    """Start from the weights of the model file the project names, matched by layer name.

    Layers the file lacks (a new head on a pre-trained base) keep their fresh weights and are
    named in the warning returned; a file that matches no layer at all is an error."""
    import engine  # noqa: PLC0415
    from engine.graph.convert import copy_matching_weights  # noqa: PLC0415

    path = project.weights_path
    file = str(project.path) if project.path else None
    if path is None or not path.is_file():
        raise ProjectError(file, "weights", f"no such model file: {path}")
    try:
        source = engine.load_model(path, compile=False)
        copied, kept = copy_matching_weights(source, model)
    except ValueError as err:
        raise ProjectError(file, "weights", f"cannot start from {path.name}: {err}") from None
    if not copied and kept:
        raise ProjectError(
            file,
            "weights",
            f"cannot start from {path.name}: none of its layers "
            f"({', '.join(layer.name for layer in source.layers)}) has the id of a node",
        )
    if not kept:
        return []
    return [
        Diagnostic(
            WARNING,
            "training",
            f"{', '.join(kept)} {'is' if len(kept) == 1 else 'are'} not in {path.name}, so "
            f"{'it starts' if len(kept) == 1 else 'they start'} from fresh weights (as a new "
            f"head should); the other layers start from {path.name}",
            key="weights",
        )
    ]


# -- does the data fit the graph? -------------------------------------------------------------


def _fmt(shape) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def data_diagnostics(result: CheckResult, project: Project, dataset) -> list[Diagnostic]:
    """Mismatches between a valid graph and the dataset it will train on."""
    from engine.graph.project_training import is_loss_config  # noqa: PLC0415
    from engine.losses import loss_kind  # noqa: PLC0415

    found: list[Diagnostic] = []
    doc = project.graph

    def add(severity, message, fix=None, nodes=(), key="dataset") -> None:
        found.append(Diagnostic(severity, "dataset", message, fix, tuple(nodes), key=key))

    def node_key(node_id: str, param: str | None = None) -> str:
        index = [n.id for n in doc.nodes].index(node_id)
        return f"graph.nodes[{index}]" + (f".params.{param}" if param else "")

    name = dataset.name
    if len(result.inputs) != 1:
        add(
            ERROR,
            f"the graph has {len(result.inputs)} inputs ({', '.join(result.inputs)}), but "
            f"dataset '{name}' gives one array of samples",
            "keep one Input node",
            result.inputs,
        )
        return found
    input_id = result.inputs[0]
    input_shape = result.nodes[input_id].output_shape
    if input_shape != dataset.input_shape:
        add(
            ERROR,
            f"Input '{input_id}' has shape {_fmt(input_shape)}, but dataset '{name}' gives "
            f"samples of shape {_fmt(dataset.input_shape)}",
            f"set the Input shape to {list(dataset.input_shape)} (then Reshape if needed)",
            (input_id,),
            node_key(input_id, "shape"),
        )
    input_dtype = doc.node(input_id).params.get("dtype", "float32")
    ids = dataset.x.dtype.kind in "iu" and dataset.vocabulary is not None
    if ids and input_dtype != "int64":
        add(
            ERROR,
            f"dataset '{name}' gives word ids (integers), but Input '{input_id}' is float32",
            'set the Input dtype to "int64"',
            (input_id,),
            node_key(input_id, "dtype"),
        )
    if dataset.vocabulary_size is not None:
        for node in doc.nodes:
            input_dim = node.params.get("input_dim")
            too_small = isinstance(input_dim, int) and input_dim < dataset.vocabulary_size
            if node.type == "Embedding" and too_small:
                add(
                    ERROR,
                    f"Embedding '{node.id}' has input_dim {input_dim}, but the vocabulary "
                    f"of '{name}' has {dataset.vocabulary_size} words",
                    f"set input_dim to {dataset.vocabulary_size}",
                    (node.id,),
                    node_key(node.id, "input_dim"),
                )
    loss = project.training.get("loss")
    for output_id in result.outputs:
        per_output = isinstance(loss, dict) and not is_loss_config(loss, result.outputs)
        out_loss = loss.get(output_id) if per_output else loss
        kind = loss_kind(out_loss)
        shape = result.nodes[output_id].output_shape
        if kind in _CLASS_LOSSES:
            if dataset.task != "classification":
                add(
                    ERROR,
                    f"the loss {out_loss} needs class labels, but dataset '{name}' is a "
                    f"{dataset.task} set",
                    'use the loss "mse"',
                    key="training.loss",
                )
            elif shape and shape[-1] != dataset.num_classes:
                add(
                    ERROR,
                    f"output '{output_id}' gives {shape[-1]} values per sample, but dataset "
                    f"'{name}' has {dataset.num_classes} classes",
                    f"set units to {dataset.num_classes}",
                    (output_id,),
                    node_key(output_id, "units")
                    if "units" in doc.node(output_id).params
                    else node_key(output_id),
                )
        elif kind in _REGRESSION_LOSSES and dataset.task == "regression":
            target = dataset.target_shape or (1,)
            if shape != target:
                add(
                    ERROR,
                    f"output '{output_id}' has shape {_fmt(shape)}, but the targets of "
                    f"dataset '{name}' have shape {_fmt(target)}",
                    f"make the last layer produce {_fmt(target)}",
                    (output_id,),
                    node_key(output_id),
                )
    return found
