"""Blank-pixel skipping: a first Dense layer that leaves out the pixels no image inks.

Part of the speed step (speed/__init__.py): it computes what the textbook
Dense computes, and tests hold the two equal, gradients included.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from digitnet.speed.dense import BlockedDense, blocks
from digitnet.speed.workers import WORKERS

BLANK_SKIP_BELOW = 0.9  # skip blank inputs when fewer than 90% of them are inked


@dataclass(frozen=True)
class InkedColumns:
    """A batch of pixel rows, stored without the columns that are 0 in every row.

    values = x[:, columns]; every other column of x is 0.  BlankSkippingDense
    takes it as it is; the full-batch gradient (full_batch.py) prepares its
    chunks this way once, instead of the layer finding and gathering the inked
    columns at every pass.
    """

    values: np.ndarray
    columns: np.ndarray
    width: int  # the number of columns of x

    @classmethod
    def of(cls, x: np.ndarray) -> InkedColumns:
        columns = np.flatnonzero(x.any(axis=0))
        return cls(np.ascontiguousarray(x[:, columns]), columns, x.shape[1])

    def __len__(self) -> int:
        return len(self.values)

    def dense(self) -> np.ndarray:
        """x itself, the blank columns put back as zeros."""
        x = np.zeros((len(self.values), self.width), dtype=self.values.dtype)
        x[:, self.columns] = self.values
        return x


class BlankSkippingDense(BlockedDense):
    """A Dense layer over pixels that leaves out the pixels blank in the whole batch.

    A blank pixel (0 in every row of the batch) adds nothing to x W, and its
    weights get a zero gradient.  In a batch of 128 MNIST digits about a third
    of the pixels are blank (the borders, mostly), so the two big products of a
    training step shrink by that much:

        x W      = x[:, c] W[c]           (c: the inked columns)
        dL/dW[c] = x[:, c]^T dL/dz,  and the other rows of dL/dW are 0

    The network uses it for a first Dense layer on pixels.  Gathering the
    inked columns (and their weight rows) copies data, which the smaller
    products repay only when enough of the pixels are blank: below
    BLANK_SKIP_BELOW inked (benchmarks/README.md has the measurements).
    Clothes ink nearly every pixel somewhere in a batch, so there it falls back
    to the plain product.
    """

    columns: np.ndarray | None = None  # which inputs `inputs` holds; None: all of them

    def forward(self, x: np.ndarray | InkedColumns, training: bool = False) -> np.ndarray:
        if not isinstance(x, InkedColumns):
            inked = np.flatnonzero(x.any(axis=0))
            if len(inked) >= BLANK_SKIP_BELOW * x.shape[1]:
                self.columns = None
                return super().forward(x, training)
            x = InkedColumns(x[:, inked], inked, x.shape[1])
        # z = x[:, c] W[c] + b
        self.columns, self.inputs = x.columns, x.values
        return self._affine(x.values, x.columns)  # each block gathers its own W[c, u]

    def backward(self, z_grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        if self.columns is None:
            return super().backward(z_grad, input_grad)
        assert self.inputs is not None
        inputs, columns = self.inputs, self.columns
        # Rows of dL/dW for the blank inputs are 0; the others come from the gathered x.
        blank = np.ones(len(self.weight), dtype=bool)
        blank[columns] = False
        self.weight_grad[blank] = 0

        def inked(block: slice) -> None:  # dL/dW[c] = x[:, c]^T dL/dz
            self.weight_grad[columns[block]] = inputs[:, block].T @ z_grad

        WORKERS.map(inked, blocks(len(columns), z_grad.size))
        np.sum(z_grad, axis=0, out=self.bias_grad)
        # dL/dx = dL/dz W^T for every input, blank or not (a blank pixel's weight
        # still moves the loss); below the first layer nothing needs it.
        return z_grad @ self.weight.T if input_grad else None
