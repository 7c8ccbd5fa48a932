"""Layers, each forward step written beside its derivative.

Conventions used throughout (and in docs/math.md):

- A batch is a 2-D array with one example per *row*: `x` has shape (m, n).
  (The notebook used one example per column; rows are numpy's natural,
  contiguous layout and the equations are the same, transposed.)
- `forward(x)` returns the layer's output and remembers what `backward` needs.
- `backward(dL/d_output)` returns dL/d_input, the gradient for the layer below,
  and *adds* the gradients of the layer's own parameters to its gradient
  buffers (as PyTorch does): a gradient over many examples is a sum, so it can
  be built up chunk by chunk.  `zero_grad()` starts a new sum: the next
  backward writes the buffers instead of adding to them (the same result as
  zeroing them first, without the extra passes over a large weight matrix).
- L is the mean loss over the batch, so every gradient here is already divided
  by m (the loss's `delta` does that once, at the top).
"""

from __future__ import annotations

import numpy as np

BLANK_SKIP_BELOW = 0.9  # skip blank inputs when fewer than 90% of them are inked


class Dense:
    """The affine map  z = x W + b  (a "fully connected" layer).

    weight W: (n_in, n_out), one column per unit; bias b: (n_out,), one per unit.

    With `skip_blank_inputs` (the network sets it on its first layer, whose
    inputs are pixels), a batch's inputs that are 0 in every row are left out of
    the products: a blank pixel adds nothing to x W and its weights get a zero
    gradient.  In a batch of 128 MNIST digits about a third of the pixels are
    blank (the borders, mostly), so the two big products of a training step
    shrink by that much.  The result is the same as the full products.
    """

    def __init__(self, weight: np.ndarray, bias: np.ndarray, skip_blank_inputs: bool = False):
        self.weight = weight
        self.bias = bias
        self.skip_blank_inputs = skip_blank_inputs
        # Gradient buffers, allocated once; backward adds to them, zero_grad empties them.
        self.weight_grad = np.zeros_like(weight)
        self.bias_grad = np.zeros_like(bias)
        self.accumulating = False  # False right after zero_grad(): overwrite, don't add
        self.inputs: np.ndarray | None = None
        self.columns: np.ndarray | None = None  # which inputs `inputs` holds; None: all

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if self.skip_blank_inputs:
            inked = np.flatnonzero(x.any(axis=0))
            # Gathering the inked columns (and their weight rows) copies data; the
            # smaller products pay for the copies below about 90% inked (measured:
            # 128 x 784 batches, 800 units: 0.81x the time at 70% inked, 1.04x at 95%).
            if len(inked) < BLANK_SKIP_BELOW * x.shape[1]:
                return self.forward_columns(x[:, inked], inked)
        # z = x W + b      (b is broadcast: the same bias added to every row)
        self.inputs, self.columns = x, None
        z = x @ self.weight
        z += self.bias
        return z

    def forward_columns(self, x_columns: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """z = x W + b for a batch x whose inputs outside `columns` are all 0.

        x_columns = x[:, columns] holds the rest:  x W = x[:, c] W[c]  (the sum
        over inputs i of x_i W_i, without the terms where x_i = 0).
        """
        self.inputs, self.columns = x_columns, columns
        z = x_columns @ self.weight[columns]
        z += self.bias
        return z

    def backward(self, z_grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        assert self.inputs is not None, "backward() called before forward()"
        if self.columns is not None:
            # dL/dW = x^T dL/dz, whose rows for the blank inputs are 0:
            # only the rows c are computed,  dL/dW[c] = x[:, c]^T dL/dz
            inked_grad = self.inputs.T @ z_grad
            if self.accumulating:
                self.weight_grad[self.columns] += inked_grad
            else:
                blank = np.ones(len(self.weight), dtype=bool)
                blank[self.columns] = False
                self.weight_grad[blank] = 0
                self.weight_grad[self.columns] = inked_grad
        elif self.accumulating:
            # dL/dW = x^T dL/dz    (each example's outer product x_i^T dz_i, summed)
            self.weight_grad += self.inputs.T @ z_grad
        else:  # the same sum, written straight into the emptied buffer
            np.matmul(self.inputs.T, z_grad, out=self.weight_grad)
        # dL/db = sum over examples of dL/dz   -> one entry per unit, not one scalar
        if self.accumulating:
            self.bias_grad += z_grad.sum(axis=0)
        else:
            np.sum(z_grad, axis=0, out=self.bias_grad)
        self.accumulating = True
        # dL/dx = dL/dz W^T        (what the layer below needs; the first layer has
        # only the image below it, so the network skips this product there)
        return z_grad @ self.weight.T if input_grad else None

    def parameters(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(parameter, gradient) pairs, for an optimizer to update in place."""
        return [(self.weight, self.weight_grad), (self.bias, self.bias_grad)]

    def zero_grad(self) -> None:
        self.accumulating = False


class Activation:
    """A layer with no parameters of its own (activations, dropout)."""

    def parameters(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return []

    def zero_grad(self) -> None:
        pass


class ReLU(Activation):
    """The rectified linear unit  a = max(z, 0), applied element by element."""

    def __init__(self) -> None:
        self.active: np.ndarray | None = None

    def forward(self, z: np.ndarray, training: bool = False) -> np.ndarray:
        # a = max(z, 0)
        self.active = z > 0
        return np.maximum(z, 0)

    def backward(self, a_grad: np.ndarray) -> np.ndarray:
        assert self.active is not None, "backward() called before forward()"
        # da/dz = 1 where z > 0, else 0   ->   dL/dz = dL/da * [z > 0]
        return a_grad * self.active


class LeakyReLU(Activation):
    """a = z where z > 0, else slope * z: like ReLU, but a unit is never fully silent."""

    def __init__(self, slope: float = 0.01) -> None:
        self.slope = slope
        self.active: np.ndarray | None = None

    def forward(self, z: np.ndarray, training: bool = False) -> np.ndarray:
        # a = z if z > 0 else slope * z
        self.active = z > 0
        return np.where(self.active, z, self.slope * z)

    def backward(self, a_grad: np.ndarray) -> np.ndarray:
        assert self.active is not None, "backward() called before forward()"
        # da/dz = 1 where z > 0, else slope
        return np.where(self.active, a_grad, self.slope * a_grad)


class Tanh(Activation):
    """a = tanh(z), squashing into (-1, 1)."""

    def __init__(self) -> None:
        self.outputs: np.ndarray | None = None

    def forward(self, z: np.ndarray, training: bool = False) -> np.ndarray:
        # a = tanh(z)
        self.outputs = np.tanh(z)
        return self.outputs

    def backward(self, a_grad: np.ndarray) -> np.ndarray:
        assert self.outputs is not None, "backward() called before forward()"
        # da/dz = 1 - tanh(z)^2 = 1 - a^2
        return a_grad * (1 - self.outputs**2)


class Sigmoid(Activation):
    """a = 1 / (1 + exp(-z)), squashing into (0, 1)."""

    def __init__(self) -> None:
        self.outputs: np.ndarray | None = None

    def forward(self, z: np.ndarray, training: bool = False) -> np.ndarray:
        # a = 1 / (1 + e^-z), written as (1 + tanh(z/2)) / 2 so no exp can overflow
        self.outputs = 0.5 * (1 + np.tanh(0.5 * z))
        return self.outputs

    def backward(self, a_grad: np.ndarray) -> np.ndarray:
        assert self.outputs is not None, "backward() called before forward()"
        # da/dz = a (1 - a)
        return a_grad * self.outputs * (1 - self.outputs)


class Dropout(Activation):
    """Inverted dropout: in training, zero each input with probability `rate` and
    scale the survivors by 1 / (1 - rate), so the expected output equals the
    input; at evaluation, pass everything through unchanged."""

    def __init__(self, rate: float, seed: int | np.random.Generator = 0) -> None:
        self.rate = rate
        self.rng = np.random.default_rng(seed)
        self.mask: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if not training or self.rate == 0:
            self.mask = None
            return x
        # a = x * m,  m = [u >= rate] / (1 - rate),  u ~ U(0, 1) per entry
        keep = self.rng.random(x.shape, dtype=np.float32) >= self.rate
        self.mask = keep.astype(x.dtype) / (1 - self.rate)
        return x * self.mask

    def backward(self, a_grad: np.ndarray) -> np.ndarray:
        # da/dx = m: dropped inputs get no gradient, kept ones the same scale
        return a_grad if self.mask is None else a_grad * self.mask
