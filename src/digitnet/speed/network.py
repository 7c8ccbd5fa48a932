"""The fast network: the textbook Network with the fast layers in place of the plain ones.

It runs what Network runs (forward, backward, gradient), layer by layer, and
only two things differ, both speed: a first Dense layer may read InkedColumns
(blank_pixels.py), and a full-batch gradient over many rows is computed chunk
by chunk (full_batch.py).
"""

from __future__ import annotations

import numpy as np

from digitnet.network import Network
from digitnet.network.batchnorm import BatchNorm
from digitnet.speed.blank_pixels import BlankSkippingDense, InkedColumns
from digitnet.speed.full_batch import CHUNK_ROWS, FullBatch


class AcceleratedNetwork(Network):
    full_batch: FullBatch | None = None
    _full_batch_of: tuple[np.ndarray, np.ndarray] | None = None  # the rows it was made from

    def forward(self, x: np.ndarray | InkedColumns, training: bool = False) -> np.ndarray:
        """The logits for a batch; x may be InkedColumns: the batch without its blank columns."""
        layers, first = self.layers, self.layers[0]
        if isinstance(x, InkedColumns):
            if isinstance(first, BlankSkippingDense):
                layers, x = layers[1:], first.forward(x, training)
            else:
                x = x.dense()
        for layer in layers:
            x = layer.forward(x, training)
        return x

    def gradient(self, x: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Network.gradient; many rows at once (a full batch) go through in chunks
        unless batch norm needs them all together."""
        if len(x) <= CHUNK_ROWS or any(isinstance(layer, BatchNorm) for layer in self.layers):
            return super().gradient(x, labels)
        made_from = self._full_batch_of
        if self.full_batch is None or made_from is None or made_from[0] is not x \
                or made_from[1] is not labels:  # fmt: skip
            inked = isinstance(self.layers[0], BlankSkippingDense)
            self.full_batch = FullBatch(x, labels, inked_columns=inked)
            self._full_batch_of = (x, labels)
        return self.full_batch.accumulate_gradient(self)
