"""Dense layers, activations and dropout, each forward step written beside its derivative.

Conventions used throughout the network package (and in docs/math.md):

- A batch has one example per *row* (the first axis): `x` has shape (m, n)
  for vectors, (m, height, width, channels) for images and feature maps.
  (The notebook used one example per column; rows are numpy's natural,
  contiguous layout and the equations are the same, transposed.)
- `forward(x, training)` returns the layer's output and remembers what
  `backward` needs.  `training` matters to dropout and batch norm only.
- `backward(dL/d_output, input_grad=True)` returns dL/d_input, the gradient
  for the layer below, and writes the gradients of the layer's own parameters
  into its gradient buffers (allocated once, with the layer).  Every layer
  meets this one protocol (layer.py); kinds.py declares how each is written.
- L is the mean loss over the batch, so every gradient here is already divided
  by m (the loss's `delta` does that once, at the top).
"""

from __future__ import annotations

import numpy as np

from digitnet.network.init import INITIALIZERS, initial_bias
from digitnet.network.layer import Stateless


class Dense:
    """The affine map  z = x W + b  (a "fully connected" layer).

    weight W: (n_in, n_out), one column per unit; bias b: (n_out,), one per unit.
    """

    def __init__(self, weight: np.ndarray, bias: np.ndarray) -> None:
        self.weight, self.bias = weight, bias
        self.weight_grad, self.bias_grad = np.zeros_like(weight), np.zeros_like(bias)
        self.inputs: np.ndarray | None = None

    @classmethod
    def create(cls, n_in: int, n_out: int, init: str, rng: np.random.Generator,
               dtype: np.dtype) -> Dense:  # fmt: skip
        """A fresh layer, its weights drawn by the initializer `init`."""
        weight = INITIALIZERS[init](rng, (n_in, n_out), n_in, n_out)
        return cls(weight.astype(dtype), initial_bias(init, rng, n_out).astype(dtype))

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        # z = x W + b      (b is broadcast: the same bias added to every row)
        self.inputs = x
        z = x @ self.weight
        z += self.bias
        return z

    def backward(self, z_grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        assert self.inputs is not None, "backward() called before forward()"
        # dL/dW = x^T dL/dz    (each example's outer product x_i^T dz_i, summed)
        np.matmul(self.inputs.T, z_grad, out=self.weight_grad)
        # dL/db = sum over examples of dL/dz   -> one entry per unit, not one scalar
        np.sum(z_grad, axis=0, out=self.bias_grad)
        # dL/dx = dL/dz W^T    (skipped when nothing below learns: see Network.backward)
        return z_grad @ self.weight.T if input_grad else None

    def parameters(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(parameter, gradient) pairs, for an optimizer to update in place."""
        return [(self.weight, self.weight_grad), (self.bias, self.bias_grad)]

    def arrays(self) -> dict[str, np.ndarray]:
        """What a model file stores for this layer, by name."""
        return {"weight": self.weight, "bias": self.bias}


class ReLU(Stateless):
    """The rectified linear unit  a = max(z, 0), applied element by element."""

    def __init__(self) -> None:
        self.active: np.ndarray | None = None

    def forward(self, z: np.ndarray, training: bool = False) -> np.ndarray:
        # a = max(z, 0)
        self.active = z > 0
        return np.maximum(z, 0)

    def backward(self, a_grad: np.ndarray, input_grad: bool = True) -> np.ndarray:
        assert self.active is not None, "backward() called before forward()"
        # da/dz = 1 where z > 0, else 0   ->   dL/dz = dL/da * [z > 0]
        return a_grad * self.active


class LeakyReLU(Stateless):
    """a = z where z > 0, else slope * z: like ReLU, but a unit is never fully silent."""

    def __init__(self, slope: float = 0.01) -> None:
        self.slope = slope
        self.active: np.ndarray | None = None

    def forward(self, z: np.ndarray, training: bool = False) -> np.ndarray:
        # a = z if z > 0 else slope * z
        self.active = z > 0
        return np.where(self.active, z, self.slope * z)

    def backward(self, a_grad: np.ndarray, input_grad: bool = True) -> np.ndarray:
        assert self.active is not None, "backward() called before forward()"
        # da/dz = 1 where z > 0, else slope
        return np.where(self.active, a_grad, self.slope * a_grad)


class Tanh(Stateless):
    """a = tanh(z), squashing into (-1, 1)."""

    def __init__(self) -> None:
        self.outputs: np.ndarray | None = None

    def forward(self, z: np.ndarray, training: bool = False) -> np.ndarray:
        # a = tanh(z)
        self.outputs = np.tanh(z)
        return self.outputs

    def backward(self, a_grad: np.ndarray, input_grad: bool = True) -> np.ndarray:
        assert self.outputs is not None, "backward() called before forward()"
        # da/dz = 1 - tanh(z)^2 = 1 - a^2
        return a_grad * (1 - self.outputs**2)


class Sigmoid(Stateless):
    """a = 1 / (1 + exp(-z)), squashing into (0, 1)."""

    def __init__(self) -> None:
        self.outputs: np.ndarray | None = None

    def forward(self, z: np.ndarray, training: bool = False) -> np.ndarray:
        # a = 1 / (1 + e^-z), written as (1 + tanh(z/2)) / 2 so no exp can overflow
        self.outputs = 0.5 * (1 + np.tanh(0.5 * z))
        return self.outputs

    def backward(self, a_grad: np.ndarray, input_grad: bool = True) -> np.ndarray:
        assert self.outputs is not None, "backward() called before forward()"
        # da/dz = a (1 - a)
        return a_grad * self.outputs * (1 - self.outputs)


class Dropout(Stateless):
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

    def backward(self, a_grad: np.ndarray, input_grad: bool = True) -> np.ndarray:
        # da/dx = m: dropped inputs get no gradient, kept ones the same scale
        return a_grad if self.mask is None else a_grad * self.mask


class ToImages(Stateless):
    """Rows of side*side pixels -> images (m, side, side, 1): one channel of gray."""

    def __init__(self, side: int) -> None:
        self.side = side

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return x.reshape(len(x), self.side, self.side, 1)

    def backward(self, images_grad: np.ndarray, input_grad: bool = True) -> np.ndarray:
        # A reshape moves no value: the gradient is reshaped back.
        return images_grad.reshape(len(images_grad), -1)


class Flatten(Stateless):
    """Feature maps (m, height, width, channels) -> rows (m, height*width*channels)."""

    def __init__(self) -> None:
        self.shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.shape = x.shape
        return x.reshape(len(x), -1)

    def backward(self, rows_grad: np.ndarray, input_grad: bool = True) -> np.ndarray:
        assert self.shape is not None, "backward() called before forward()"
        return rows_grad.reshape(self.shape)
