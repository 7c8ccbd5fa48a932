"""Batch norm in few sweeps over memory, its rows shared among the workers.

Part of the speed step (speed/__init__.py): the numbers of the textbook
BatchNorm (network/batchnorm.py), to rounding; tests hold the two equal.

The textbook layer makes a pass over the whole feature map for every step of
its formula, and keeps x_hat for the backward pass.  Here each piece of rows
(examples, and every position of a feature map) is taken while it is in the
cache, and the formulas are regrouped so that nothing the size of x is written
but the output:

    forward:   y = x a + b,   a = gamma / sqrt(var + eps),  b = beta - mu a
    backward:  dL/dgamma = sum of dL/dy (x - mu) / sqrt(var + eps)
               dL/dx = dL/dy a + (x - mu) c + d,   c, d: per feature, from the two sums

Sums over rows are computed piece by piece with einsum (numpy's a.sum(axis=0)
walks a tall array of few columns one short row at a time) and the partial
sums added in the pieces' order: the whole batch's statistics, the same at any
thread count.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from digitnet.network.batchnorm import BatchNorm
from digitnet.speed.workers import WORKERS, rows_per_piece, shares, split

PARTS = 16


def _summed(parts: list[np.ndarray]) -> np.ndarray:
    total = parts[0].copy()
    for part in parts[1:]:  # in order: the same sum at any thread count
        total += part
    return total


class PiecewiseBatchNorm(BatchNorm):
    inputs: np.ndarray | None = None
    mean: np.ndarray | None = None

    def _pieces(self, rows: int, task: Callable[[slice], np.ndarray | None]) -> list:
        return WORKERS.map(task, split(rows, PARTS, rows_per_piece(len(self.scale))))

    def column_sums(self, a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
        def piece(rows: slice) -> np.ndarray:
            if b is None:
                return np.einsum("ij->j", a[rows])
            return np.einsum("ij,ij->j", a[rows], b[rows])

        return _summed(WORKERS.map(piece, split(len(a), PARTS, rows_per_piece(a.shape[1]))))

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        features = x.reshape(-1, x.shape[-1])
        self.batch_statistics = training
        if training:
            count = len(features)
            mean = (self.column_sums(features) / count).astype(x.dtype)

            def squares(rows: slice) -> np.ndarray:  # sum of (x - mu)^2, this piece
                centered = features[rows] - mean
                return np.einsum("ij,ij->j", centered, centered)

            var = _summed(self._pieces(count, squares)) / count
            self._update_running(mean, var, count)
        else:
            mean, var = self.running_mean, self.running_var
        self.inv_std = (1.0 / np.sqrt(var + self.eps)).astype(x.dtype)
        self.inputs, self.mean = features, mean
        a = self.scale * self.inv_std
        b = self.shift - mean * a
        y = np.empty_like(features)

        def affine(rows: slice) -> None:  # y = x a + b
            np.multiply(features[rows], a, out=y[rows])
            y[rows] += b

        WORKERS.map(affine, shares(len(features), len(self.scale)))  # no sums: any cut
        return y.reshape(x.shape)

    def backward(self, y_grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        features, mean, inv_std = self.inputs, self.mean, self.inv_std
        assert features is not None and mean is not None and inv_std is not None, "forward first"
        grad = y_grad.reshape(-1, y_grad.shape[-1])
        count = len(grad)

        def sums(rows: slice) -> np.ndarray:  # [sum of dL/dy, sum of dL/dy (x - mu)]
            centered = features[rows] - mean
            return np.stack([np.einsum("ij->j", grad[rows]),
                             np.einsum("ij,ij->j", grad[rows], centered)])  # fmt: skip

        total = _summed(self._pieces(count, sums))
        self.shift_grad[...] = total[0]
        self.scale_grad[...] = total[1] * inv_std
        if not input_grad:
            return None
        a = self.scale * inv_std
        if self.batch_statistics:
            # dL/dx = a (dL/dy - mean(dL/dy) - x_hat mean(dL/dy x_hat)), x_hat = (x - mu) inv_std
            c = -a * inv_std * self.scale_grad / count
            d = -a * self.shift_grad / count
        else:  # fixed mu and var: y is affine in x
            c, d = np.zeros_like(a), np.zeros_like(a)
        x_grad = np.empty_like(grad)

        def piece(rows: slice) -> None:
            out = x_grad[rows]
            np.subtract(features[rows], mean, out=out)
            out *= c
            out += grad[rows] * a
            out += d

        WORKERS.map(piece, shares(count, len(self.scale)))  # no sums: any cut
        return x_grad.reshape(y_grad.shape)
