"""Every backward pass is checked against a numerical derivative of its forward pass."""

from __future__ import annotations

import numpy as np
import pytest

from digitnet.network import Dense, Network, ReLU, SoftmaxCrossEntropy, softmax

TOLERANCE = 1e-6


def numerical_gradient(f, array: np.ndarray, step: float = 1e-6) -> np.ndarray:
    """Central differences (f(a + h) - f(a - h)) / 2h, one entry of `array` at a time."""
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + step
        above = f()
        array[index] = saved - step
        below = f()
        array[index] = saved
        grad[index] = (above - below) / (2 * step)
    return grad


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """|a - n| / (|a| + |n|) over the whole array (entry-wise ratios blow up near 0)."""
    scale = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    return float(np.linalg.norm(analytic - numeric) / max(scale, 1e-12))


@pytest.fixture
def rng():
    return np.random.default_rng(42)


def test_dense_gradients(rng):
    x = rng.normal(size=(5, 4))
    layer = Dense(rng.normal(size=(4, 3)), rng.normal(size=3))
    upstream = rng.normal(size=(5, 3))  # stands for dL/dz from above; L = sum(z * upstream)

    def loss():
        return float(np.sum(layer.forward(x) * upstream))

    layer.forward(x)
    layer.zero_grad()
    input_grad = layer.backward(upstream)
    assert relative_error(layer.weight_grad, numerical_gradient(loss, layer.weight)) < TOLERANCE
    assert relative_error(layer.bias_grad, numerical_gradient(loss, layer.bias)) < TOLERANCE
    assert relative_error(input_grad, numerical_gradient(loss, x)) < TOLERANCE


def test_bias_gradient_has_one_entry_per_unit(rng):
    layer = Dense(rng.normal(size=(4, 3)), np.zeros(3))
    layer.forward(rng.normal(size=(6, 4)))
    upstream = rng.normal(size=(6, 3))
    layer.backward(upstream)
    assert layer.bias_grad.shape == (3,)
    np.testing.assert_allclose(layer.bias_grad, upstream.sum(axis=0))


def test_relu_gradient(rng):
    z = rng.normal(size=(6, 5))
    z[np.abs(z) < 1e-3] = 0.5  # keep away from the kink at 0, where there is no derivative
    layer = ReLU()
    upstream = rng.normal(size=(6, 5))

    def loss():
        return float(np.sum(layer.forward(z) * upstream))

    layer.forward(z)
    assert relative_error(layer.backward(upstream), numerical_gradient(loss, z)) < TOLERANCE


def test_softmax_cross_entropy_gradient(rng):
    logits = rng.normal(size=(7, 10)) * 3
    labels = rng.integers(0, 10, size=7)
    analytic = SoftmaxCrossEntropy.delta(logits, labels)
    numeric = numerical_gradient(lambda: SoftmaxCrossEntropy.fn(logits, labels), logits)
    assert relative_error(analytic, numeric) < TOLERANCE


def test_two_hidden_layer_network_gradients(rng):
    network = Network.build([12, 8, 6, 10], init="he", seed=3, dtype=np.float64)
    x = rng.normal(size=(9, 12))
    labels = rng.integers(0, 10, size=9)

    def loss():
        return SoftmaxCrossEntropy.fn(network.forward(x), labels)

    network.zero_grad()
    network.backward(SoftmaxCrossEntropy.delta(network.forward(x), labels))
    for param, grad in network.parameters():
        assert relative_error(grad, numerical_gradient(loss, param)) < TOLERANCE


def test_gradient_check_catches_the_notebooks_scalar_bias_gradient(rng):
    """The check can fail: the notebook's db = sum(dZ) (one scalar for all units) is caught."""
    network = Network.build([6, 5, 10], seed=1, dtype=np.float64)
    x = rng.normal(size=(8, 6))
    labels = rng.integers(0, 10, size=8)
    network.zero_grad()
    network.backward(SoftmaxCrossEntropy.delta(network.forward(x), labels))
    output_layer = network.dense_layers[-1]
    notebook_bias_grad = np.full_like(output_layer.bias_grad, output_layer.bias_grad.sum())
    numeric = numerical_gradient(
        lambda: SoftmaxCrossEntropy.fn(network.forward(x), labels), output_layer.bias
    )
    assert relative_error(notebook_bias_grad, numeric) > 1e-2
    assert relative_error(output_layer.bias_grad, numeric) < TOLERANCE


