"""Speed shortcuts: layers that compute exactly what a textbook layer computes, faster.

Each is a subclass of the plain layer, used in its place where it pays, and
tests hold its results equal to the plain layer's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from digitnet.network.conv import Conv2D
from digitnet.network.im2col import col2im, im2col, output_size
from digitnet.network.layers import Dense

BLANK_SKIP_BELOW = 0.9  # skip blank inputs when fewer than 90% of them are inked


@dataclass(frozen=True)
class InkedColumns:
    """A batch of pixel rows, stored without the columns that are 0 in every row.

    values = x[:, columns]; every other column of x is 0.  BlankSkippingDense
    takes it as it is; the full-batch trainer prepares its chunks this way once,
    instead of the layer finding and gathering the inked columns at every pass.
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


class BlankSkippingDense(Dense):
    """A Dense layer over pixels that leaves out the pixels blank in the whole batch.

    A blank pixel (0 in every row of the batch) adds nothing to x W, and its
    weights get a zero gradient.  In a batch of 128 MNIST digits about a third
    of the pixels are blank (the borders, mostly), so the two big products of a
    training step shrink by that much:

        x W      = x[:, c] W[c]           (c: the inked columns)
        dL/dW[c] = x[:, c]^T dL/dz,  and the other rows of dL/dW are 0

    The network uses it for a first Dense layer on pixels.  Gathering the
    inked columns (and their weight rows) copies data; the smaller products pay
    for the copies below about 90% inked (measured: 128 x 784 batches, 800
    units: 0.81x the time at 70% inked, 1.04x at 95%).  Clothes ink nearly
    every pixel somewhere in a batch, so there it falls back to the plain product.
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
        z = x.values @ self.weight[x.columns]
        z += self.bias
        return z

    def backward(self, z_grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        if self.columns is None:
            return super().backward(z_grad, input_grad)
        assert self.inputs is not None
        # Rows of dL/dW for the blank inputs are 0; the others come from the gathered x.
        blank = np.ones(len(self.weight), dtype=bool)
        blank[self.columns] = False
        self.weight_grad[blank] = 0
        self.weight_grad[self.columns] = self.inputs.T @ z_grad
        np.sum(z_grad, axis=0, out=self.bias_grad)
        # dL/dx = dL/dz W^T for every input, blank or not (a blank pixel's weight
        # still moves the loss); below the first layer nothing needs it.
        return z_grad @ self.weight.T if input_grad else None


CHUNK_BYTES = 1_500_000  # a patch matrix this size stays in the CPU's cache


class ChunkedConv2D(Conv2D):
    """A Conv2D that works through the batch a few images at a time.

    The patch matrix of a whole batch is large (128 images of 26x26x32 make
    85 MB for a 3x3 kernel): written once by im2col and read again by the
    matrix product, it goes out to main memory and back.  Cut into chunks of
    about CHUNK_BYTES, each chunk's patches are still in the cache when the
    product reads them (measured on that layer: forward 25 ms instead of 63,
    backward 79 ms instead of 135).  The backward pass builds each chunk's
    patches again rather than keeping them all, which also keeps memory small.
    The numbers are the same as Conv2D's: the same products, on fewer rows.
    """

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._pad(x)
        self.padded = x
        kh, kw, _, filters = self.kernel.shape
        rows = output_size(x.shape[1], kh, self.stride)
        cols = output_size(x.shape[2], kw, self.stride)
        z = np.empty((len(x), rows, cols, filters), dtype=x.dtype)
        for chunk, patches in self._chunk_patches(x):
            # z = patches K + b, for this chunk's windows
            np.matmul(patches, self.kernel_matrix, out=z[chunk].reshape(-1, filters))
        z += self.bias
        return z

    def backward(self, z_grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        x = self.padded
        filters = self.kernel.shape[-1]
        kernel_grad = self.kernel_grad.reshape(-1, filters)
        x_grad = np.empty_like(x) if input_grad else None
        for number, (chunk, patches) in enumerate(self._chunk_patches(x)):
            grad = z_grad[chunk].reshape(-1, filters)
            # dL/dK = patches^T dL/dz, summed over the chunks
            if number == 0:
                np.matmul(patches.T, grad, out=kernel_grad)
            else:
                kernel_grad += patches.T @ grad
            if x_grad is not None:
                # dL/dx = col2im(dL/dz K^T), chunk by chunk
                x_grad[chunk] = col2im(grad @ self.kernel_matrix.T, x[chunk].shape,
                                       self.kernel.shape[:2], self.stride)  # fmt: skip
        np.sum(z_grad.reshape(-1, filters), axis=0, out=self.bias_grad)
        if x_grad is None:
            return None
        (top, bottom), (left, right) = self.pads
        return x_grad[:, top : x_grad.shape[1] - bottom, left : x_grad.shape[2] - right]

    buffer: np.ndarray | None = None
    padded: np.ndarray

    def _chunk_patches(self, x: np.ndarray) -> Iterator[tuple[slice, np.ndarray]]:
        """(slice of images, their patch matrix) for each chunk of the batch; the
        patch matrices share one buffer, allocated once per batch size."""
        kh, kw, channels, _ = self.kernel.shape
        windows = output_size(x.shape[1], kh, self.stride) * output_size(
            x.shape[2], kw, self.stride
        )
        row_bytes = kh * kw * channels * x.itemsize
        images = max(1, CHUNK_BYTES // (windows * row_bytes))
        needed = (min(images, len(x)) * windows, kh * kw * channels)
        if self.buffer is None or self.buffer.shape != needed or self.buffer.dtype != x.dtype:
            self.buffer = np.empty(needed, dtype=x.dtype)
        for start in range(0, len(x), images):
            chunk = slice(start, min(start + images, len(x)))
            rows = (chunk.stop - start) * windows
            yield chunk, im2col(x[chunk], (kh, kw), self.stride, out=self.buffer[:rows])
