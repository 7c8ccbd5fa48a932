"""Every backward pass is checked against a numerical derivative of its forward pass."""

from __future__ import annotations

import numpy as np
import pytest

from digitnet.network import (
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPool2D,
    Network,
    ReLU,
    SoftmaxCrossEntropy,
    ToImages,
    softmax,
)
from digitnet.network.layers import LeakyReLU, Sigmoid, Tanh

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


def check_layer(layer, x: np.ndarray, rng, training: bool = True) -> None:
    """Every gradient `layer.backward` returns or writes equals a numerical derivative.

    L = sum(layer(x) * upstream), so dL/doutput = upstream: any fixed array will do.
    Dropout draws a new mask at every forward pass; its generator is reset before
    each, so that every pass drops the same entries.
    """

    def forward():
        if isinstance(layer, Dropout):
            layer.rng = np.random.default_rng(3)
        return layer.forward(x, training)

    upstream = rng.normal(size=forward().shape)

    def loss():
        return float(np.sum(forward() * upstream))

    forward()
    input_grad = layer.backward(upstream)
    # Analytic gradients first: the numerical ones run forward again, overwriting state.
    parameter_grads = [grad.copy() for _, grad in layer.parameters()]
    input_grad = input_grad.copy()
    for (param, _), grad in zip(layer.parameters(), parameter_grads):
        assert relative_error(grad, numerical_gradient(loss, param)) < TOLERANCE
    assert relative_error(input_grad, numerical_gradient(loss, x)) < TOLERANCE


def _away_from_kinks(x: np.ndarray) -> np.ndarray:
    x[np.abs(x) < 1e-3] = 0.5  # ReLU has no derivative at 0
    return x


LAYERS = {
    "dense": lambda rng: (Dense(rng.normal(size=(4, 3)), rng.normal(size=3)), (5, 4)),
    "relu": lambda rng: (ReLU(), (6, 5)),
    "leaky_relu": lambda rng: (LeakyReLU(0.1), (6, 5)),
    "tanh": lambda rng: (Tanh(), (6, 5)),
    "sigmoid": lambda rng: (Sigmoid(), (6, 5)),
    "dropout": lambda rng: (Dropout(0.5, seed=3), (6, 5)),
    "to_images": lambda rng: (ToImages(3), (2, 9)),
    "flatten": lambda rng: (Flatten(), (2, 3, 3, 2)),
    "conv_valid": lambda rng: (Conv2D(rng.normal(size=(3, 3, 2, 4)), rng.normal(size=4)),
                               (2, 6, 5, 2)),
    "conv_same_stride2": lambda rng: (Conv2D(rng.normal(size=(3, 3, 2, 3)), rng.normal(size=3),
                                             stride=2, padding="same"), (2, 7, 6, 2)),
    "conv_5x5": lambda rng: (Conv2D(rng.normal(size=(5, 5, 1, 2)), rng.normal(size=2)),
                             (2, 7, 7, 1)),
    "maxpool": lambda rng: (MaxPool2D(2), (2, 6, 4, 3)),
    "maxpool_overlapping": lambda rng: (MaxPool2D(3, 2), (2, 7, 7, 2)),
    "batchnorm_dense": lambda rng: (BatchNorm(rng.normal(size=4), rng.normal(size=4),
                                              np.zeros(4), np.ones(4)), (7, 4)),
    "batchnorm_maps": lambda rng: (BatchNorm(rng.normal(size=3), rng.normal(size=3),
                                             np.zeros(3), np.ones(3)), (3, 4, 4, 3)),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_every_layer_gradient(name, rng):
    """float64 gradient check of every layer kind, parameters and input alike."""
    layer, shape = LAYERS[name](rng)
    x = _away_from_kinks(rng.normal(size=shape))
    check_layer(layer, x, rng)


def test_batchnorm_gradient_at_evaluation(rng):
    """With running statistics (evaluation mode), batch norm is an affine map."""
    layer = BatchNorm(rng.normal(size=3), rng.normal(size=3), rng.normal(size=3),
                      rng.uniform(0.5, 2, size=3))  # fmt: skip
    check_layer(layer, rng.normal(size=(5, 3)), rng, training=False)


def test_whole_cnn_gradient(rng):
    """Every parameter of a small CNN with every layer kind, through the loss."""
    network = Network.build(
        "conv3k3same,bn,relu,pool2,conv4k3,leaky_relu,flatten,dense5,bn,tanh,dense10",
        inputs=64, seed=2, dtype=np.float64,
    )  # fmt: skip
    x = rng.uniform(0, 1, size=(6, 64))
    labels = rng.integers(0, 10, size=6)

    def loss():
        return SoftmaxCrossEntropy.fn(network.forward(x, training=True), labels)

    network.backward(SoftmaxCrossEntropy.delta(network.forward(x, training=True), labels))
    analytic = [grad.copy() for _, grad in network.parameters()]
    assert len(analytic) == 12  # kernel, bias, scale, shift, ...: 6 layers with 2 each
    for (param, _), grad in zip(network.parameters(), analytic):
        numeric = numerical_gradient(loss, param)
        # A bias just before batch norm has gradient 0 (the mean is subtracted out):
        # there, compare absolutely, as the ratio of two roundings means nothing.
        if np.abs(numeric).max() < 1e-9:
            assert np.abs(grad).max() < 1e-12
        else:
            assert relative_error(grad, numeric) < TOLERANCE


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


@pytest.mark.parametrize("smoothing", [0.1, 0.3])
def test_label_smoothing_loss_and_gradient(smoothing, rng):
    """The smoothed loss is cross-entropy against q = (1 - e) one_hot + e / K, written
    out here the long way; its gradient is checked numerically."""
    logits = rng.normal(size=(7, 10)) * 3
    labels = rng.integers(0, 10, size=7)
    loss, delta = SoftmaxCrossEntropy.fn, SoftmaxCrossEntropy.delta
    target = np.full((7, 10), smoothing / 10)
    target[np.arange(7), labels] += 1 - smoothing
    by_definition = -np.mean(np.sum(target * np.log(softmax(logits)), axis=1))
    assert loss(logits, labels, smoothing) == pytest.approx(by_definition, rel=1e-12)
    np.testing.assert_allclose(delta(logits, labels, smoothing), (softmax(logits) - target) / 7,
                               atol=1e-15)  # fmt: skip
    numeric = numerical_gradient(lambda: loss(logits, labels, smoothing), logits)
    assert relative_error(delta(logits, labels, smoothing), numeric) < TOLERANCE
    # Smoothing changes the loss: its minimum is no longer at an infinite margin.
    assert loss(logits, labels, smoothing) != pytest.approx(loss(logits, labels))
    confident = np.where(np.arange(10) == labels[:, None], 50.0, 0.0)
    assert delta(confident, labels).max() < 1e-20  # nothing left to learn
    assert delta(confident, labels, smoothing)[np.arange(7), labels].min() > 0  # pulled back


def test_label_smoothing_outside_0_to_1_is_refused(rng):
    logits, labels = rng.normal(size=(3, 10)), np.array([0, 1, 2])
    for smoothing in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match="label smoothing"):
            SoftmaxCrossEntropy.delta(logits, labels, smoothing)


