"""Steps of docs/math.md that are claims about numbers, held by computation.

- a convolution's input gradient is the transposed convolution: a stride-1
  convolution of the stride-dilated, padded dz with the flipped kernel;
- Nesterov momentum in the code's form is Sutskever's look-ahead form after the
  change of variables W = theta + momentum * Delta;
- the page's tables (Adam's bias correction over t, the saturating derivatives of
  sigmoid and tanh) equal their formulas.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from digitnet.network import Conv2D
from digitnet.network.conv_naive import conv_forward_naive
from digitnet.training.optimizer import SGD

MATH = Path(__file__).resolve().parent.parent / "docs" / "math.md"


@pytest.mark.parametrize(("size", "stride", "height"), [(3, 1, 7), (3, 2, 9), (2, 2, 8), (3, 2, 8)])
def test_input_gradient_is_the_flipped_kernel_convolution_of_dilated_dz(size, stride, height):
    rng = np.random.default_rng(0)
    channels, filters = 2, 3
    kernel = rng.normal(size=(size, size, channels, filters))
    layer = Conv2D(kernel, np.zeros(filters), stride=stride, padding="valid")
    x = rng.normal(size=(2, height, height, channels))
    z = layer.forward(x)
    dz = rng.normal(size=z.shape)
    dx = layer.backward(dz)

    rows = z.shape[1]
    dilated = np.zeros((2, (rows - 1) * stride + 1, (rows - 1) * stride + 1, filters))
    dilated[:, ::stride, ::stride, :] = dz  # s - 1 zeros between neighbours
    pad = size - 1
    padded = np.pad(dilated, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    flipped = kernel[::-1, ::-1].transpose(0, 1, 3, 2)  # K_flip[ky', kx', f, c]
    transposed = conv_forward_naive(padded, flipped, np.zeros(channels), 1, "valid")
    covered = (rows - 1) * stride + size  # rows of x that some window covers
    assert transposed.shape[1] == covered
    np.testing.assert_allclose(dx[:, :covered, :covered], transposed, rtol=1e-12, atol=1e-12)
    assert not dx[:, covered:].any() and not dx[:, :, covered:].any()  # in no window: 0


def test_nesterov_is_sutskevers_look_ahead_after_the_change_of_variables():
    rng = np.random.default_rng(1)
    root = rng.normal(size=(4, 4))
    hessian = root @ root.T + np.eye(4)  # L(w) = 1/2 w^T H w - target^T w
    target = rng.normal(size=4)

    def gradient(w):
        return hessian @ w - target

    learning_rate, momentum = 0.05, 0.9
    weights, grad = rng.normal(size=4), np.zeros(4)
    optimizer = SGD([(weights, grad)], learning_rate, momentum=momentum, nesterov=True)
    theta, delta = weights.copy(), np.zeros(4)  # W_0 = theta_0 + momentum * 0
    for _ in range(30):
        grad[...] = gradient(weights)
        optimizer.step()
        delta = momentum * delta - learning_rate * gradient(theta + momentum * delta)
        theta = theta + delta
        np.testing.assert_allclose(weights, theta + momentum * delta, rtol=1e-12, atol=1e-12)


def _table_after(header_start: str) -> list[list[str]]:
    """The cells of the Markdown table whose header row starts with `header_start`."""
    lines = MATH.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    assert rows, f"no rows under {header_start!r}"
    return rows


def _agrees(written: str, exact: float) -> bool:
    """`written` is `exact` rounded to the digits the page shows: 6.53, 0.005, 8.2e-9."""
    mantissa, _, exponent = written.partition("e")
    decimals = len(mantissa.partition(".")[2])
    tolerance = 0.5 * 10.0 ** (-decimals) * 10.0 ** int(exponent or 0)
    return abs(float(written) - exact) <= tolerance * (1 + 1e-9)


def test_adam_bias_correction_table_matches_its_formula():
    rows = _table_after("| t | 1 - rho1^t")
    assert [row[0] for row in rows][:2] == ["1", "2"] and len(rows) >= 6
    for step, first, second, ratio in rows:
        t = int(step)
        exact1, exact2 = 1 - 0.9**t, 1 - 0.999**t
        assert _agrees(first, exact1) and _agrees(second, exact2), t
        assert _agrees(ratio, exact1 / np.sqrt(exact2)), t


def test_saturation_table_matches_the_derivatives():
    rows = _table_after("| z | sigmoid'(z)")
    for value, sigmoid_slope, tanh_slope in rows:
        z = float(value)
        a = 1 / (1 + np.exp(-z))
        assert _agrees(sigmoid_slope, a * (1 - a)), z
        assert _agrees(tanh_slope, 1 - np.tanh(z) ** 2), z
