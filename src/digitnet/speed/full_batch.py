"""The full-batch gradient (the notebook's), computed over the training set in chunks.

Part of the speed step (speed/__init__.py); the textbook computes the same
gradient as one forward and one backward pass over all rows (Network.gradient).

The gradient of the mean loss is a sum over the m training examples:

    dL/dW = (1/m) sum_i  dloss_i/dW

so it can be computed one chunk of rows at a time and added up, giving the same
gradient as one big pass over all rows, with two savings:

1. Each chunk is small enough to stay in the CPU cache between the forward
   pass and the backward one, so the 41,000 x 784 matrix is streamed from
   memory once per iteration instead of twice, and nothing of size m x width
   is ever allocated.
2. A pixel that is blank in every image of a chunk adds nothing to an MLP's
   first product x W1 and gets a zero gradient (blank_pixels.py).  The
   rows are grouped by label before they are cut into chunks, since a chunk of
   one digit has more blank pixels than a mixed one (a "1" inks a narrow
   band), and each chunk is stored once without its blank columns
   (InkedColumns): on MNIST, about two thirds of the multiply-adds remain.

Every chunk goes through the network's own forward and backward passes.
The data set does not change, so the chunks are built once.

The sum is the one big gradient only when each example's loss depends on that
example alone.  Batch norm breaks that (each chunk would be normalised with its
own statistics, and label-sorted chunks are one digit each), so a network with
batch norm is never chunked: it takes the textbook's one pass (AcceleratedNetwork).
"""

from __future__ import annotations

import numpy as np

from digitnet.network import Network
from digitnet.speed.blank_pixels import InkedColumns

CHUNK_ROWS = 1024  # 1024 rows x 784 pixels x 4 bytes = 3 MB: stays in cache


class FullBatch:
    """The training set cut into label-sorted chunks, prepared once for the
    gradient of every iteration."""

    def __init__(
        self,
        x: np.ndarray,
        labels: np.ndarray,
        chunk_rows: int = CHUNK_ROWS,
        inked_columns: bool = False,
    ) -> None:
        """`inked_columns`: store each chunk without its blank columns, for a
        network whose first layer takes them so (BlankSkippingDense)."""
        self.count = len(labels)
        by_label = np.argsort(labels, kind="stable")
        self.chunks: list[tuple[np.ndarray | InkedColumns, np.ndarray]] = []
        self.rows: list[np.ndarray] = []  # where each chunk's rows were in x
        for start in range(0, self.count, chunk_rows):
            rows = by_label[start : start + chunk_rows]
            self.rows.append(rows)
            chunk = np.ascontiguousarray(x[rows])
            self.chunks.append((InkedColumns.of(chunk) if inked_columns else chunk, labels[rows]))
        self.sums: list[np.ndarray] = []  # gradient sums, allocated on first use

    def accumulate_gradient(self, network: Network) -> np.ndarray:
        """Write dL/dparameter over the whole set into the network's gradients;
        return the logits of every row, in the order the rows were given."""
        parameters = network.parameters()
        if len(self.sums) != len(parameters):
            self.sums = [np.zeros_like(grad) for _, grad in parameters]
        logits = np.empty((self.count, network.classes), dtype=network.dtype)
        for index, ((x, labels), rows) in enumerate(zip(self.chunks, self.rows)):
            chunk_logits = network.forward(x, training=True)
            # delta() averages over the chunk; rescale so the sum is a mean over all m.
            network.backward(network.loss.delta(chunk_logits, labels) * (len(x) / self.count))
            for total, (_, grad) in zip(self.sums, parameters):
                if index == 0:
                    total[...] = grad
                else:
                    total += grad
            logits[rows] = chunk_logits
        for total, (_, grad) in zip(self.sums, parameters):
            grad[...] = total
        return logits
