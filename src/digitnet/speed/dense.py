"""Dense layers with their products cut into blocks, for the workers to share.

Part of the speed step (speed/__init__.py).  Each of a Dense layer's three
products is cut along a side that is not summed over, so every block is a
whole product of its own and nothing needs adding up afterwards:

    z = x W + b          by blocks of units (columns of W):   z[:, u]  = x W[:, u] + b[u]
    dL/dW = x^T dL/dz    by blocks of inputs (rows of W):     dW[i]    = x[:, i]^T dL/dz
    dL/dx = dL/dz W^T    by blocks of inputs:                 dx[:, i] = dL/dz W[i]^T

Cut this way, each block reads only its own part of W, as one product would:
cutting the batch into rows instead would make every block read all of W.
"""

from __future__ import annotations

import numpy as np

from digitnet.network.layers import Dense
from digitnet.speed.workers import SMALLEST_PRODUCT, WORKERS, pieces

BLOCK_PARTS = 8  # blocks per product: enough for the workers, few enough to stay large
NARROWEST_BLOCK = 64  # units or inputs: a narrower product runs below BLAS's speed


def blocks(count: int, other_sides: int) -> list[slice]:
    """`count` units (or inputs) cut into blocks whose products, each `other_sides`
    multiply-adds per unit, are worth a thread (the sizes alone decide).

    BLOCK_PARTS blocks, halved until each is wide enough: 8, 4, 2 or 1 blocks
    of nearly equal width, so that 2 or 4 threads get equal shares (5 blocks
    would give one of two threads 3, and the other would wait for it).
    """
    narrowest = max(NARROWEST_BLOCK, -(-SMALLEST_PRODUCT // max(1, other_sides)))
    parts = BLOCK_PARTS
    while parts > 1 and count < parts * narrowest:
        parts //= 2
    return pieces(count, -(-count // parts))


class BlockedDense(Dense):
    """Dense, its products computed block by block (the same numbers, on N threads)."""

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.inputs = x
        return self._affine(x)

    def _affine(self, x: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """z = x W[rows] + b (all rows of W when `rows` is None), block by block of units."""
        z = np.empty((len(x), self.weight.shape[1]), dtype=np.result_type(x, self.weight))

        def units(block: slice) -> None:  # z[:, u] = x W[:, u] + b[u]
            weight = self.weight[:, block] if rows is None else self.weight[rows, block]
            np.matmul(x, weight, out=z[:, block])
            z[:, block] += self.bias[block]

        WORKERS.map(units, blocks(self.weight.shape[1], x.size))
        return z

    def backward(self, z_grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        assert self.inputs is not None, "backward() called before forward()"
        x = self.inputs
        x_grad = (
            np.empty((len(x), self.weight.shape[0]), dtype=z_grad.dtype) if input_grad else None
        )

        def inputs(block: slice) -> None:
            # dL/dW[i] = x[:, i]^T dL/dz;  dL/dx[:, i] = dL/dz W[i]^T
            np.matmul(x[:, block].T, z_grad, out=self.weight_grad[block])
            if x_grad is not None:
                np.matmul(z_grad, self.weight[block].T, out=x_grad[:, block])

        WORKERS.map(inputs, blocks(self.weight.shape[0], z_grad.size))
        np.sum(z_grad, axis=0, out=self.bias_grad)
        return x_grad
