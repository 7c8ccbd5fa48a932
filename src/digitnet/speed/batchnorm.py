"""Batch norm with its sums in one sweep and its rows shared among the workers.

Part of the speed step (speed/__init__.py): the numbers of the textbook
BatchNorm (network/batchnorm.py), to rounding; tests hold the two equal.

- numpy's a.sum(axis=0) walks a tall array of few columns one short row at a
  time, and (a * b).sum(axis=0) first stores the product; einsum does either
  in one sweep.
- The rows (examples, and every position of a feature map) are cut into
  pieces: each worker sums its pieces, and the partial sums are added in the
  pieces' order, so the statistics are the whole batch's, the same at any
  thread count.  Normalising is then row by row, piece by piece.
"""

from __future__ import annotations

import numpy as np

from digitnet.network.batchnorm import BatchNorm
from digitnet.speed.workers import WORKERS, split

PARTS = 16
SMALLEST = 512  # rows


class PiecewiseBatchNorm(BatchNorm):
    def column_sums(self, a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
        def piece(rows: slice) -> np.ndarray:
            if b is None:
                return np.einsum("ij->j", a[rows])
            return np.einsum("ij,ij->j", a[rows], b[rows])

        parts = WORKERS.map(piece, split(len(a), PARTS, SMALLEST))
        total = parts[0].copy()
        for part in parts[1:]:  # in order: the same sum at any thread count
            total += part
        return total

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        features = x.reshape(-1, x.shape[-1])
        self.batch_statistics = training
        if training:
            count = len(features)
            mean = self.column_sums(features) / count
            centered = np.empty_like(features)
            WORKERS.map(lambda rows: np.subtract(features[rows], mean, out=centered[rows]),
                        split(count, PARTS, SMALLEST))  # fmt: skip
            var = self.column_sums(centered, centered) / count
            self._update_running(mean, var, count)
        else:
            centered = np.empty_like(features)
            WORKERS.map(lambda rows: np.subtract(features[rows], self.running_mean,
                                                 out=centered[rows]),
                        split(len(features), PARTS, SMALLEST))  # fmt: skip
            var = self.running_var
        # x_hat = (x - mu) / sqrt(var + eps);  y = gamma x_hat + beta
        self.inv_std = (1.0 / np.sqrt(var + self.eps)).astype(x.dtype)
        self.normalized = centered
        y = np.empty_like(features)

        def normalise(rows: slice) -> None:
            centered[rows] *= self.inv_std
            np.multiply(centered[rows], self.scale, out=y[rows])
            y[rows] += self.shift

        WORKERS.map(normalise, split(len(features), PARTS, SMALLEST))
        return y.reshape(x.shape)

    def backward(self, y_grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        assert self.normalized is not None and self.inv_std is not None, "backward() first"
        if not input_grad or not self.batch_statistics:
            return super().backward(y_grad, input_grad)
        grad = y_grad.reshape(-1, y_grad.shape[-1])
        normalized, count = self.normalized, len(grad)
        self.shift_grad[...] = self.column_sums(grad)
        self.scale_grad[...] = self.column_sums(grad, normalized)
        # dL/dx = gamma / sqrt(var + eps) * (dL/dy - mean(dL/dy) - x_hat mean(dL/dy x_hat))
        scale_mean, shift_mean = self.scale_grad / count, self.shift_grad / count
        factor = self.scale * self.inv_std
        x_grad = np.empty_like(grad)

        def piece(rows: slice) -> None:
            out = x_grad[rows]
            np.multiply(normalized[rows], -scale_mean, out=out)
            out += grad[rows]
            out -= shift_mean
            out *= factor

        WORKERS.map(piece, split(count, PARTS, SMALLEST))
        return x_grad.reshape(y_grad.shape)
