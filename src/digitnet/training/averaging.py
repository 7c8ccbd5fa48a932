"""Weight averaging: measure and keep a running average of the weights, not the last ones.

Near the end of training SGD's weights do not settle on a minimum: every
mini-batch kicks them a little, so the last weights are one point of a cloud
around it.  The cloud's centre usually generalises better than any one point
(Polyak & Juditsky, 1992; Izmailov et al., 2018), and an exponential moving
average follows it at the cost of one more copy of the parameters:

    w_avg <- d w_avg + (1 - d) w              after every optimizer step

It averages about the last 1 / (1 - d) steps (d = 0.999: a thousand steps,
two and a half epochs of 50,000 images in batches of 128).  Early on, when the
average would still remember the random initial weights, a smaller decay is
used: d_t = min(d, (1 + t) / (10 + t)) at step t.

Batch norm.  Its running mean and variance were gathered while the training
weights changed under them, so they do not fit the averaged weights: the
layer's inputs under the average have statistics of their own.  They are
recomputed whenever the average is put in: one pass over training images in
which each batch norm layer averages the batch statistics it sees (each
batch's weight 1/k, k the batches so far: their plain mean).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from digitnet.network import Network
from digitnet.network.batchnorm import BatchNorm

STATISTICS_ROWS = 5000  # training images that batch norm's statistics are recomputed on
STATISTICS_BATCH = 500


class WeightAverage:
    """An exponential moving average of `network`'s parameters (see the module docstring)."""

    def __init__(self, network: Network, decay: float) -> None:
        if not 0 < decay < 1:
            raise ValueError(f"weight average decay {decay}: must be between 0 and 1")
        self.network, self.decay, self.steps = network, decay, 0
        self.parameters = [param for param, _ in network.parameters()]
        self.averages = [param.copy() for param in self.parameters]
        self.scratch = [np.empty_like(param) for param in self.parameters]  # allocated once

    def update(self) -> None:
        """Fold the current parameters into the average (after an optimizer step)."""
        self.steps += 1
        decay = min(self.decay, (1 + self.steps) / (10 + self.steps))
        for average, param, scratch in zip(self.averages, self.parameters, self.scratch):
            # w_avg <- d w_avg + (1 - d) w  =  w_avg - (1 - d) (w_avg - w)
            np.subtract(average, param, out=scratch)
            scratch *= 1 - decay
            average -= scratch

    def put_in(self, images: np.ndarray) -> None:
        """Make the network hold the average, with batch norm's statistics recomputed on
        `images` (training rows)."""
        for average, param in zip(self.averages, self.parameters):
            param[...] = average
        recompute_batch_norm(self.network, images[:STATISTICS_ROWS])

    @contextmanager
    def swapped_in(self, images: np.ndarray) -> Iterator[None]:
        """The average in the network for the duration (a measurement), then the
        training weights and statistics back, exactly as they were."""
        kept = {name: array.copy() for name, array in self.network.arrays().items()}
        self.put_in(images)
        try:
            yield
        finally:
            self.network.set_arrays(kept)


def recompute_batch_norm(network: Network, images: np.ndarray) -> None:
    """Set every batch norm layer's running mean and variance to the mean of the
    batch statistics it sees over `images`, the network's weights held fixed.

    Only batch norm runs in its training mode (on batch statistics); dropout stays
    off, so its random masks, and the training run's, are not drawn from.
    """
    norms = [layer for layer in network.layers if isinstance(layer, BatchNorm)]
    if not norms or len(images) == 0:
        return
    momenta = [norm.momentum for norm in norms]
    try:
        for count, start in enumerate(range(0, len(images), STATISTICS_BATCH), start=1):
            x = images[start : start + STATISTICS_BATCH]
            for norm in norms:
                # running <- (1 - 1/k) running + (1/k) batch: the mean of the k batches
                norm.momentum = 1 / count
            for layer in network.layers:
                x = layer.forward(x, training=isinstance(layer, BatchNorm))
    finally:
        for norm, momentum in zip(norms, momenta):
            norm.momentum = momentum
