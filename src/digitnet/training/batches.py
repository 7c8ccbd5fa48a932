"""Mini-batches for one epoch, optionally augmented, optionally prepared ahead.

Augmenting a batch costs a few milliseconds of numpy work; training on it is
mostly matrix products, during which numpy releases Python's lock.  So a
helper thread prepares the next batches while the current one trains, and on
a machine with a spare core augmentation costs little extra time.  The batches
come out in the same order with the same random distortions whatever the
timing, so training stays reproducible with its seed.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

import numpy as np

from digitnet.training.augment import Augmentation

PREFETCH = 3  # batches prepared ahead


def epoch_batches(
    x: np.ndarray,
    y: np.ndarray,
    order: np.ndarray,
    batch_size: int,
    augmentation: Augmentation | None,
    rng: np.random.Generator,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(inputs, labels) for each batch of rows `order`, distorted if `augmentation`."""
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        inputs = x[rows]
        if augmentation is not None:
            inputs = augmentation.apply(inputs, rng)
        yield inputs, y[rows]


class Prefetcher:
    """Runs a batch generator in a helper thread, PREFETCH batches ahead.

    Use as a context manager so the thread is stopped even if training stops early.
    """

    _DONE = object()

    def __init__(self, batches: Iterator[tuple[np.ndarray, np.ndarray]]) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=PREFETCH)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._fill, args=(batches,), daemon=True)
        self._thread.start()

    def _fill(self, batches: Iterator[tuple[np.ndarray, np.ndarray]]) -> None:
        try:
            for batch in batches:
                while not self._stop.is_set():
                    try:
                        self._queue.put(batch, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if self._stop.is_set():
                    return
        except BaseException as error:  # surfaced in the training thread
            self._queue.put(error)
            return
        self._queue.put(self._DONE)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        while True:
            item = self._queue.get()
            if item is self._DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def __enter__(self) -> Prefetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
