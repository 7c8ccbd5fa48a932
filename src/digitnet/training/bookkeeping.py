"""What the training loop remembers: the history, the best weights, patience.

The loop (trainer.py) only reports each measurement; this keeps the books:

- one history row per measurement (epoch, losses, accuracies, seconds);
- the weights of the best dev accuracy so far (with no dev set, the latest),
  copied with batch norm's running averages (Network.arrays);
- early stopping: after `patience` measurements without a better score, stop;
- at the end, the best weights are put back if training was interrupted, ran
  out of patience, or the recipe asks for them (restore_best).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from digitnet.network import Network

HISTORY_KEYS = ("epoch", "train_loss", "train_accuracy", "dev_loss", "dev_accuracy", "seconds")


@dataclass
class TrainingResult:
    """What happened: one history row per measurement, and whether Ctrl-C stopped it."""

    history: dict[str, list] = field(default_factory=lambda: {key: [] for key in HISTORY_KEYS})
    interrupted: bool = False  # stopped by Ctrl-C or SIGTERM
    stop_signal: int | None = None  # which one
    stopped_early: bool = False  # early stopping: patience ran out
    best_epoch: int | None = None
    seconds: float = 0.0


class Bookkeeper:
    """Keeps the books of one training run of `network` (see the module docstring)."""

    def __init__(
        self,
        network: Network,
        patience: int | None = None,
        restore_best: bool = False,
        describe: Callable[[tuple], str] | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.network, self.patience, self.restore_best = network, patience, restore_best
        self.describe, self.log = describe, log
        self.result = TrainingResult()
        self.started = time.perf_counter()
        self.best_score, self.stale = -np.inf, 0
        self.best_weights: dict[str, np.ndarray] | None = None

    def measured(
        self, epoch: int, train_loss: float, train_accuracy: float, dev_loss: float,
        dev_accuracy: float,
    ) -> bool:  # fmt: skip
        """Record one measurement; True when patience has run out (time to stop)."""
        row = (epoch, train_loss, train_accuracy, dev_loss, dev_accuracy,
               time.perf_counter() - self.started)  # fmt: skip
        for key, value in zip(HISTORY_KEYS, row):
            self.result.history[key].append(value)
        score = epoch if np.isnan(dev_accuracy) else dev_accuracy  # no dev set: latest is best
        if score > self.best_score:
            self.best_score, self.result.best_epoch, self.stale = score, epoch, 0
            self.best_weights = {name: a.copy() for name, a in self.network.arrays().items()}
        else:
            self.stale += 1
        if self.log is not None and self.describe is not None:
            self.log(self.describe(row))
        self.result.stopped_early = self.patience is not None and self.stale >= self.patience
        return self.result.stopped_early

    def interrupted(self, signal_number: int | None = None) -> None:
        """Training was stopped by Ctrl-C (or SIGTERM): the best weights will be kept."""
        self.result.interrupted, self.result.stop_signal = True, signal_number

    def finish(self) -> TrainingResult:
        """Put the best weights back where they are due; the result, timed."""
        result = self.result
        restore = result.interrupted or result.stopped_early or self.restore_best
        if restore and self.best_weights is not None:  # parameters and batch-norm statistics
            self.network.set_arrays(self.best_weights)
        result.seconds = time.perf_counter() - self.started
        return result
