"""Convolution and max pooling written as loops over output positions: the math, plainly.

These are the reference that the fast layers (conv.py, with im2col.py) are
tested against.  Each loop visits one output position (i, j) and does for the
whole batch what the definition says; they are slow (a Python loop per
position) and never used in training.
"""

from __future__ import annotations

import numpy as np

from digitnet.network.im2col import output_size, same_padding


def _padded(x: np.ndarray, kernel: int, stride: int, padding: str) -> tuple[np.ndarray, tuple]:
    if padding == "valid":
        return x, ((0, 0), (0, 0))
    pads = (same_padding(x.shape[1], kernel, stride), same_padding(x.shape[2], kernel, stride))
    return np.pad(x, ((0, 0), *pads, (0, 0))), pads


def conv_forward_naive(
    x: np.ndarray, kernel: np.ndarray, bias: np.ndarray, stride: int, padding: str
) -> np.ndarray:
    """z[n, i, j, f] = b[f] + sum_{dy, dx, c} x[n, s*i+dy, s*j+dx, c] K[dy, dx, c, f]"""
    size = kernel.shape[0]
    x, _ = _padded(x, size, stride, padding)
    rows, cols = output_size(x.shape[1], size, stride), output_size(x.shape[2], size, stride)
    z = np.zeros((len(x), rows, cols, kernel.shape[3]), dtype=x.dtype)
    for i in range(rows):
        for j in range(cols):
            window = x[:, stride * i : stride * i + size, stride * j : stride * j + size, :]
            z[:, i, j, :] = np.tensordot(window, kernel, axes=3) + bias
    return z


def conv_backward_naive(
    x: np.ndarray, kernel: np.ndarray, stride: int, padding: str, z_grad: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dL/dx, dL/dK, dL/db) for the convolution above, given dL/dz.

    Each output z[n, i, j, f] touched one window: it sends dL/dz times the kernel
    back to that window's pixels, and dL/dz times the window's pixels to the kernel.
    """
    size = kernel.shape[0]
    padded, ((top, bottom), (left, right)) = _padded(x, size, stride, padding)
    padded_grad = np.zeros_like(padded)
    kernel_grad = np.zeros_like(kernel)
    for i in range(z_grad.shape[1]):
        for j in range(z_grad.shape[2]):
            rows = slice(stride * i, stride * i + size)
            cols = slice(stride * j, stride * j + size)
            g = z_grad[:, i, j, :]  # (m, filters)
            # dz/dK[dy, dx, c, f] = x[n, s*i+dy, s*j+dx, c]
            kernel_grad += np.tensordot(padded[:, rows, cols, :], g, axes=([0], [0]))
            # dz/dx[n, s*i+dy, s*j+dx, c] = K[dy, dx, c, f]
            padded_grad[:, rows, cols, :] += np.tensordot(g, kernel, axes=([1], [3]))
    x_grad = padded_grad[:, top : padded.shape[1] - bottom, left : padded.shape[2] - right]
    return x_grad, kernel_grad, z_grad.sum(axis=(0, 1, 2))


def maxpool_forward_naive(x: np.ndarray, size: int, stride: int) -> np.ndarray:
    """a[n, i, j, c] = max of x[n, s*i : s*i+size, s*j : s*j+size, c]"""
    rows, cols = output_size(x.shape[1], size, stride), output_size(x.shape[2], size, stride)
    a = np.zeros((len(x), rows, cols, x.shape[3]), dtype=x.dtype)
    for i in range(rows):
        for j in range(cols):
            window = x[:, stride * i : stride * i + size, stride * j : stride * j + size, :]
            a[:, i, j, :] = window.max(axis=(1, 2))
    return a


def maxpool_backward_naive(x: np.ndarray, size: int, stride: int, a_grad: np.ndarray) -> np.ndarray:
    """dL/dx: each window's gradient goes to its first largest input."""
    x_grad = np.zeros_like(x)
    for n in range(len(x)):
        for i in range(a_grad.shape[1]):
            for j in range(a_grad.shape[2]):
                for c in range(x.shape[3]):
                    window = x[n, stride * i : stride * i + size, stride * j : stride * j + size, c]
                    dy, dx = np.unravel_index(np.argmax(window), window.shape)
                    x_grad[n, stride * i + dy, stride * j + dx, c] += a_grad[n, i, j, c]
    return x_grad
