"""Chunked im2col: a convolution that works through the batch a few images at a time.

Part of the speed step (speed/__init__.py): the same products as the textbook
Conv2D (network/conv.py), on fewer rows at once; tests hold the two equal,
gradients included.
"""

from __future__ import annotations

import threading

import numpy as np

from digitnet.network.conv import Conv2D
from digitnet.network.im2col import col2im, im2col, output_size
from digitnet.speed.workers import WORKERS, pieces

CHUNK_BYTES = 1_500_000  # a patch matrix this size stays in the CPU's cache
FEWEST_CHUNKS = 8  # a batch is cut into at least this many chunks, so the workers share it


class ChunkedConv2D(Conv2D):
    """A Conv2D that works through the batch a few images at a time.

    The patch matrix of a whole batch is large (128 images of 26x26x32 make
    85 MB for a 3x3 kernel): written once by im2col and read again by the
    matrix product, it goes out to main memory and back.  Cut into chunks of
    about CHUNK_BYTES, each chunk's patches are still in the cache when the
    product reads them.  The backward pass builds each chunk's patches again
    rather than keeping them all, which also keeps memory small.

    The chunks are also what the workers share out (workers.py): each chunk's
    forward and its dL/dx are its own, and the kernel's gradient is the sum of
    the chunks' parts, added in chunk order whatever the number of threads.

    With stride 1 and at least as many channels in as filters out, dL/dx is
    computed as what it is, a convolution of dL/dz (padded by the kernel's size
    less one) with the kernel flipped, channels and filters swapped
    (docs/math.md): one more im2col and one product, in place of dL/dz K^T and
    col2im's strided additions.
    """

    padded: np.ndarray

    def __init__(
        self, kernel: np.ndarray, bias: np.ndarray, stride: int = 1, padding: str = "valid"
    ) -> None:
        super().__init__(kernel, bias, stride, padding)
        self._buffers = threading.local()  # one patch buffer per worker thread

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._pad(x)
        self.padded = x
        kh, kw, _, filters = self.kernel.shape
        rows = output_size(x.shape[1], kh, self.stride)
        cols = output_size(x.shape[2], kw, self.stride)
        z = np.empty((len(x), rows, cols, filters), dtype=x.dtype)

        def chunk_forward(chunk: slice) -> None:
            # z = patches K + b, for this chunk's windows
            out = z[chunk].reshape(-1, filters)
            np.matmul(self._patches(x, chunk), self.kernel_matrix, out=out)
            out += self.bias

        WORKERS.map(chunk_forward, self._chunks(x))
        return z

    def backward(self, z_grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        x = self.padded
        filters = self.kernel.shape[-1]
        x_grad = np.empty_like(x) if input_grad else None

        channels = self.kernel.shape[2]
        # As a convolution, dL/dx has patches of `filters` numbers per pixel to build, and
        # col2im's product dz K^T writes `channels` per pixel: the smaller work wins.
        by_convolution = x_grad is not None and self.stride == 1 and channels >= filters
        flipped = self._flipped_kernel() if by_convolution else None

        def chunk_backward(chunk: slice) -> np.ndarray:
            grad = z_grad[chunk].reshape(-1, filters)
            if x_grad is not None and flipped is not None:
                # dL/dx = dL/dz, padded, convolved with the flipped kernel
                padded = self._padded_grad(z_grad[chunk])
                flat = x_grad[chunk].reshape(-1, x.shape[-1])
                np.matmul(self._patches(padded, slice(0, len(padded))), flipped, out=flat)
            elif x_grad is not None:
                # dL/dx = col2im(dL/dz K^T), chunk by chunk
                x_grad[chunk] = col2im(grad @ self.kernel_matrix.T, x[chunk].shape,
                                       self.kernel.shape[:2], self.stride)  # fmt: skip
            # this chunk's part of dL/dK = patches^T dL/dz
            return self._patches(x, chunk).T @ grad

        parts = WORKERS.map(chunk_backward, self._chunks(x))
        kernel_grad = self.kernel_grad.reshape(-1, filters)
        kernel_grad[...] = parts[0]
        for part in parts[1:]:  # in chunk order: the same sum at any thread count
            kernel_grad += part
        np.sum(z_grad.reshape(-1, filters), axis=0, out=self.bias_grad)
        if x_grad is None:
            return None
        (top, bottom), (left, right) = self.pads
        return x_grad[:, top : x_grad.shape[1] - bottom, left : x_grad.shape[2] - right]

    def _chunks(self, x: np.ndarray) -> list[slice]:
        """The batch cut into chunks whose patch matrices fit CHUNK_BYTES (shapes only)."""
        kh, kw, channels, _ = self.kernel.shape
        windows = output_size(x.shape[1], kh, self.stride) * output_size(
            x.shape[2], kw, self.stride
        )
        images = max(1, CHUNK_BYTES // (windows * kh * kw * channels * x.itemsize))
        return pieces(len(x), min(images, -(-len(x) // FEWEST_CHUNKS)))

    def _patches(self, x: np.ndarray, chunk: slice) -> np.ndarray:
        """The patch matrix of the images `chunk`, in this thread's reused buffer
        (one buffer for each width of patch: x's, and the padded gradient's)."""
        kh, kw = self.kernel.shape[:2]
        channels = x.shape[-1]
        windows = output_size(x.shape[1], kh, self.stride) * output_size(
            x.shape[2], kw, self.stride
        )
        rows, width = (chunk.stop - chunk.start) * windows, kh * kw * channels
        buffers = self._buffers.__dict__.setdefault("patches", {})
        buffer = buffers.get((width, x.dtype))
        if buffer is None or buffer.shape[0] < rows:
            buffer = buffers[(width, x.dtype)] = np.empty((rows, width), dtype=x.dtype)
        return im2col(x[chunk], (kh, kw), self.stride, out=buffer[:rows])

    def _padded_grad(self, z_grad: np.ndarray) -> np.ndarray:
        """dL/dz with a border of kernel size - 1 zeros, in this thread's reused buffer."""
        kh, kw = self.kernel.shape[:2]
        shape = (len(z_grad), z_grad.shape[1] + 2 * (kh - 1), z_grad.shape[2] + 2 * (kw - 1),
                 z_grad.shape[3])  # fmt: skip
        buffers = self._buffers.__dict__.setdefault("padded", {})
        buffer = buffers.get(z_grad.dtype)
        if buffer is None or buffer.shape[0] < shape[0] or buffer.shape[1:] != shape[1:]:
            buffer = buffers[z_grad.dtype] = np.zeros(shape, dtype=z_grad.dtype)
        padded = buffer[: shape[0]]
        padded[:, kh - 1 : shape[1] - kh + 1, kw - 1 : shape[2] - kw + 1] = z_grad
        return padded

    def _flipped_kernel(self) -> np.ndarray:
        """K turned half a turn in its window, filters and channels swapped, as the
        (kh*kw*filters, channels) matrix of the padded gradient's patches."""
        kh, kw, channels, filters = self.kernel.shape
        flipped = self.kernel[::-1, ::-1].transpose(0, 1, 3, 2)
        return np.ascontiguousarray(flipped).reshape(kh * kw * filters, channels)
