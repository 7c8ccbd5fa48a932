"""Chunked im2col: a convolution that works through the batch a few images at a time.

Part of the speed step (speed/__init__.py): the same products as the textbook
Conv2D (network/conv.py), on fewer rows at once; tests hold the two equal,
gradients included.
"""

from __future__ import annotations

import math
import threading

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from digitnet.network.conv import Conv2D
from digitnet.network.im2col import col2im, output_size, same_padding
from digitnet.speed.workers import WORKERS, pieces, rows_per_piece, split

CHUNK_BYTES = 1_500_000  # a patch matrix this size stays in the CPU's cache
FEWEST_CHUNKS = 8  # a batch is cut into at least this many chunks, so the workers share it
SHORTEST_ROW = 16  # numbers in a window's row below which patches are copied offset by offset
FEWEST_OFFSETS = 9  # ... if the window has at most this many offsets (3x3)


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

    A chunk's patches are one copy from a view of the whole batch's windows, made
    once per pass (`windows`): im2col's copies and views made afresh for every
    chunk cost tens of microseconds of Python each, and while one worker spent
    them holding Python's lock the other waited for it.

    With stride 1 and at least as many channels in as filters out, dL/dx is
    computed as what it is, a convolution of dL/dz (padded by the kernel's size
    less one) with the kernel flipped, channels and filters swapped
    (docs/math.md): one more im2col and one product, in place of dL/dz K^T and
    col2im's strided additions.  It is computed for x's own pixels only: the
    gradient of the zeros that 'same' padding added is cut off anyway, and
    computing it cost 15% more rows on 28x28 maps, 31% on 14x14 and 65% on 7x7.

    'Same' padding copies each batch into a buffer kept from the last batch,
    whose border of zeros is written once (np.pad makes a fresh array, on one
    core, every time).
    """

    padded: np.ndarray

    def __init__(
        self, kernel: np.ndarray, bias: np.ndarray, stride: int = 1, padding: str = "valid"
    ) -> None:
        super().__init__(kernel, bias, stride, padding)
        self._buffers = threading.local()  # one patch buffer per worker thread

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = self._pad_into_buffer(x)
        self.padded = x
        kh, kw, _, filters = self.kernel.shape
        rows = output_size(x.shape[1], kh, self.stride)
        cols = output_size(x.shape[2], kw, self.stride)
        z = np.empty((len(x), rows, cols, filters), dtype=x.dtype)
        windows = self._windows(x)

        def chunk_forward(chunk: slice) -> None:
            # z = patches K + b, for this chunk's windows
            out = z[chunk].reshape(-1, filters)
            np.matmul(self._patches(windows, chunk), self.kernel_matrix, out=out)
            out += self.bias

        WORKERS.map(chunk_forward, self._chunks(x))
        return z

    def backward(self, z_grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        x = self.padded
        filters = self.kernel.shape[-1]
        channels = self.kernel.shape[2]
        (top, bottom), (left, right) = self.pads
        unpadded = (len(x), x.shape[1] - top - bottom, x.shape[2] - left - right, channels)
        # As a convolution, dL/dx has patches of `filters` numbers per pixel to build, and
        # col2im's product dz K^T writes `channels` per pixel: the smaller work wins.
        by_convolution = input_grad and self.stride == 1 and channels >= filters
        x_grad = None
        if by_convolution:  # computed for the unpadded pixels only: no border to cut off
            x_grad = np.empty(unpadded, dtype=x.dtype)
        elif input_grad:  # col2im adds into every padded pixel; the border is cut off below
            x_grad = np.empty_like(x)
        flipped = self._flipped_kernel() if by_convolution else None
        windows = self._windows(x)
        # dL/dz with a border of zeros (kernel size - 1, less the input's own padding),
        # and its windows (stride 1): one window for each unpadded pixel of x
        grad_windows = self._windows(self._padded_grad(z_grad), 1) if by_convolution else None

        def chunk_backward(chunk: slice) -> np.ndarray:
            grad = z_grad[chunk].reshape(-1, filters)
            if x_grad is not None and flipped is not None and grad_windows is not None:
                # dL/dx = dL/dz, padded, convolved with the flipped kernel
                flat = x_grad[chunk].reshape(-1, x.shape[-1])
                np.matmul(self._patches(grad_windows, chunk), flipped, out=flat)
            elif x_grad is not None:
                # dL/dx = col2im(dL/dz K^T), chunk by chunk, written in place
                patches_grad = self._buffer(
                    "patches_grad", (len(grad), self.kernel_matrix.shape[0]), grad.dtype
                )
                np.matmul(grad, self.kernel_matrix.T, out=patches_grad)
                col2im(patches_grad, x[chunk].shape, self.kernel.shape[:2], self.stride,
                       out=x_grad[chunk])  # fmt: skip
            # this chunk's part of dL/dK = patches^T dL/dz
            return self._patches(windows, chunk).T @ grad

        parts = WORKERS.map(chunk_backward, self._chunks(x))
        kernel_grad = self.kernel_grad.reshape(-1, filters)
        kernel_grad[...] = parts[0]
        for part in parts[1:]:  # in chunk order: the same sum at any thread count
            kernel_grad += part
        np.sum(z_grad.reshape(-1, filters), axis=0, out=self.bias_grad)
        if x_grad is None or by_convolution:
            return x_grad
        return x_grad[:, top : x_grad.shape[1] - bottom, left : x_grad.shape[2] - right]

    def _chunks(self, x: np.ndarray) -> list[slice]:
        """The batch cut into chunks whose patch matrices fit CHUNK_BYTES (shapes only)."""
        kh, kw, channels, _ = self.kernel.shape
        windows = output_size(x.shape[1], kh, self.stride) * output_size(
            x.shape[2], kw, self.stride
        )
        images = max(1, CHUNK_BYTES // (windows * kh * kw * channels * x.itemsize))
        return pieces(len(x), min(images, -(-len(x) // FEWEST_CHUNKS)))

    def _windows(self, x: np.ndarray, stride: int | None = None) -> np.ndarray:
        """Every window of the images x, (m, rows, cols, kh, kw, channels): a view, no
        copy.  Its rows (n, i, j) flattened are im2col's patch matrix."""
        kh, kw = self.kernel.shape[:2]
        step = self.stride if stride is None else stride
        every = sliding_window_view(x, (kh, kw), axis=(1, 2))  # (m, r, c, channels, kh, kw)
        return every[:, ::step, ::step].transpose(0, 1, 2, 4, 5, 3)

    def _patches(self, windows: np.ndarray, chunk: slice) -> np.ndarray:
        """The patch matrix of the images `chunk`, copied from `windows` in one copy
        into this thread's reused buffer (one buffer for each width of patch: x's,
        and the padded gradient's)."""
        images = windows[chunk]  # (images, rows, cols, kh, kw, channels)
        # math.prod, not np.prod: np.prod makes an array of the tuple first, about 10 us
        # of Python's lock a call, three calls a chunk, while the other worker waits.
        rows, width = math.prod(images.shape[:3]), math.prod(images.shape[3:])
        patches = self._buffer("patches", (rows, width), images.dtype)
        target = patches.reshape(images.shape)
        kh, kw, channels = images.shape[3:]
        if kw * channels < SHORTEST_ROW and kh * kw <= FEWEST_OFFSETS:
            # One offset of the window at a time: numpy's innermost loop then runs along
            # a row of the image, not along a window's row of kw * channels numbers
            # (3 for a first layer on grey pixels), where it spends its time starting.
            # Not for larger windows: 25 copies a chunk for 5x5 cost more in handing
            # Python's lock between the workers than the longer loops save.
            for i in range(kh):
                for j in range(kw):
                    target[:, :, :, i, j] = images[:, :, :, i, j]
        else:
            target[...] = images
        return patches

    def _buffer(self, name: str, shape: tuple[int, int], dtype: np.dtype) -> np.ndarray:
        """This thread's reused (rows, width) array called `name`: one for each width
        and dtype, grown as needed: allocated once, not for every chunk."""
        buffers = self._buffers.__dict__.setdefault(name, {})
        rows, width = shape
        buffer = buffers.get((width, dtype))
        if buffer is None or buffer.shape[0] < rows:
            buffer = buffers[(width, dtype)] = np.empty((rows, width), dtype=dtype)
        return buffer[:rows]

    def _pad_into_buffer(self, x: np.ndarray) -> np.ndarray:
        """x with the border of zeros that 'same' padding adds (Conv2D._pad), written into
        a reused buffer whose border stays zero, by the workers a piece each (the same
        numbers as np.pad, without a fresh array and one core's copy every batch)."""
        if self.padding == "valid":
            return x
        kh, kw = self.kernel.shape[:2]
        self.pads = (same_padding(x.shape[1], kh, self.stride),
                     same_padding(x.shape[2], kw, self.stride))  # fmt: skip
        return self._into_bordered("_input_buffer", x, self.pads)

    def _padded_grad(self, z_grad: np.ndarray) -> np.ndarray:
        """dL/dz with the border that makes its stride-1 windows fall one on each
        unpadded pixel of x: kernel size - 1 zeros, less the padding x was given."""
        kh, kw = self.kernel.shape[:2]
        (top, bottom), (left, right) = self.pads
        border = ((kh - 1 - top, kh - 1 - bottom), (kw - 1 - left, kw - 1 - right))
        return self._into_bordered("_grad_buffer", z_grad, border)

    def _into_bordered(self, name: str, a: np.ndarray, border: tuple) -> np.ndarray:
        """`a` (m, h, w, c) copied into the middle of this thread's reused buffer `name`,
        which has `border` ((top, bottom), (left, right)) of zeros around it."""
        (top, bottom), (left, right) = border
        if top == bottom == left == right == 0:
            return a
        m, h, w, c = a.shape
        shape = (m, h + top + bottom, w + left + right, c)
        kept = self._buffers.__dict__.get(name)
        # The same shape may come with another border (stride 2: 7x7 padded (1, 1) and
        # 8x8 padded (0, 1) both make 9x9): a buffer is reused for the same border only.
        if kept is None or kept[1] != border or kept[0].shape != shape or kept[0].dtype != a.dtype:
            kept = self._buffers.__dict__[name] = (np.zeros(shape, dtype=a.dtype), border)
        buffer = kept[0]  # its border is never written again
        middle = buffer[:, top : top + h, left : left + w]

        def copy(piece: slice) -> None:
            middle[piece] = a[piece]

        WORKERS.map(copy, split(m, smallest=rows_per_piece(h * w * c)))
        return buffer

    def _flipped_kernel(self) -> np.ndarray:
        """K turned half a turn in its window, filters and channels swapped, as the
        (kh*kw*filters, channels) matrix of the padded gradient's patches."""
        kh, kw, channels, filters = self.kernel.shape
        flipped = self.kernel[::-1, ::-1].transpose(0, 1, 3, 2)
        return np.ascontiguousarray(flipped).reshape(kh * kw * filters, channels)
