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

The threads share the chunks.  The chunks are cut into a fixed number of
groups (by the chunk count alone); a thread takes a group, runs its chunks
through its own replica of the network (the same weights, its own gradient
buffers and the inputs it keeps for backward) and sums their gradients; the
groups' sums are then added in the groups' order.  The order of every sum is
the same whichever thread did what, so one thread and sixteen give the same
gradient bit for bit.  A network with layers that keep other state (dropout's
random stream, a pooling layer's buffers) takes its groups one after another,
in the same order, on the one network.

The sum is the one big gradient only when each example's loss depends on that
example alone.  Batch norm breaks that (each chunk would be normalised with its
own statistics, and label-sorted chunks are one digit each), so a network with
batch norm is never chunked: it takes the textbook's one pass (AcceleratedNetwork).
"""

from __future__ import annotations

import copy
import queue

import numpy as np

from digitnet.network import Network
from digitnet.network.layers import Dense, Flatten, ReLU, ToImages
from digitnet.speed.blank_pixels import InkedColumns
from digitnet.speed.workers import WORKERS, split

CHUNK_ROWS = 1024  # 1024 rows x 784 pixels x 4 bytes = 3 MB: stays in cache
GROUPS = 8  # the chunks' gradients are summed in this many groups, then the groups'
# Layers whose passes only keep what they reassign (their inputs, ReLU's mask), so a
# shallow copy with its own gradient arrays computes a chunk independently.
REPLICABLE = (Dense, ReLU, Flatten, ToImages)


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
        self.groups = split(len(self.chunks), GROUPS)  # fixed by the count, not the threads
        self.sums: list[list[np.ndarray]] = []  # a gradient sum per group, allocated once
        self.replicas: queue.SimpleQueue[Network] = queue.SimpleQueue()  # idle replicas

    def accumulate_gradient(self, network: Network) -> np.ndarray:
        """Write dL/dparameter over the whole set into the network's gradients;
        return the logits of every row, in the order the rows were given."""
        parameters = network.parameters()
        if len(self.sums) != len(self.groups) or len(self.sums[0]) != len(parameters):
            self.sums = [[np.zeros_like(grad) for _, grad in parameters] for _ in self.groups]
        logits = np.empty((self.count, network.classes), dtype=network.dtype)
        shared = all(isinstance(layer, REPLICABLE) for layer in network.layers)

        def group(index: int) -> None:  # its chunks, summed into sums[index]
            replica = self._replica(network) if shared else network
            try:
                for chunk in range(len(self.chunks))[self.groups[index]]:
                    (x, labels), rows = self.chunks[chunk], self.rows[chunk]
                    chunk_logits = replica.forward(x, training=True)
                    # delta() averages over the chunk; rescale so the sum is a mean over all m.
                    delta = replica.loss.delta(chunk_logits, labels, replica.label_smoothing)
                    replica.backward(delta * (len(x) / self.count))
                    first = chunk == self.groups[index].start
                    for total, (_, grad) in zip(self.sums[index], replica.parameters()):
                        if first:
                            total[...] = grad
                        else:
                            total += grad
                    logits[rows] = chunk_logits
            finally:
                if shared:
                    self.replicas.put(replica)

        if shared:
            WORKERS.map(group, range(len(self.groups)))
        else:
            for index in range(len(self.groups)):
                group(index)
        for position, (_, grad) in enumerate(parameters):
            grad[...] = self.sums[0][position]
            for sums in self.sums[1:]:  # in the groups' order: the same sum at any thread count
                grad += sums[position]
        return logits

    def _replica(self, network: Network) -> Network:
        """An idle replica of `network`: its layers' shallow copies (the same weights)
        with gradient arrays of their own; made when none is idle, kept for reuse."""
        try:
            return self.replicas.get_nowait()
        except queue.Empty:
            pass
        replica = copy.copy(network)
        replica.layers = [copy.copy(layer) for layer in network.layers]
        for layer in replica.layers:
            if isinstance(layer, Dense):
                layer.weight_grad = np.zeros_like(layer.weight_grad)
                layer.bias_grad = np.zeros_like(layer.bias_grad)
        return replica
