"""The training controller's signals, shown in the window: Train/Pause/Stop states, live
curves and progress, the end of a run, evaluations and finished exports.

Training, evaluation and export run in :class:`app.training_controller.TrainingController`'s
worker thread; this module only starts them (after checking the graph) and shows what they
report. Batch updates reach the curves' buffers as they come (the plots redraw on their own
timer); the progress bar, the speed line and the status bar follow at most
:data:`PROGRESS_HZ` times a second (the latest update wins), as each of them repaints. A
panel that wants to follow runs (for example a runs list) connects to the controller's
signals itself, or to :attr:`TrainingWiring.train_starting`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.training_controller import BatchUpdate, Evaluation, RunInfo, TrainingResult
from app.ui_text import count_text, fmt_shape
from widgets.sample_grid import SampleSet
from widgets.sketchpad import supports as sketch_supports
from widgets.training_panel import format_duration

if TYPE_CHECKING:
    from app.main_window import MainWindow

__all__ = ["PROGRESS_HZ", "TrainingWiring"]

#: Progress (bar, speed line, status bar) shown at most this often: a progress bar repaints
#: itself at once on every change, which is UI-thread time taken from the training thread.
PROGRESS_HZ = 5


class TrainingWiring(QObject):
    """Starts training/evaluation for the window and shows the controller's reports.

    Signals:
        train_starting(object): the project (``engine.graph.project.Project``) about to be
            trained, after its check passed and before the worker starts.
    """

    train_starting = Signal(object)

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.window = window
        tp, c = window.training_panel, window.controller
        tp.train_requested.connect(self.train)
        tp.pause_requested.connect(c.toggle_pause)
        tp.stop_requested.connect(c.stop)
        c.state_changed.connect(self.show_state)
        c.started.connect(self._on_started)
        c.batch_end.connect(self._on_batches)
        c.epoch_end.connect(tp.add_epoch)
        c.finished.connect(lambda r: self._on_run_ended(r, "finished"))
        c.stopped.connect(lambda r: self._on_run_ended(r, "stopped"))
        c.failed.connect(self._on_failed)
        c.message.connect(tp.log)
        c.task_finished.connect(self._on_task_finished)
        c.task_failed.connect(self._on_task_failed)
        self._progress: BatchUpdate | None = None  # the latest update not shown yet
        self._progress_timer = QTimer(self)
        self._progress_timer.setSingleShot(True)
        self._progress_timer.setInterval(int(1000 / PROGRESS_HZ))
        self._progress_timer.timeout.connect(self._show_pending_progress)

    def ensure_idle(self, what: str) -> bool:
        if self.window.controller.busy:
            self.window.warn(
                "Busy",
                f"Cannot {what} while the model is training or exporting. Stop training first.",
            )
            return False
        return True

    def train(self) -> bool:
        w = self.window
        if w.editor is None or not self.ensure_idle("start training"):
            return False
        w.editor.refresh()
        errors = [d for d in w.editor.diagnostics if d.severity == "error"]
        if errors:
            w.diagnostics_dock.show()
            w.diagnostics_dock.raise_()
            w.warn(
                "Cannot train yet",
                f"The project has {count_text(len(errors), 'problem')}; fix them first "
                f"(see the Problems panel).\n\n{errors[0].text()}",
            )
            return False
        w.training_panel.sketch.set_model(
            None, None, (), "Training... the pad is back when it ends."
        )
        self.train_starting.emit(w.editor.project)
        started = w.controller.start(w.editor.project)
        if started:
            w.training_dock.show()
            w.training_dock.raise_()
            w.training_panel.show_message_tab("Curves")
        return started

    def evaluate(self) -> bool:
        if not self.ensure_idle("evaluate"):
            return False
        if self.window.controller.result is None:
            self.window.warn("No trained model", "Train the model first (F5), then evaluate it.")
            return False
        return self.window.controller.evaluate()

    def show_state(self, state: str) -> None:
        w = self.window
        w.training_panel.set_state(state)
        idle = state == "idle"
        actions = w.actions
        actions["train"].setEnabled(idle)
        actions["pause"].setEnabled(state in ("training", "paused"))
        actions["pause"].setText("&Resume" if state == "paused" else "&Pause")
        actions["stop"].setEnabled(state in ("preparing", "training", "paused"))
        actions["evaluate"].setEnabled(idle)
        for name in ("export_onnx", "export_model", "import_onnx"):
            actions[name].setEnabled(idle)
        if idle:
            w.training_status.setText("")

    def _on_started(self, info: RunInfo) -> None:
        description = (
            f"Training '{info.project_name}': {count_text(info.parameters, 'parameter')}, "
            f"{info.train_samples:,} training / {info.validation_samples:,} validation samples, "
            f"{info.epochs} epochs of {info.steps_per_epoch} batches"
        )
        panel = self.window.training_panel
        panel.begin_run(info.epochs, description)
        for warning in info.warnings:
            panel.log(f"Warning: {warning}")

    def _on_batches(self, update: BatchUpdate) -> None:
        self.window.training_panel.add_batches(update.x, update.values)
        self._progress = update
        if not self._progress_timer.isActive():
            self._show_pending_progress()  # the first update of a quiet spell shows at once

    def _show_pending_progress(self) -> None:
        update, self._progress = self._progress, None
        if update is None:
            return  # nothing new since the last one: the timer rests
        self._progress_timer.start()
        panel = self.window.training_panel
        panel.show_progress(
            update.epoch,
            update.epochs,
            update.samples_done,
            update.samples_total,
            update.samples_per_second,
            update.eta_seconds,
            update.elapsed_seconds,
        )
        self.window.training_status.setText(
            f"Epoch {update.epoch + 1}/{update.epochs} · {update.fraction:.0%} · "
            f"{format_duration(update.eta_seconds)} left"
        )

    def _flush_progress(self) -> None:
        self._progress_timer.stop()
        if self._progress is not None:
            self._show_pending_progress()
            self._progress_timer.stop()

    def _on_run_ended(self, result: TrainingResult, how: str) -> None:
        self._flush_progress()
        history = result.history
        parts = [f"{k} {v[-1]:.4g}" for k, v in history.items() if v and k != "learning_rate"]
        verb = "Finished" if how == "finished" else "Stopped"
        text = (
            f"{verb} · {result.epochs_completed}/{result.epochs_planned} epochs · "
            f"{format_duration(result.elapsed_seconds)}"
        )
        panel = self.window.training_panel
        panel.end_run(text)
        if parts:
            panel.log("Final: " + ", ".join(parts))
        self.window.statusBar().showMessage(text, 8000)
        if result.evaluation is not None:
            self.show_evaluation(result.evaluation)
        self._arm_sketchpad(result)

    def _on_failed(self, message: str) -> None:
        self._flush_progress()
        w = self.window
        w.training_panel.end_run("Training failed")
        w.training_panel.log(message)
        if w.controller.result is not None:
            self._arm_sketchpad(w.controller.result)
        w.warn("Training failed", message)

    def _arm_sketchpad(self, result: TrainingResult) -> None:
        sketch = self.window.training_panel.sketch
        if result.task == "classification" and sketch_supports(result.input_shape):
            sketch.set_model(
                self.window.controller.predict_function(),
                result.input_shape,
                result.class_names or (),
            )
        else:
            shape = fmt_shape(result.input_shape)
            sketch.set_model(
                None, None, (), f"Drawing works with image classifiers; this model takes {shape}."
            )

    def show_evaluation(self, evaluation: Evaluation) -> None:
        """Fill the confusion matrix and the sample grid from an evaluation."""
        panel = self.window.training_panel
        n = len(evaluation.x_display)
        if evaluation.task == "classification":
            panel.confusion.set_predictions(
                evaluation.y_true,
                evaluation.y_pred,
                evaluation.class_names,
                evaluation.num_classes,
            )
        else:
            panel.confusion.clear("The confusion matrix is for classifiers; this is regression.")
        panel.samples.set_samples(
            SampleSet(
                x=evaluation.x_display,
                y_true=evaluation.y_true[:n],
                y_pred=evaluation.y_pred[:n],
                task=evaluation.task,
                class_names=evaluation.class_names,
                confidence=None if evaluation.confidence is None else evaluation.confidence[:n],
                texts=evaluation.texts,
                feature_names=evaluation.feature_names,
            )
        )
        logs = ", ".join(f"{k} {v:.4g}" for k, v in evaluation.logs.items())
        accuracy = evaluation.accuracy
        summary = f"{evaluation.split} split: {evaluation.total_samples:,} samples"
        if accuracy is not None:
            summary += f", accuracy {accuracy:.1%}"
        panel.log(f"Evaluation on the {summary}" + (f" ({logs})" if logs else ""))

    def _on_task_finished(self, name: str, value: Any) -> None:
        w = self.window
        if name == "evaluate":
            self.show_evaluation(value)
            w.training_panel.show_message_tab("Confusion")
        elif name == "export_onnx":
            report, note = value
            text = report.summary()
            w.training_panel.log(f"ONNX export ({note} model): {text}")
            w.statusBar().showMessage(f"Exported {report.path}", 6000)
            w.inform("ONNX export verified", f"Exported the {note} model.\n\n{text}")
            w.onnxExported.emit(report)

    def _on_task_failed(self, name: str, message: str) -> None:
        title = {"export_onnx": "ONNX export failed", "evaluate": "Evaluation failed"}.get(
            name, "Failed"
        )
        self.window.training_panel.log(message)
        self.window.warn(title, message)