def test_two_hidden_layer_network_gradients(rng):
    network = Network.build([12, 8, 6, 10], init="he", seed=3, dtype=np.float64)
    x = rng.normal(size=(9, 12))
    labels = rng.integers(0, 10, size=9)

    def loss():
        return SoftmaxCrossEntropy.fn(network.forward(x), labels)

    network.backward(SoftmaxCrossEntropy.delta(network.forward(x), labels))
    for param, grad in network.parameters():
        assert relative_error(grad, numerical_gradient(loss, param)) < TOLERANCE


def test_gradient_check_catches_the_notebooks_scalar_bias_gradient(rng):
    """The check can fail: the notebook's db = sum(dZ) (one scalar for all units) is caught."""
    network = Network.build([6, 5, 10], seed=1, dtype=np.float64)
    x = rng.normal(size=(8, 6))
    labels = rng.integers(0, 10, size=8)
    network.backward(SoftmaxCrossEntropy.delta(network.forward(x), labels))
    output_layer = network.layers[-1]
    notebook_bias_grad = np.full_like(output_layer.bias_grad, output_layer.bias_grad.sum())
    numeric = numerical_gradient(
        lambda: SoftmaxCrossEntropy.fn(network.forward(x), labels), output_layer.bias
    )
    assert relative_error(notebook_bias_grad, numeric) > 1e-2
    assert relative_error(output_layer.bias_grad, numeric) < TOLERANCE


def test_each_backward_writes_fresh_gradients(rng):
    """backward writes the gradient of this batch: a stale one from an earlier batch
    leaves no trace."""
    network = Network.build([6, 5, 10], seed=1, dtype=np.float64)
    x, labels = rng.normal(size=(8, 6)), rng.integers(0, 10, size=8)
    network.backward(SoftmaxCrossEntropy.delta(network.forward(x), labels))
    first = [grad.copy() for _, grad in network.parameters()]
    network.backward(SoftmaxCrossEntropy.delta(network.forward(x * 3 + 1), labels))
    network.backward(SoftmaxCrossEntropy.delta(network.forward(x), labels))
    for (_, grad), expected in zip(network.parameters(), first):
        np.testing.assert_array_equal(grad, expected)


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


@pytest.mark.parametrize(
    "layer", [LeakyReLU(0.1), Tanh(), Sigmoid()], ids=lambda x: type(x).__name__
)
def test_activation_gradients(layer):
    rng = np.random.default_rng(1)
    z = rng.normal(size=(5, 4)) * 2
    z[np.abs(z) < 1e-3] = 0.5
    upstream = rng.normal(size=(5, 4))
    layer.forward(z)
    analytic = layer.backward(upstream)
    numeric = numerical_gradient(lambda: float(np.sum(layer.forward(z) * upstream)), z)
    assert relative_error(analytic, numeric) < 1e-6
