"""Look inside: which sample, which node and which weights the Activations panel shows.

A sample comes from the Samples tab (a click on a tile: ``SampleGrid.sample_picked``) or
from the sketchpad (each drawing it predicts); a node from the canvas selection. The
outputs of *every* node for that sample are computed at once with
:func:`engine.models.inspect.layer_outputs` and kept, so clicking another node, or
hovering an edge (its tooltip gets the statistics of the tensor it carries), costs nothing.

Which weights, and on which thread (the engine's recording flag is process-global, so the
UI thread never runs the model while a worker does):

* no run yet: the panel says so plainly — there is no sample to pick before a run either;
* while training: an :class:`ActivationProbe` joins ``fit``'s callbacks (it wraps the
  controller's ``setup_hook`` when Train is pressed) and, at each epoch end *in the worker
  thread*, runs the one picked sample through the model as it is then (one forward pass
  of one sample: bounded, training waits only for that) and sends the outputs back;
* after a run (finished or stopped): the kept model whenever the sample changes — on the
  UI thread for a small model (one sample, well under a millisecond for the digits CNN),
  in the controller's worker (``run_task``) above :data:`UI_THREAD_LIMIT` values.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal

from engine.callbacks.base import Callback
from engine.models.inspect import activation_size, layer_outputs, tensor_stats
from widgets.canvas.edge_item import set_edge_stats_provider

if TYPE_CHECKING:
    from app.main_window import MainWindow

__all__ = ["UI_THREAD_LIMIT", "ActivationProbe", "ActivationsController"]

#: Above this many values per sample (all layers' outputs together: a forward pass of tens
#: of milliseconds or more), the outputs are computed in the controller's worker thread
#: (``run_task``) instead of on the UI thread. The shipped examples stay far below it.
UI_THREAD_LIMIT = 2_000_000


def _normalised(x: np.ndarray, spec) -> np.ndarray:
    from engine.data import apply_normalization  # noqa: PLC0415

    x = np.asarray(x)
    if x.dtype.kind != "f":
        return x  # token ids and other integer inputs are not normalised
    return np.asarray(apply_normalization(x[None].astype(np.float32), spec)[0])


class ActivationProbe(Callback):
    """In the training worker: at each epoch end, the picked sample's outputs of every
    layer with the weights as they are, sent through ``emitter.computed``."""

    def __init__(self, emitter: _ProbeSignals, normalization):
        super().__init__()
        self._emitter = emitter
        self._normalization = normalization
        self._lock = threading.Lock()
        self._sample: tuple[int, np.ndarray] | None = None

    def request(self, key: int, x: np.ndarray | None) -> None:
        """Called from the UI thread: the sample (raw units) to probe from now on."""
        with self._lock:
            self._sample = None if x is None else (key, np.array(x, copy=True))

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        with self._lock:
            sample = self._sample
        if sample is None or self.model is None:
            return
        key, x = sample
        try:
            outputs = layer_outputs(self.model, _normalised(x, self._normalization))
        except Exception as err:  # noqa: BLE001 - reported in the panel, never fails a run
            self._emitter.failed.emit(key, str(err))
            return
        self._emitter.computed.emit(key, epoch, outputs)


class _ProbeSignals(QObject):
    computed = Signal(int, int, object)  # sample key, epoch, {node id: array}
    failed = Signal(int, str)


class ActivationsController(QObject):
    """Drives ``window.activations_view``; see the module docstring."""

    outputsChanged = Signal()  # new outputs for the picked sample (tests wait on it)

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.window = window
        self.view = window.activations_view
        self.sample: np.ndarray | None = None  # raw units, no batch axis
        self.sample_text = ""
        self._key = 0  # bumps with each pick, so a late probe result for an old one is dropped
        self.node_id: str | None = None
        self.outputs: dict[str, np.ndarray] | None = None
        self.weights_text = ""
        self._probe: ActivationProbe | None = None
        self._probing = False  # the running run has a probe (a resumed run has none)
        self._dock_offered = False  # the panel opens itself on the first pick only
        self._task_key: int | None = None  # the pick a worker task is computing
        self._signals = _ProbeSignals(self)
        self._signals.computed.connect(self._on_probe_computed)
        self._signals.failed.connect(self._on_probe_failed)

        c = window.controller
        c.finished.connect(self._on_run_ended)
        c.stopped.connect(self._on_run_ended)
        c.failed.connect(lambda _message: self._on_run_ended(None))
        c.task_finished.connect(self._on_task_finished)
        # A sample picked while an export or evaluation ran is computed once it is done.
        c.state_changed.connect(
            lambda state: QTimer.singleShot(0, self.refresh) if state == "idle" else None
        )
        c.task_failed.connect(self._on_task_failed)
        window.training.train_starting.connect(self._on_train_starting)
        window.projectOpened.connect(self._on_project_opened)
        scene = window.view.graph_scene
        scene.selectedNodesChanged.connect(self._on_selection)
        set_edge_stats_provider(scene, self.edge_stats)
        panel = window.training_panel
        panel.samples.sample_picked.connect(self.pick_validation_sample)
        panel.sketch.predicted.connect(lambda _probs: self._on_drawn())

    # -- picking ------------------------------------------------------------------------------

    def pick_sample(self, x: np.ndarray, text: str) -> None:
        """Use ``x`` (one sample in its own units, no batch axis) from now on."""
        self.sample = np.asarray(x)
        self.sample_text = text
        self._key += 1
        self.outputs = None
        if self._probe is not None:
            self._probe.request(self._key, self.sample)
        self.refresh()

    def pick_validation_sample(self, index: int) -> None:
        samples = self.window.training_panel.samples.samples
        if samples is None or not 0 <= index < len(samples):
            return
        text = (
            f"Validation sample {index + 1} (true {samples.label(samples.y_true[index])}, "
            f"predicted {samples.label(samples.y_pred[index])})"
        )
        self.pick_sample(samples.x[index], text)
        self._show_dock()

    def _on_drawn(self) -> None:
        x = self.window.training_panel.sketch.last_input
        if x is not None:
            self.pick_sample(x, "Your drawing on the sketchpad")
            self._show_dock()

    def _on_selection(self, node_ids: list) -> None:
        if len(node_ids) == 1:
            self.node_id = self._model_name(str(node_ids[0]))
            self._show()

    def _model_name(self, node_id: str) -> str:
        # Inside a block the canvas shows its layers by their own ids; the model names
        # them after the block ('res1.conv1'), and a block node stands for its output layer.
        blocks = getattr(self.window, "blocks", None)
        return blocks.model_name(node_id) if blocks is not None else node_id

    def _show_dock(self) -> None:
        """Bring the panel forward on the first pick (later the user decides)."""
        dock = self.window.docks.get("activations")
        if dock is None or self._dock_offered:
            return
        self._dock_offered = True
        dock.show()
        dock.raise_()
        if not dock.isFloating() and dock.width() < 360:
            # Maps need room: widen the left column a little (the canvas keeps the most).
            self.window.resizeDocks([dock], [360], Qt.Orientation.Horizontal)

    # -- computing ----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Recompute the outputs from the kept model when that is allowed, then show them."""
        c = self.window.controller
        if self.sample is None or self.outputs is not None or c.busy or c.result is None:
            self._show()
            return
        if self._task_key == self._key:
            return  # already being computed in the worker
        result, key = c.result, self._key
        epochs = result.epochs_completed
        how = "stopped" if result.stopped else "finished"
        unit = "epoch" if epochs == 1 else "epochs"
        weights_text = f"trained weights (run {how} after {epochs} {unit})"
        try:
            x = _normalised(self.sample, result.normalization)
            large = activation_size(result.model) > UI_THREAD_LIMIT
            if not large:
                outputs = layer_outputs(result.model, x)
        except Exception as err:  # noqa: BLE001 - a message, never a traceback
            self.view.show_message(f"Cannot run this sample through the model: {err}")
            return
        if large:
            model = result.model
            self._task_key = key
            c.run_task(
                "activations",
                lambda: (key, weights_text, layer_outputs(model, x)),
                "Computing activations",
            )
            self.view.show_message("Computing the activations of this sample...")
            return
        self._set_outputs(key, weights_text, outputs)

    def _set_outputs(self, key: int, weights_text: str, outputs: dict) -> None:
        if key != self._key:
            return  # computed for a sample the user has since replaced
        self.outputs = outputs
        self.weights_text = weights_text
        self._show()
        self.outputsChanged.emit()

    def _on_task_finished(self, name: str, value) -> None:
        if name == "activations":
            self._task_key = None
            self._set_outputs(*value)

    def _on_task_failed(self, name: str, message: str) -> None:
        if name == "activations":
            self._task_key = None
            self.view.show_message(f"Cannot run this sample through the model: {message}")

    def _on_probe_computed(self, key: int, epoch: int, outputs: dict) -> None:
        self._set_outputs(key, f"weights after epoch {epoch + 1} (training)", outputs)

    def _on_probe_failed(self, key: int, message: str) -> None:
        if key == self._key:
            self.view.show_message(f"Cannot run this sample through the model: {message}")

    def _on_train_starting(self, _project) -> None:
        c = self.window.controller
        inner = getattr(c.setup_hook, "activations_inner", c.setup_hook)
        signals = self._signals

        def hook(setup) -> list:  # runs in the worker thread
            extra = list(inner(setup)) if inner is not None else []
            probe = ActivationProbe(signals, setup.data.normalization)
            self._probe = probe
            if self.sample is not None:
                probe.request(self._key, self.sample)
            return [*extra, probe]

        hook.activations_inner = inner
        c.setup_hook = hook
        self._probing = True
        self.outputs = None
        self._show()

    def _on_run_ended(self, _result: Any) -> None:
        self._probe = None
        self._probing = False
        self.outputs = None
        # The outcome arrives once the worker thread has ended; refresh on the next turn of
        # the event loop so nothing else still handling the signal sees a half update.
        QTimer.singleShot(0, self.refresh)

    def _on_project_opened(self, _editor) -> None:
        self.sample = self.outputs = self.node_id = None
        self.sample_text = self.weights_text = ""
        self._show()

    # -- showing ------------------------------------------------------------------------------

    def _show(self) -> None:
        self._refresh_edge_tooltips()
        view, c = self.view, self.window.controller
        if c.result is None and not c.is_training:
            view.show_message(
                "No trained model yet. Train the model (F5); then pick a validation sample "
                "in Training ▸ Samples, or draw on the sketchpad, and click a node."
            )
            return
        if self.sample is None:
            view.show_message(
                "Pick a sample: click one in Training ▸ Samples, or draw on the sketchpad."
            )
            return
        if self.node_id is None:
            view.show_message("Click a node on the canvas to see what it outputs for this sample.")
            return
        if self.outputs is None:
            if c.is_training and self._probing:
                view.show_message(
                    "Training: the activations appear at the end of the current epoch.",
                    self.node_id,
                )
            elif c.is_training:
                view.show_message(
                    "This run (resumed from the Runs panel) is not followed live; the "
                    "activations appear when it ends.",
                    self.node_id,
                )
            else:
                view.show_message("The model is busy; the activations follow when it is free.")
            return
        values = self.outputs.get(self.node_id)
        if values is None:
            view.show_message(
                f"'{self.node_id}' is not in the trained model (it was added or renamed "
                "after the run). Train again to see it.",
                self.node_id,
            )
            return
        node = self._node(self.node_id)
        kind = node.type if node is not None else "layer"
        view.show_output(self.node_id, kind, values, f"{self.sample_text} · {self.weights_text}")

    def _refresh_edge_tooltips(self) -> None:
        # The sample or the weights changed: every edge's statistics with them (a tooltip
        # is also rebuilt on hover, but a tooltip asked for without a hover reads this).
        for items in self.window.view.graph_scene.edge_items.values():
            for item in items:
                item.setToolTip(item.tooltip_text())

    def _node(self, node_id: str):
        editor = self.window.editor
        if editor is None:
            return None
        try:
            return editor.graph.node(node_id)
        except (KeyError, ValueError):
            return None

    def edge_stats(self, source: str) -> str | None:
        """The statistics line for the tensor leaving node ``source`` (for edge tooltips)."""
        source = self._model_name(source)
        if self.outputs is None or source not in self.outputs:
            return None
        return f"{self.sample_text}:\n{tensor_stats(self.outputs[source]).text()}"
