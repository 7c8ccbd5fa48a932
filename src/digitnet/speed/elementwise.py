"""Layers whose examples do not meet: computed piece by piece of the batch, on the workers.

Part of the speed step (speed/__init__.py).  ReLU, max pooling and the other
activations treat each example on its own, so the batch can be cut into
pieces of rows and each piece computed apart: the same numbers exactly.
"""

from __future__ import annotations

import copy

import numpy as np

from digitnet.network.conv import MaxPool2D
from digitnet.network.layer import Layer, Stateless
from digitnet.network.layers import ReLU
from digitnet.speed.workers import WORKERS, shares


class PiecewiseReLU(ReLU):
    """ReLU, piece by piece, writing into arrays allocated once per batch."""

    def forward(self, z: np.ndarray, training: bool = False) -> np.ndarray:
        a, active = np.empty_like(z), np.empty(z.shape, dtype=bool)

        def piece(rows: slice) -> None:  # a = max(z, 0); remember where z > 0
            np.greater(z[rows], 0, out=active[rows])
            np.maximum(z[rows], 0, out=a[rows])

        WORKERS.map(piece, shares(len(z), z[0].size))
        self.active = active
        return a

    def backward(self, a_grad: np.ndarray, input_grad: bool = True) -> np.ndarray:
        assert self.active is not None, "backward() called before forward()"
        active = self.active
        z_grad = np.empty_like(a_grad)
        WORKERS.map(lambda rows: np.multiply(a_grad[rows], active[rows], out=z_grad[rows]),
                    shares(len(a_grad), a_grad[0].size))  # fmt: skip
        return z_grad


class PiecewiseMaxPool2D(MaxPool2D):
    """MaxPool2D's steps on pieces of the batch, into arrays allocated once per batch
    (the generic Piecewise below would run a copy of the layer per piece and join
    their outputs: one more pass over memory, made by one thread).

    Where windows do not overlap, the forward pass also notes each window's winner:
    the offset (0 to size*size - 1, in reading order) of its first maximum.  The
    backward pass then hands each offset its gradient from one comparison of small
    integers, where MaxPool2D compares every input with the maximum again and keeps
    count of the windows already claimed.  The same input takes the gradient: the
    winner moves only to an offset that beats the maximum so far strictly, so a tie
    leaves it with the first.  (A backward pass after a forward pass outside
    training, as in a gradient check, takes MaxPool2D's way.)
    """

    winner: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        (first_rows, first_cols), *others = self._window_slices(x.shape)
        a = np.empty(x[:, first_rows, first_cols, :].shape, dtype=x.dtype)
        # (in training only: prediction needs no backward pass)
        noting = training and self.stride >= self.size and self.size * self.size <= 256
        winner = np.zeros(a.shape, dtype=np.uint8) if noting else None

        def piece(batch: slice) -> None:  # a = max over the window's offsets
            out = a[batch]
            np.copyto(out, x[batch, first_rows, first_cols, :])
            if winner is not None:
                beats, offset = np.empty(out.shape, dtype=bool), np.empty(out.shape, np.uint8)
            for index, (rows, cols) in enumerate(others, start=1):
                pixels = x[batch, rows, cols, :]
                if winner is not None:
                    # offsets come in increasing order: the winner is the last to beat
                    # the maximum so far, max(winner, index * beats)
                    np.greater(pixels, out, out=beats)
                    np.multiply(beats, np.uint8(index), out=offset)
                    np.maximum(winner[batch], offset, out=winner[batch])
                np.maximum(out, pixels, out=out)

        WORKERS.map(piece, shares(len(x), x[0].size))
        self.inputs, self.outputs, self.winner = x, a, winner
        return a

    def backward(self, a_grad: np.ndarray, input_grad: bool = True) -> np.ndarray:
        x, a, winner = self.inputs, self.outputs, self.winner
        assert x is not None and a is not None, "backward() called before forward()"
        slices = self._window_slices(x.shape)
        overlapping = self.stride < self.size
        # Windows side by side (stride = size, neither overlap nor gaps) that cover the
        # whole picture: every pixel is written once below, no zeros needed first.
        tiled = self.stride == self.size and all(
            size == self.stride * count for size, count in zip(x.shape[1:3], a.shape[1:3])
        )
        x_grad = np.empty_like(x) if tiled else np.zeros_like(x)

        def piece(batch: slice) -> None:  # as MaxPool2D.backward, on these examples
            target, grad = x_grad[batch], a_grad[batch]
            is_max = np.empty(grad.shape, dtype=bool)
            if winner is not None:  # each window's gradient to its winner
                for index, (rows, cols) in enumerate(slices):
                    np.equal(winner[batch], index, out=is_max)
                    np.multiply(grad, is_max, out=target[:, rows, cols, :])
                return
            unclaimed = np.ones(grad.shape, dtype=bool)
            for rows, cols in slices:
                np.equal(x[batch, rows, cols, :], a[batch], out=is_max)
                is_max &= unclaimed
                unclaimed ^= is_max
                if overlapping:
                    target[:, rows, cols, :] += grad * is_max
                else:
                    np.multiply(grad, is_max, out=target[:, rows, cols, :])

        WORKERS.map(piece, shares(len(x), x[0].size))
        return x_grad


class Piecewise(Stateless):
    """Any layer without parameters that treats each example on its own (max
    pooling, tanh, sigmoid, leaky ReLU), run as one copy of it per piece of the batch."""

    def __init__(self, layer: Layer) -> None:
        self.layer = layer  # the textbook layer it stands for
        self.copies: list[Layer] = []

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        rows = shares(len(x), x[0].size)
        while len(self.copies) < len(rows):
            self.copies.append(copy.deepcopy(self.layer))
        self.rows = rows
        outputs = WORKERS.map(lambda i: self.copies[i].forward(x[rows[i]], training),
                              range(len(rows)))  # fmt: skip
        return outputs[0] if len(outputs) == 1 else np.concatenate(outputs)

    def backward(self, grad: np.ndarray, input_grad: bool = True) -> np.ndarray:
        rows = self.rows
        grads = WORKERS.map(lambda i: self.copies[i].backward(grad[rows[i]]), range(len(rows)))
        return grads[0] if len(grads) == 1 else np.concatenate(grads)
