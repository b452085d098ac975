"""A ``fit`` callback whose end of training runs beside the validation evaluation.

The run recorder (``engine.runs.record.RunRecorder``) ends training by snapshotting the last
weights and waiting until every run file is on disk (each an fsync, ~10 ms on the machine
the app benchmark runs on: about 5 % of a one-epoch digits run). Nothing that follows in the
training job needs those files: the job evaluates the model on the validation split next,
which only reads the weights. :class:`EndBeside` runs the wrapped callback's
``on_train_end`` on a short-lived thread, so the disk waits overlap the evaluation, and the
job calls :meth:`EndBeside.join` before it reports the outcome: when ``finished`` arrives,
every file of the run is written, as before.

Every other hook is the wrapped callback's own bound method (no extra call per batch).
"""

from __future__ import annotations

import threading

from engine.callbacks.base import Callback

__all__ = ["EndBeside", "join_all"]

_HOOKS = (
    "on_train_begin",
    "on_epoch_begin",
    "on_epoch_end",
    "on_batch_begin",
    "on_batch_end",
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_test_begin",
    "on_test_end",
    "on_test_batch_begin",
    "on_test_batch_end",
    "on_predict_begin",
    "on_predict_end",
    "on_predict_batch_begin",
    "on_predict_batch_end",
)


class EndBeside(Callback):
    """Wraps ``inner``; its ``on_train_end`` runs on its own thread (see the module doc).

    ``inner.on_train_end`` must only read the model (the recorder snapshots its weights):
    the training thread goes on to predict with it meanwhile, which reads them too.
    """

    def __init__(self, inner: Callback):
        super().__init__()
        self.inner = inner
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        for hook in _HOOKS:
            if getattr(type(inner), hook, None) is not getattr(Callback, hook, None):
                setattr(self, hook, getattr(inner, hook))

    def set_model(self, model) -> None:
        super().set_model(model)
        self.inner.set_model(model)

    def set_params(self, params) -> None:
        super().set_params(params)
        self.inner.set_params(params)

    def on_train_end(self, logs=None) -> None:
        self.join()  # a second fit on the same callback: the first end comes first

        def end() -> None:
            try:
                self.inner.on_train_end(logs)
            except BaseException as err:  # noqa: BLE001 - raised again by join()
                self._error = err

        self._thread = threading.Thread(target=end, name="LayerCanvasTrainEnd", daemon=True)
        self._thread.start()

    def join(self) -> None:
        """Wait for the wrapped ``on_train_end``; raise what it raised."""
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
        error, self._error = self._error, None
        if error is not None:
            raise error


def join_all(callbacks) -> None:
    """:meth:`EndBeside.join` every wrapped callback among ``callbacks``."""
    for callback in callbacks:
        if isinstance(callback, EndBeside):
            callback.join()
