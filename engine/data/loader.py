"""Mini-batches for training: seeded shuffling per epoch, augmentation, background prefetch.

This is the engine's ``tf.train.shuffle_batch``. ``for xb, yb in loader.epoch(k)`` yields the
batches of epoch ``k``. The order of epoch ``k`` comes from a generator seeded with
``(seed, k)`` alone, and batch ``b``'s augmentation from ``(seed, k, b)``, so a run is
reproducible, each epoch is shuffled differently, and the batches do not depend on whether
they were prepared in the background thread or not. With ``prefetch=True`` a worker thread
builds the next batch (indexing, augmentation) while the caller trains on the current one,
through a one-slot queue so at most two batches exist ahead of the consumer.

``x`` and ``y`` may be arrays or lists/tuples of arrays (models with several inputs or
outputs); batches then have the same structure. ``y`` may be ``None`` (prediction).

Nothing is copied per epoch: an epoch is an index permutation, and each batch gathers its
own samples. Raw ``uint8`` inputs (images as downloaded) stay ``uint8`` in memory and each
``x`` batch is converted to ``float32`` (values unchanged, 0-255) as it is built, so training
on CIFAR-10 never holds a float copy of the whole set (4x its size).
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import numpy as np

from engine.data.errors import DataError

__all__ = ["BatchLoader", "Augmenter"]

Arrays = np.ndarray | Sequence[np.ndarray]


class Augmenter(Protocol):
    """Anything with ``random_transform_batch(x, rng)`` (e.g. ``ImageDataGenerator``)."""

    def random_transform_batch(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray: ...


def _as_arrays(value: Any, label: str) -> tuple[np.ndarray, ...] | np.ndarray | None:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        if not value:
            raise DataError(f"{label} is an empty list; give at least one array")
        return tuple(np.asarray(v) for v in value)
    return np.asarray(value)


def _leaves(value: Any) -> tuple[np.ndarray, ...]:
    if value is None:
        return ()
    return value if isinstance(value, tuple) else (value,)


def _take(value: Any, idx: np.ndarray) -> Any:
    if value is None:
        return None
    if isinstance(value, tuple):
        return [v[idx] for v in value]
    return value[idx]


def _as_float(batch: np.ndarray) -> np.ndarray:
    return batch.astype(np.float32) if batch.dtype == np.uint8 else batch


def _float_inputs(value: Any) -> Any:
    """A batch of ``x`` with its raw uint8 arrays as float32 (the model's input dtype)."""
    if isinstance(value, list):
        return [_as_float(v) for v in value]
    return _as_float(value)


class BatchLoader:
    """Iterate ``(x_batch, y_batch)`` over ``x`` and ``y`` one epoch at a time.

    Args:
        x, y: arrays (or lists of arrays) with the same first dimension; ``y`` may be None.
        batch_size: samples per batch (the last batch may be smaller unless ``drop_last``).
        shuffle: shuffle each epoch (seeded); otherwise keep the given order.
        seed: the run's seed; ``None`` draws one, fixed for this loader's lifetime.
        drop_last: leave out a final partial batch.
        augment: an :class:`Augmenter` (or a callable ``f(x_batch, rng)``) applied to each
            ``x`` batch; give it for the training split only.
        prefetch: prepare the next batch in a background thread.
    """

    def __init__(
        self,
        x: Arrays,
        y: Arrays | None,
        batch_size: int,
        shuffle: bool = True,
        seed: int | None = 0,
        drop_last: bool = False,
        augment: Augmenter | Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None,
        prefetch: bool = True,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer):
            raise DataError(f"batch_size must be an integer, got {batch_size!r}")
        if batch_size < 1:
            raise DataError(f"batch_size must be at least 1, got {batch_size}")
        self.x = _as_arrays(x, "x")
        self.y = _as_arrays(y, "y")
        if self.x is None:
            raise DataError("x must be given")
        lengths = {len(a) for a in _leaves(self.x) + _leaves(self.y)}
        if len(lengths) != 1:
            shapes = ", ".join(str(a.shape) for a in _leaves(self.x) + _leaves(self.y))
            raise DataError(f"x and y must have the same number of samples; got shapes {shapes}")
        if augment is not None and isinstance(self.x, tuple):
            raise DataError("augmentation needs a single image input; x is a list of arrays")
        self.num_samples = lengths.pop()
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.seed = int(np.random.SeedSequence().entropy % 2**32) if seed is None else int(seed)
        self.drop_last = drop_last
        self.augment = augment
        self.prefetch = prefetch
        self._next_epoch = 0

    def __len__(self) -> int:
        """Number of batches per epoch."""
        if self.drop_last:
            return self.num_samples // self.batch_size
        return math.ceil(self.num_samples / self.batch_size)

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        """Each ``iter()`` runs the next epoch (0, 1, 2, ...), so a plain ``for`` loop works."""
        k = self._next_epoch
        self._next_epoch += 1
        return self.epoch(k)

    def order(self, epoch_index: int) -> np.ndarray:
        """The sample indices of epoch ``epoch_index``, in the order they are served."""
        if not self.shuffle:
            return np.arange(self.num_samples)
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(epoch_index,)))
        return rng.permutation(self.num_samples)

    def epoch(self, epoch_index: int) -> Iterator[tuple[Any, Any]]:
        """Yield the ``(x_batch, y_batch)`` of epoch ``epoch_index``."""
        if epoch_index < 0:
            raise DataError(f"epoch index must be >= 0, got {epoch_index}")
        batches = self._batches(epoch_index)
        return _prefetched(batches) if self.prefetch else batches

    def _batches(self, epoch_index: int) -> Iterator[tuple[Any, Any]]:
        order = self.order(epoch_index)
        for b in range(len(self)):
            idx = order[b * self.batch_size : (b + 1) * self.batch_size]
            xb = _float_inputs(_take(self.x, idx))
            if self.augment is not None:
                rng = np.random.default_rng(
                    np.random.SeedSequence(self.seed, spawn_key=(epoch_index, b))
                )
                transform = getattr(self.augment, "random_transform_batch", self.augment)
                xb = transform(xb, rng)
            yield xb, _take(self.y, idx)


_DONE = object()


def _prefetched(source: Iterator[Any]) -> Iterator[Any]:
    """Run ``source`` in a worker thread, one item ahead, re-raising its errors here."""
    slot: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item: tuple[str, Any]) -> bool:
        # Time out now and then so a consumer that stopped early cannot block us forever.
        while not stop.is_set():
            try:
                slot.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in source:
                if not put(("item", item)):
                    return
            put(("done", _DONE))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(("error", exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=work, name="BatchLoader-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            kind, payload = slot.get()
            if kind == "item":
                yield payload
            elif kind == "done":
                return
            else:
                raise payload
    finally:
        stop.set()
        while True:  # free the slot so a worker blocked in put() notices the stop
            try:
                slot.get_nowait()
            except queue.Empty:
                break
        worker.join()
