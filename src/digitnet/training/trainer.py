"""The training loop: forward, loss gradient, backward, optimizer step, repeat.

    for each epoch:
        shuffle the training rows into mini-batches
        for each batch:
            logits = network.forward(x)                 # forward pass
            dlogits = loss.delta(logits, y)             # top of the backward pass
            network.backward(dlogits)                   # gradients of every parameter
            optimizer.step()                            # move the parameters
            average.update()                            # if asked: the weights' moving average
        every `log_every` epochs: measure on the dev set, remember the best weights
        (the average's, if there is one: averaging.py)

Full-batch gradient descent (batch_size=None, the notebook's) is the same with
one batch of all rows.

Before the loop the network is made fast (digitnet.speed.accelerate: the same
numbers, faster, on every thread `using_threads` allows), unless the config
asks for the textbook layers; the loop itself is the same either way.

If the network's outputs stop being finite numbers (a learning rate too high
makes each step overshoot, and the weights grow until they overflow), training
stops at that step with `TrainingDiverged`: the NaN weights are never saved, and
the floating-point warnings of the overflow are not shown, as the error says it.

Ctrl-C stops training cleanly after the current step (stop.py): the network is
left holding the best weights seen so far (by dev accuracy) and the result says
it was interrupted.  A `watch` callback (digitnet serve's training view) is told
where training is after every step and every measurement; it may pause training
by not returning yet, and stop it as Ctrl-C does by returning True.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from digitnet.errors import TrainingDiverged
from digitnet.metrics import accuracy
from digitnet.network import Network
from digitnet.speed import accelerate, accelerate_optimizer
from digitnet.training.augment import Augmentation
from digitnet.training.averaging import WeightAverage
from digitnet.training.batches import Prefetcher, epoch_batches
from digitnet.training.bookkeeping import Bookkeeper, TrainingResult
from digitnet.training.optimizer import Optimizer, make_optimizer
from digitnet.training.schedule import Schedule
from digitnet.training.stop import StopRequest, stop_on_ctrl_c


@dataclass(frozen=True)
class TrainingConfig:
    """How to train.  batch_size=None means full-batch gradient descent (the notebook)."""

    learning_rate: float
    epochs: int
    batch_size: int | None = None
    optimizer: str = "sgd"  # see optimizer.py: gd/sgd, nesterov, adam, adamw
    momentum: float = 0.0
    weight_decay: float = 0.0
    schedule: Schedule = Schedule()
    augmentation: Augmentation | None = None
    log_every: int = 1  # epochs between measurements (and printed lines)
    restore_best: bool = False  # end with the best dev weights rather than the last
    patience: int | None = None  # stop after this many measurements without a better dev score
    seed: int = 0  # the order of mini-batches, and the augmentation
    textbook: bool = False  # train the textbook layers as they are, without the speed step
    label_smoothing: float = 0.0  # the target's share spread over the classes (loss.py)
    ema: float = 0.0  # decay of the weights' moving average (averaging.py); 0: off


@dataclass(frozen=True)
class Progress:
    """Where training is, for a `watch` callback: after every step and every measurement.

    The callback runs on the training thread between steps, the one time the
    network's arrays are not being written: copy what it needs from them then."""

    network: Network  # the network being trained (its textbook layers)
    epoch: int
    batch: int  # steps done in this epoch
    batches: int  # steps per epoch
    learning_rate: float  # of the last step
    history: dict[str, list]  # the measurements so far (bookkeeping.HISTORY_KEYS)


Watch = Callable[[Progress], bool]  # True: stop, as Ctrl-C does (the best weights kept)


