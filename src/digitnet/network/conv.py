"""Convolution and max pooling over feature maps (m, height, width, channels).

Feature maps are stored channels-last: each pixel's channels sit side by side
in memory, so a window of pixels is a contiguous run of numbers and the patch
matrix of im2col.py is built by plain slice copies.  A kernel is stored
(kh, kw, channels, filters), so that reshaped to (kh*kw*channels, filters) it is
the weight matrix of a Dense layer over patches.  (PyTorch stores feature maps
(m, channels, height, width) and kernels (filters, channels, kh, kw); the
numbers are the same, only the axes are ordered differently.)
"""

from __future__ import annotations

import numpy as np

from digitnet.network.im2col import col2im, im2col, output_size, same_padding
from digitnet.network.init import INITIALIZERS
from digitnet.network.layer import Stateless

PADDINGS = ("valid", "same")


class Conv2D:
    """z[n, i, j, f] = b[f] + sum over dy, dx, c of x[n, s*i+dy, s*j+dx, c] K[dy, dx, c, f]

    kernel K: (kh, kw, channels, filters); bias b: (filters,); stride s.
    padding 'valid' uses only windows inside the image; 'same' adds a border
    of zeros so that the output has ceil(size / s) positions per side.
    """

    def __init__(
        self, kernel: np.ndarray, bias: np.ndarray, stride: int = 1, padding: str = "valid"
    ) -> None:
        self.kernel, self.bias = kernel, bias
        self.kernel_grad, self.bias_grad = np.zeros_like(kernel), np.zeros_like(bias)
        self.stride, self.padding = stride, padding
        self.padded_shape: tuple[int, ...] = ()
        self.pads: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0))
        self.patches: np.ndarray | None = None

    @classmethod
    def create(cls, channels: int, filters: int, size: int, stride: int, padding: str,
               init: str, rng: np.random.Generator, dtype: np.dtype) -> Conv2D:  # fmt: skip
        """A fresh layer with a size x size kernel drawn by the initializer `init`."""
        shape = (size, size, channels, filters)
        kernel = INITIALIZERS[init](rng, shape, size * size * channels, size * size * filters)
        return cls(kernel.astype(dtype), np.zeros(filters, dtype), stride, padding)

    @property
    def kernel_matrix(self) -> np.ndarray:
        """K as the (kh*kw*channels, filters) weight matrix of the patches (a view)."""
        return self.kernel.reshape(-1, self.kernel.shape[-1])

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._pad(x)
        kh, kw, _, filters = self.kernel.shape
        rows = output_size(x.shape[1], kh, self.stride)
        cols = output_size(x.shape[2], kw, self.stride)
        self.padded_shape = x.shape
        self.patches = im2col(x, (kh, kw), self.stride)
        # z = patches K + b: the Dense layer of every window, all windows at once
        z = self.patches @ self.kernel_matrix
        z += self.bias
        return z.reshape(len(x), rows, cols, filters)

    def backward(self, z_grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        assert self.patches is not None, "backward() called before forward()"
        z_grad = z_grad.reshape(-1, self.kernel.shape[-1])  # one row per window
        # dL/dK = patches^T dL/dz   (Dense's dL/dW, reshaped back to the kernel)
        np.matmul(self.patches.T, z_grad, out=self.kernel_grad.reshape(-1, z_grad.shape[1]))
        # dL/db = sum over every window of every image
        np.sum(z_grad, axis=0, out=self.bias_grad)
        if not input_grad:
            return None
        # dL/dpatches = dL/dz K^T, then each entry back to the pixel it came from
        patches_grad = z_grad @ self.kernel_matrix.T
        x_grad = col2im(patches_grad, self.padded_shape, self.kernel.shape[:2], self.stride)
        (top, bottom), (left, right) = self.pads
        return x_grad[:, top : x_grad.shape[1] - bottom, left : x_grad.shape[2] - right]

    def _pad(self, x: np.ndarray) -> np.ndarray:
        if self.padding == "valid":
            return x
        kh, kw = self.kernel.shape[:2]
        self.pads = (same_padding(x.shape[1], kh, self.stride),
                     same_padding(x.shape[2], kw, self.stride))  # fmt: skip
        if self.pads == ((0, 0), (0, 0)):
            return x
        return np.pad(x, ((0, 0), *self.pads, (0, 0)))

    def parameters(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(self.kernel, self.kernel_grad), (self.bias, self.bias_grad)]

    def arrays(self) -> dict[str, np.ndarray]:
        return {"kernel": self.kernel, "bias": self.bias}


class MaxPool2D(Stateless):
    """a[n, i, j, c] = max over the size x size window at (s*i, s*j) of x[n, ., ., c]

    Each window passes on its largest value; in the backward pass only that
    input gets the gradient (it alone moved the output).  When several inputs
    tie for the maximum, the first (in reading order) takes it, as in PyTorch.
    """

    def __init__(self, size: int = 2, stride: int | None = None) -> None:
        self.size, self.stride = size, stride or size
        self.inputs: np.ndarray | None = None
        self.outputs: np.ndarray | None = None

    def _window_slices(self, shape: tuple[int, ...]) -> list[tuple[slice, slice]]:
        """For each offset (dy, dx) in the window, the slices of x that hold the
        pixel at that offset of every window: strided views, no copies."""
        rows = output_size(shape[1], self.size, self.stride)
        cols = output_size(shape[2], self.size, self.stride)
        s = self.stride
        return [
            (slice(dy, dy + s * rows, s), slice(dx, dx + s * cols, s))
            for dy in range(self.size)
            for dx in range(self.size)
        ]

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        slices = self._window_slices(x.shape)
        # a = max over the window's offsets, one offset (one strided view) at a time
        a = x[:, slices[0][0], slices[0][1], :].copy()
        for rows, cols in slices[1:]:
            np.maximum(a, x[:, rows, cols, :], out=a)
        self.inputs, self.outputs = x, a
        return a

    def backward(self, a_grad: np.ndarray, input_grad: bool = True) -> np.ndarray:
        assert self.inputs is not None and self.outputs is not None, "backward() before forward()"
        x_grad = np.zeros_like(self.inputs)
        unclaimed = np.ones(a_grad.shape, dtype=bool)  # windows whose maximum is not found yet
        overlapping = self.stride < self.size
        for rows, cols in self._window_slices(self.inputs.shape):
            # da/dx = 1 for the (first) input equal to the window's maximum, else 0
            is_max = self.inputs[:, rows, cols, :] == self.outputs
            is_max &= unclaimed
            unclaimed ^= is_max  # those windows are claimed
            if overlapping:  # a pixel in several windows sums their gradients
                x_grad[:, rows, cols, :] += a_grad * is_max
            else:
                np.multiply(a_grad, is_max, out=x_grad[:, rows, cols, :])
        return x_grad