def test_gradients_accumulate_until_zeroed(rng):
    """backward adds to the gradient buffers; two half batches equal one full batch."""
    network = Network.build([6, 5, 10], seed=1, dtype=np.float64)
    x, labels = rng.normal(size=(8, 6)), rng.integers(0, 10, size=8)
    network.zero_grad()
    network.backward(SoftmaxCrossEntropy.delta(network.forward(x), labels))
    whole = [grad.copy() for _, grad in network.parameters()]
    network.zero_grad()
    for half in (slice(0, 4), slice(4, 8)):
        network.backward(SoftmaxCrossEntropy.delta(network.forward(x[half]), labels[half]) / 2)
    for (_, grad), expected in zip(network.parameters(), whole):
        np.testing.assert_allclose(grad, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_is_stable_for_huge_logits(dtype):
    logits = np.array([[1e4, -1e4, 0.0] + [0.0] * 7, [-1e4, 1e4, 0.0] + [0.0] * 7], dtype=dtype)
    labels = np.array([0, 0])
    # Any overflow, division by zero or nan fails the test (exp(-2e4) -> 0 is fine).
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        probabilities = softmax(logits)
        loss = SoftmaxCrossEntropy.fn(logits, labels)
        grad = SoftmaxCrossEntropy.delta(logits, labels)
    assert np.all(np.isfinite(probabilities)) and np.all(np.isfinite(grad))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-6)
    # Example 0 is right with a huge margin (loss 0); example 1 wrong by 2e4 (loss 2e4).
    assert loss == pytest.approx((0 + 2e4) / 2, rel=1e-6)
    np.testing.assert_allclose(grad[0], 0, atol=1e-7)
    np.testing.assert_allclose(grad[1, :2], [-0.5, 0.5], atol=1e-7)


def test_float32_by_default_float64_on_request():
    assert Network.build([4, 3, 10]).dtype == np.float32
    assert Network.build([4, 3, 10], dtype=np.float64).dtype == np.float64


def test_uniform_init_matches_the_notebook_range():
    network = Network.build([784, 10, 10], init="uniform", seed=0)
    for param, _ in network.parameters():
        assert param.min() >= -0.5 and param.max() < 0.5
        assert abs(param.mean()) < 0.1  # centred, not rand() in 0..1


def test_he_init_scale():
    weight = Network.build([784, 512, 10], init="he", seed=0).dense_layers[0].weight
    assert weight.std() == pytest.approx(np.sqrt(2 / 784), rel=0.02)


def _images_with_blank_border(rng, rows: int) -> np.ndarray:
    """6x6 'images' inked only in the middle 4x4, as MNIST digits leave borders blank."""
    x = np.zeros((rows, 6, 6))
    x[:, 1:5, 1:5] = rng.uniform(0, 1, size=(rows, 4, 4)) * (rng.random((rows, 4, 4)) < 0.7)
    return x.reshape(rows, 36)


def test_skipping_blank_inputs_changes_nothing(rng):
    """The first layer's shortcut (products over inked inputs only) is exact:
    the same logits and the same gradients as the full products, also when
    gradients accumulate over two batches with different blank columns."""
    x = _images_with_blank_border(rng, 10)
    x[5:, 1:5] = 0  # the second half leaves more inputs blank than the first
    labels = rng.integers(0, 10, size=10)
    results = []
    for skip in (False, True):
        network = Network.build([36, 7, 10], seed=2, dtype=np.float64)
        network.dense_layers[0].skip_blank_inputs = skip
        network.zero_grad()
        for half in (slice(0, 5), slice(5, 10)):
            logits = network.forward(x[half], training=True)
            network.backward(SoftmaxCrossEntropy.delta(logits, labels[half]))
        results.append((logits, [grad.copy() for _, grad in network.parameters()]))
    assert network.dense_layers[0].columns is not None  # the shortcut was taken
    (plain_logits, plain_grads), (skip_logits, skip_grads) = results
    np.testing.assert_allclose(skip_logits, plain_logits, rtol=1e-12)
    for skip_grad, plain_grad in zip(skip_grads, plain_grads):
        np.testing.assert_allclose(skip_grad, plain_grad, rtol=1e-12, atol=1e-15)


def test_gradients_through_the_blank_input_shortcut(rng):
    network = Network.build([36, 8, 10], seed=4, dtype=np.float64)
    x = _images_with_blank_border(rng, 9)
    labels = rng.integers(0, 10, size=9)

    def loss():
        return SoftmaxCrossEntropy.fn(network.forward(x), labels)

    # A stale gradient from an earlier batch must not leak into the blank rows.
    network.zero_grad()
    network.backward(SoftmaxCrossEntropy.delta(network.forward(rng.normal(size=(9, 36))), labels))
    network.zero_grad()
    network.backward(SoftmaxCrossEntropy.delta(network.forward(x), labels))
    assert network.dense_layers[0].columns is not None
    for param, grad in network.parameters():
        assert relative_error(grad, numerical_gradient(loss, param)) < TOLERANCE
