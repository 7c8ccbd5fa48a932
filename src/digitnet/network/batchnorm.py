"""Batch normalisation (Ioffe & Szegedy, 2015).

Each feature is shifted and scaled to mean 0 and variance 1 over the batch,
then given a learned scale gamma and shift beta.  "Each feature" is each unit
of a Dense layer's output (m, units), or each channel of a feature map
(m, height, width, channels), whose statistics run over the batch and over
every position: a channel is one feature detector slid across the image.

Training uses the batch's own statistics, so the layer's output for one image
depends a little on the others in its batch; that noise regularises.
Evaluation uses running averages of those statistics, kept during training
and saved in the model file, so that a prediction depends on its image only.
"""

from __future__ import annotations

import numpy as np


class BatchNorm:
    """y = gamma * x_hat + beta,  x_hat = (x - mu) / sqrt(var + eps)

    mu, var: the batch's mean and (biased) variance per feature in training;
    the running averages at evaluation.  Running averages follow PyTorch:
    running <- (1 - momentum) running + momentum * batch value, with the
    unbiased variance (divided by N - 1).
    """

    def __init__(
        self,
        scale: np.ndarray,
        shift: np.ndarray,
        running_mean: np.ndarray,
        running_var: np.ndarray,
        momentum: float = 0.1,
        eps: float = 1e-5,
    ) -> None:
        self.scale, self.shift = scale, shift  # gamma, beta
        self.running_mean, self.running_var = running_mean, running_var
        self.scale_grad, self.shift_grad = np.zeros_like(scale), np.zeros_like(shift)
        self.momentum, self.eps = momentum, eps
        self.normalized: np.ndarray | None = None  # x_hat, kept for backward
        self.inv_std: np.ndarray | None = None
        self.batch_statistics = True  # whether the last forward used the batch's own

    @classmethod
    def create(cls, features: int, dtype: np.dtype) -> BatchNorm:
        """gamma = 1, beta = 0: at the start the layer only standardises."""
        ones, zeros = np.ones(features, dtype), np.zeros(features, dtype)
        return cls(ones, zeros.copy(), zeros.copy(), ones.copy())

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        features = x.reshape(-1, x.shape[-1])  # one row per example (and position)
        self.batch_statistics = training
        if training:
            count = len(features)
            mean = self.column_sums(features) / count
            centered = features - mean
            var = self.column_sums(centered, centered) / count
            self._update_running(mean, var, count)
        else:
            centered = features - self.running_mean
            var = self.running_var
        # x_hat = (x - mu) / sqrt(var + eps);  y = gamma x_hat + beta
        self.inv_std = (1.0 / np.sqrt(var + self.eps)).astype(x.dtype)
        self.normalized = centered
        self.normalized *= self.inv_std  # in place: x - mu is not needed again
        y = self.normalized * self.scale
        y += self.shift
        return y.reshape(x.shape)

    def backward(self, y_grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        assert self.normalized is not None and self.inv_std is not None, "backward() first"
        grad = y_grad.reshape(-1, y_grad.shape[-1])
        # dL/dbeta = sum of dL/dy;  dL/dgamma = sum of dL/dy * x_hat
        self.shift_grad[...] = self.column_sums(grad)
        self.scale_grad[...] = self.column_sums(grad, self.normalized)
        if not input_grad:  # nothing below learns (a network that starts with bn)
            return None
        if not self.batch_statistics:  # fixed mu and var: y is affine in x
            return (y_grad * (self.scale * self.inv_std)).astype(y_grad.dtype)
        # mu and var depend on every x in the batch too; with N rows (docs/math.md):
        # dL/dx = gamma / sqrt(var + eps) * (dL/dy - mean(dL/dy) - x_hat mean(dL/dy x_hat))
        count = len(grad)
        x_grad = self.normalized * (-self.scale_grad / count)
        x_grad += grad
        x_grad -= self.shift_grad / count
        x_grad *= self.scale * self.inv_std
        return x_grad.reshape(y_grad.shape)

    def _update_running(self, mean: np.ndarray, var: np.ndarray, count: int) -> None:
        """running <- (1 - momentum) running + momentum * batch value (var unbiased)."""
        momentum = self.momentum
        self.running_mean *= 1 - momentum
        self.running_mean += momentum * mean
        self.running_var *= 1 - momentum
        self.running_var += momentum * var * (count / max(count - 1, 1))

    def column_sums(self, a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
        """One sum per feature (column) over the rows: of a, or of a * b."""
        return a.sum(axis=0) if b is None else (a * b).sum(axis=0)

    def parameters(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(self.scale, self.scale_grad), (self.shift, self.shift_grad)]

    def arrays(self) -> dict[str, np.ndarray]:
        return {"scale": self.scale, "shift": self.shift,
                "running_mean": self.running_mean, "running_var": self.running_var}  # fmt: skip
