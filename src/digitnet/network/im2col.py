"""Convolution as one matrix product: im2col, and its adjoint col2im.

A convolution slides a kh x kw window over the image; at every position it
multiplies the window's pixels (all channels) by the kernel and adds them up.
If each window is copied out as one row of a matrix (im2col: "image to
columns"), all the positions are computed by a single matrix product:

    patches[(n, i, j), (dy, dx, c)] = x[n, s*i + dy, s*j + dx, c]
    z = patches @ K.reshape(kh*kw*channels, filters)

so a convolution is a Dense layer applied to every patch, and its backward
pass is Dense's, plus one step: the gradient of the patch matrix is sent back
to the pixels it was copied from (col2im).  A pixel that appears in several
windows receives the sum of their gradients: col2im is the adjoint (the
transpose) of im2col, and docs/math.md derives it.

Both work on the whole batch at once with a few strided slice copies (or
additions), rather than a loop over the output positions (conv_naive.py does
that, and the tests hold the two equal).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def output_size(size: int, kernel: int, stride: int) -> int:
    """How many window positions fit along a side of `size` pixels (no padding)."""
    return (size - kernel) // stride + 1


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """Zeros to add before and after a side so that the output has ceil(size / stride)
    positions ('same' padding; the odd one goes after, as TensorFlow does)."""
    wanted = -(-size // stride)
    total = max((wanted - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def im2col(
    x: np.ndarray, kernel: tuple[int, int], stride: int, out: np.ndarray | None = None
) -> np.ndarray:
    """The patch matrix of images x (m, height, width, channels), already padded.

    Returns (m * out_height * out_width, kh * kw * channels): row (n, i, j) holds
    the window whose top-left pixel is (s*i, s*j), ordered (dy, dx, channel).
    `out`, if given, is a buffer of that size to write into (saves allocating
    and touching fresh memory at every batch).
    """
    m, height, width, channels = x.shape
    kh, kw = kernel
    rows, cols = output_size(height, kh, stride), output_size(width, kw, stride)
    if out is None:
        out = np.empty((m * rows * cols, kh * kw * channels), dtype=x.dtype)
    patches = out.reshape(m, rows, cols, kh, kw * channels)
    # Channels-last, the kw pixels of one window row and all their channels are
    # one contiguous run of kw*channels numbers: a view with one such run per
    # (image, row, window column), each starting `channels` numbers after the last.
    runs = sliding_window_view(x.reshape(m, height, width * channels), kw * channels, axis=2)
    runs = runs[:, :, : stride * cols * channels : stride * channels]
    for dy in range(kh):  # one copy per kernel row: its run in every window at once
        patches[:, :, :, dy, :] = runs[:, dy : dy + stride * rows : stride]
    return out


def col2im(
    patches_grad: np.ndarray,
    shape: tuple[int, ...],
    kernel: tuple[int, int],
    stride: int,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """The adjoint of im2col: dL/dx (shape, padded) from dL/dpatches.

    Each patch entry was copied from one pixel, so its gradient is added back
    to that pixel; pixels shared by overlapping windows sum their gradients.
    `out`, if given, is a contiguous array of `shape` to write dL/dx into.
    """
    m, height, width, channels = shape
    kh, kw = kernel
    rows, cols = output_size(height, kh, stride), output_size(width, kw, stride)
    windows = patches_grad.reshape(m, rows, cols, kh, kw * channels)
    if out is None:
        x_grad = np.zeros(shape, dtype=patches_grad.dtype)
    else:
        x_grad = out
        x_grad[...] = 0
    # The same contiguous runs as in im2col, now to add into.  Runs of neighbouring
    # windows overlap, and one addition must not write a number twice, so the
    # windows are taken in `apart` groups: columns first, first + apart, ...,
    # whose runs are disjoint.
    runs = sliding_window_view(
        x_grad.reshape(m, height, width * channels), kw * channels, axis=2, writeable=True
    )
    apart = -(-kw // stride)  # windows this many columns apart do not overlap
    for dy in range(kh):
        for first in range(apart):
            target = runs[:, dy : dy + stride * rows : stride,
                          first * stride * channels : stride * cols * channels
                          : apart * stride * channels]  # fmt: skip
            target += windows[:, :, first::apart, dy, :]
    return x_grad