def train(
    network: Network,
    train_x: np.ndarray,
    train_y: np.ndarray,
    dev_x: np.ndarray,
    dev_y: np.ndarray,
    config: TrainingConfig,
    *,
    log: Callable[[str], None] | None = print,
    progress: bool | None = None,
    watch: Watch | None = None,
) -> TrainingResult:
    """Train `network` in place on (train_x, train_y); measure on (dev_x, dev_y).

    Inputs are already preprocessed (float rows); labels are ints 0..9.  The dev
    set may be empty, in which case the last weights count as the best.
    `progress=None` shows a progress bar only on a terminal.
    """
    watched = network  # the textbook layers, which the fast ones share their arrays with
    network = copy.copy(network)  # the same layers (arrays), with the training loss on top
    network.label_smoothing = config.label_smoothing
    if not config.textbook:  # the same arrays, fast layers: `network` learns what this learns
        network = accelerate(network)
    optimizer: Optimizer = make_optimizer(config.optimizer, network.parameters(),
                                          config.learning_rate, config.momentum,
                                          config.weight_decay)  # fmt: skip
    if not config.textbook:  # the same rule, its step shared among the threads
        optimizer = accelerate_optimizer(optimizer)
    average = WeightAverage(network, config.ema) if config.ema else None
    rng = np.random.default_rng(config.seed)
    full_batch = config.batch_size is None  # the notebook's gradient descent: all rows at once
    per_epoch = 1 if full_batch else -(-len(train_x) // config.batch_size)
    steps = config.epochs * per_epoch
    bar = tqdm(total=steps, disable=None if progress is None else not progress, unit="batch",
               leave=False)  # fmt: skip

    def say(line: str) -> None:  # a line above the progress bar, not through it
        bar.clear()
        if log is not None:
            log(line)

    describe = functools.partial(_describe, config=config, has_dev=len(dev_y) > 0)
    books = Bookkeeper(network, config.patience, config.restore_best, describe, say)

    def tell(epoch: int, batch: int, batches: int) -> None:  # the watcher's turn, between steps
        if watch is not None and watch(
            Progress(watched, epoch, batch, batches, optimizer.learning_rate, books.result.history)
        ):
            stop.requested = True  # fmt: skip

    # A diverging network overflows on its way to NaN: `_finite` says so in one
    # error, instead of numpy warning at every layer it passes (errstate reaches the
    # worker threads too: speed/workers.py runs each piece under the caller's).
    with stop_on_ctrl_c() as stop, bar, np.errstate(over="ignore", invalid="ignore"):
        try:
            for epoch in range(1, config.epochs + 1):
                measuring = epoch % config.log_every == 0 or epoch == config.epochs
                if full_batch:
                    loss_sum, correct = _full_batch_step(network, optimizer, average, train_x,
                                                         train_y, epoch, measuring, config,
                                                         bar)  # fmt: skip
                    tell(epoch, 1, 1)  # a step is the whole epoch
                else:
                    loss_sum, correct = _minibatch_epoch(network, optimizer, average, train_x,
                                                         train_y, epoch, measuring, config, rng,
                                                         stop, bar, tell)  # fmt: skip
                if stop.requested:  # a part-epoch is not measured
                    books.interrupted(stop.signal_number)
                    break
                if measuring:
                    # The averaged weights are what is measured (and kept, if best).
                    with average.swapped_in(train_x) if average else nullcontext():
                        dev_loss, dev_accuracy = evaluate(network, dev_x, dev_y)
                        count = len(train_x)
                        ran_out = books.measured(epoch, loss_sum / count, correct / count,
                                                 dev_loss, dev_accuracy)  # fmt: skip
                    if ran_out:
                        break  # patience ran out
                    tell(epoch, per_epoch, per_epoch)  # with the new history row
        except KeyboardInterrupt:  # a second Ctrl-C: stop at once
            books.interrupted()
    if average is not None:  # training ends on the average (or the best, where that is due)
        average.put_in(train_x)
    return books.finish()


def _full_batch_step(
    network: Network,
    optimizer: Optimizer,
    average: WeightAverage | None,
    train_x: np.ndarray,
    train_y: np.ndarray,
    epoch: int,
    measuring: bool,
    config: TrainingConfig,
    bar: tqdm,
) -> tuple[float, int]:
    """One step of gradient descent on the whole training set (an epoch of one batch)."""
    optimizer.learning_rate = config.learning_rate * config.schedule.factor(epoch - 1)
    logits = _finite(network.gradient(train_x, train_y), epoch, 1, 1, optimizer)
    optimizer.step()
    if average is not None:
        average.update()
    bar.update()
    return _score(network, logits, train_y) if measuring else (0.0, 0)


def _minibatch_epoch(
    network: Network,
    optimizer: Optimizer,
    average: WeightAverage | None,
    train_x: np.ndarray,
    train_y: np.ndarray,
    epoch: int,
    measuring: bool,
    config: TrainingConfig,
    rng: np.random.Generator,
    stop: StopRequest,
    bar: tqdm,
    tell: Callable[[int, int, int], None],
) -> tuple[float, int]:
    """One pass over the shuffled training rows in mini-batches (augmented if asked).

    Returns the summed loss and the count of correct predictions if `measuring`.
    """
    loss_sum, correct = 0.0, 0
    batches_per_epoch = -(-len(train_x) // config.batch_size)
    order = rng.permutation(len(train_x))
    batches = epoch_batches(train_x, train_y, order, config.batch_size, config.augmentation, rng)
    feeder = Prefetcher(batches) if config.augmentation else nullcontext(batches)
    with feeder as feed:
        for step, (x, y) in enumerate(feed):
            if stop.requested:
                break
            # The schedule sees fractional epochs, so the rate changes batch by batch.
            factor = config.schedule.factor(epoch - 1 + step / batches_per_epoch)
            optimizer.learning_rate = config.learning_rate * factor
            logits = network.gradient(x, y)  # forward, loss gradient, backward
            _finite(logits, epoch, step + 1, batches_per_epoch, optimizer)
            optimizer.step()
            if average is not None:
                average.update()
            if measuring:  # from the logits this step computed anyway
                batch_loss, batch_correct = _score(network, logits, y)
                loss_sum, correct = loss_sum + batch_loss, correct + batch_correct
            bar.update()
            tell(epoch, step + 1, batches_per_epoch)
    return loss_sum, correct


def _finite(
    logits: np.ndarray, epoch: int, step: int, steps: int, optimizer: Optimizer
) -> np.ndarray:
    """The logits, if they are all finite numbers; else training has diverged.

    Checked before the step that would move the weights further: one pass over
    a batch's (m, 10) outputs, nothing next to the step itself."""
    if not np.isfinite(logits).all():
        what = "NaN (not a number)" if np.isnan(logits).any() else "infinite"
        raise TrainingDiverged(
            f"training diverged: the network's outputs became {what} in epoch {epoch} "
            f"(step {step} of {steps}); a lower learning rate (this step's was "
            f"{optimizer.learning_rate:g}), or batch norm after the layers, keeps it finite"
        )
    return logits


def _score(network: Network, logits: np.ndarray, labels: np.ndarray) -> tuple[float, int]:
    """The summed loss of a batch and its count of correct predictions."""
    loss_sum = network.loss.fn(logits, labels, network.label_smoothing) * len(labels)
    return loss_sum, int(np.count_nonzero(logits.argmax(axis=1) == labels))


def _describe(row: tuple, config: TrainingConfig, has_dev: bool) -> str:
    epoch, train_loss, train_accuracy, dev_loss, dev_accuracy, seconds = row
    unit = "iteration" if config.batch_size is None else "epoch"
    line = (
        f"{unit} {epoch:>4}/{config.epochs}  train loss {train_loss:.4f} acc {train_accuracy:.4f}"
    )
    if has_dev:
        line += f"  dev loss {dev_loss:.4f} acc {dev_accuracy:.4f}"
    return line + f"  ({seconds:.1f}s)"


def evaluate(network: Network, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Mean loss and accuracy of `network` on (x, y); (nan, nan) for an empty set."""
    if len(y) == 0:
        return float("nan"), float("nan")
    logits = network.logits(x)
    return network.loss.fn(logits, y, network.label_smoothing), accuracy(logits.argmax(axis=1), y)
