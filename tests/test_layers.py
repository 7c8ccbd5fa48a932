"""Each layer's forward against its definition (convolution, pooling, batch norm,
activations, dropout), initial weights, and layer specs.  Gradients: test_gradients.py;
the speed step: test_speed.py; the layer protocol and random specs: test_layer_protocol.py."""

from __future__ import annotations

import numpy as np
import pytest

from digitnet.errors import DigitnetError
from digitnet.network import (
    BatchNorm,
    Conv2D,
    MaxPool2D,
    Network,
    format_layers,
    parse_layers,
)
from digitnet.network.conv_naive import (
    conv_backward_naive,
    conv_forward_naive,
    maxpool_backward_naive,
    maxpool_forward_naive,
)
from digitnet.network.layers import Dropout, Sigmoid
from digitnet.network.spec import as_mlp, mlp_layers


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_conv_equals_the_loop_definition(size, padding, stride, dtype):
    """im2col's one matrix product = a loop over output positions, forward and backward."""
    rng = np.random.default_rng(size * 100 + stride)
    x = rng.normal(size=(3, 9, 8, 2)).astype(dtype)
    kernel = rng.normal(size=(size, size, 2, 4)).astype(dtype)
    bias = rng.normal(size=4).astype(dtype)
    layer = Conv2D(kernel.copy(), bias.copy(), stride, padding)
    z = layer.forward(x)
    expected = conv_forward_naive(x, kernel, bias, stride, padding)
    assert z.shape == expected.shape and z.dtype == dtype
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(z, expected, rtol=tolerance, atol=tolerance)
    z_grad = rng.normal(size=z.shape).astype(dtype)
    x_grad = layer.backward(z_grad)
    naive_x_grad, naive_kernel_grad, naive_bias_grad = conv_backward_naive(
        x, kernel, stride, padding, z_grad
    )
    assert x_grad.shape == x.shape
    np.testing.assert_allclose(x_grad, naive_x_grad, rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(layer.kernel_grad, naive_kernel_grad, rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(layer.bias_grad, naive_bias_grad, rtol=tolerance, atol=tolerance)


def test_same_padding_keeps_the_size_and_stride_divides_it():
    x = np.ones((1, 28, 28, 1))
    assert Conv2D(np.ones((3, 3, 1, 2)), np.zeros(2), 1, "same").forward(x).shape == (1, 28, 28, 2)
    assert Conv2D(np.ones((3, 3, 1, 2)), np.zeros(2), 2, "same").forward(x).shape == (1, 14, 14, 2)
    assert Conv2D(np.ones((5, 5, 1, 2)), np.zeros(2), 1, "valid").forward(x).shape == (1, 24, 24, 2)


@pytest.mark.parametrize(("size", "stride"), [(2, 2), (3, 2), (2, 1), (3, 3)])
def test_maxpool_equals_the_loop_definition(size, stride):
    rng = np.random.default_rng(size + 10 * stride)
    x = rng.normal(size=(2, 9, 8, 3))
    x[0, :4, :4, 0] = 1.0  # ties: the first maximum takes the gradient, as in PyTorch
    layer = MaxPool2D(size, stride)
    a = layer.forward(x)
    np.testing.assert_array_equal(a, maxpool_forward_naive(x, size, stride))
    a_grad = rng.normal(size=a.shape)
    np.testing.assert_allclose(
        layer.backward(a_grad), maxpool_backward_naive(x, size, stride, a_grad)
    )


def test_maxpool_sends_each_window_gradient_to_one_input_only():
    x = np.zeros((1, 2, 2, 1))  # all four tie
    layer = MaxPool2D(2)
    layer.forward(x)
    grad = layer.backward(np.ones((1, 1, 1, 1)))
    assert grad.sum() == 1.0 and grad[0, 0, 0, 0] == 1.0


def test_batchnorm_normalises_in_training_and_uses_running_averages_after():
    rng = np.random.default_rng(0)
    layer = BatchNorm.create(3, np.dtype(np.float64))
    x = rng.normal(loc=[1.0, -2.0, 5.0], scale=[1.0, 3.0, 0.5], size=(4000, 3))
    y = layer.forward(x, training=True)
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(y.std(axis=0), 1, atol=1e-3)
    for _ in range(100):  # running averages converge to the data's statistics
        layer.forward(x, training=True)
    np.testing.assert_allclose(layer.running_mean, x.mean(axis=0), rtol=1e-4)  # 0.9^100 left
    np.testing.assert_allclose(layer.running_var, x.var(axis=0, ddof=1), rtol=1e-4)
    single = layer.forward(x[:1], training=False)  # one image alone: no batch statistics
    np.testing.assert_allclose(single, y[:1], atol=1e-3)


def test_batchnorm_of_feature_maps_is_per_channel():
    rng = np.random.default_rng(1)
    layer = BatchNorm.create(2, np.dtype(np.float64))
    x = rng.normal(size=(5, 4, 4, 2)) * [1.0, 10.0] + [0.0, 7.0]
    y = layer.forward(x, training=True)
    np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 1, 2)), 1, rtol=1e-4)


SPECS = [
    "dense10",
    "dense256,relu,dense10",
    "dense1024,relu,dropout0.4,dense1024,relu,dropout0.4,dense10",
    "image,conv32k5,relu,pool2,conv64k5,relu,pool2,flatten,dense128,relu,dense10",
    "image,conv32k3same,bn,relu,conv32k3s2same,bn,leaky_relu,pool3s2,flatten,dense10",
    "image,conv8k3s2,tanh,pool2s1,flatten,dense64,bn,sigmoid,dense10",
]


@pytest.mark.parametrize("text", SPECS)
def test_layer_specs_round_trip_exactly(text):
    specs = parse_layers(text)
    assert format_layers(specs) == text
    assert parse_layers(format_layers(specs)) == specs
    assert Network.build(text).layer_spec == text


def test_image_and_flatten_are_put_in_where_needed():
    short = "conv32k5, relu, pool2, dense128, relu, dense10"
    assert format_layers(parse_layers(short)) == (
        "image,conv32k5,relu,pool2,flatten,dense128,relu,dense10"
    )
    network = Network.build(short)
    assert network.forward(np.zeros((3, 784), np.float32)).shape == (3, 10)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dense128,relu", "last layer must be dense10"),
        ("conv32k5,relu,dense7", "last layer must be dense10"),
        ("dense128,wobble,dense10", "layer 'wobble' is not one digitnet knows"),
        ("conv32k29,dense10", "window does not fit the 28x28 maps"),
        ("conv8k5,pool2,conv8k5,pool2,conv8k5,dense10", "does not fit"),
        ("dense64,conv8k3,dense10", "needs feature maps"),
        # rows of a square number: the layer that makes them maps is named, with the size
        ("bn,conv8k3,dense10", r"follows rows of 784; put 'image' before it \(28x28 maps\)"),
        ("dense10,image,dense10", "layer 'image': 10 inputs are not a square image"),
        ("dropout1.5,dense10", "dropout rate"),
        ("conv0k3,dense10", "at least 1"),
        ("", "no layers given"),
    ],
)
def test_bad_layer_specs_say_what_is_wrong(text, message):
    with pytest.raises(DigitnetError, match=message):
        parse_layers(text)


def test_mlp_shorthand_reads_back():
    text = mlp_layers((512, 256), "tanh", 0.2)
    assert text == "dense512,tanh,dropout0.2,dense256,tanh,dropout0.2,dense10"
    mlp = as_mlp(text)
    assert mlp is not None and (mlp.hidden, mlp.activation, mlp.dropout) == (
        (512, 256),
        "tanh",
        0.2,
    )
    assert as_mlp("conv8k3,relu,dense10") is None
    assert as_mlp("dense64,bn,relu,dense10") is None


def test_sigmoid_is_stable_for_huge_inputs():
    with np.errstate(over="raise", invalid="raise"):
        out = Sigmoid().forward(np.array([[-1e4, 0.0, 1e4]]))
    np.testing.assert_allclose(out, [[0.0, 0.5, 1.0]])


def test_dropout_is_off_at_evaluation_and_unbiased_in_training():
    x = np.ones((2000, 50), dtype=np.float32)
    layer = Dropout(0.3, seed=0)
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    dropped = layer.forward(x, training=True)
    assert abs(np.mean(dropped == 0) - 0.3) < 0.01
    assert abs(dropped.mean() - 1.0) < 0.01  # E[output] = input
    grad = layer.backward(np.ones_like(x))
    np.testing.assert_array_equal(grad == 0, dropped == 0)


def test_network_with_dropout_predicts_as_if_dropout_were_not_there():
    """At evaluation dropout passes everything: the same network without its dropout
    layers (the same weights) gives the same probabilities, while training passes differ."""
    network = Network.build([20, 16, 10], dropout=0.5, seed=0)
    assert network.layer_spec == "dense16,relu,dropout0.5,dense10"
    plain = Network.build([20, 16, 10], seed=0)
    plain.set_arrays({name.replace("layer3_", "layer2_"): array
                      for name, array in network.arrays().items()})  # fmt: skip
    x = np.random.default_rng(0).random((8, 20), dtype=np.float32)
    np.testing.assert_array_equal(network.predict_proba(x), plain.predict_proba(x))
    first, second = network.forward(x, training=True), network.forward(x, training=True)
    assert not np.array_equal(first, second)  # fresh masks each training pass


def test_float32_by_default_float64_on_request():
    assert Network.build([4, 3, 10]).dtype == np.float32
    assert Network.build([4, 3, 10], dtype=np.float64).dtype == np.float64


def test_uniform_init_matches_the_notebook_range():
    network = Network.build([784, 10, 10], init="uniform", seed=0)
    for param, _ in network.parameters():
        assert param.min() >= -0.5 and param.max() < 0.5
        assert abs(param.mean()) < 0.1  # centred, not rand() in 0..1


def test_he_init_scale():
    weight = Network.build([784, 512, 10], init="he", seed=0).layers[0].weight
    assert weight.std() == pytest.approx(np.sqrt(2 / 784), rel=0.02)


def test_he_init_of_a_kernel_uses_its_fan_in():
    """A 5x5 kernel over 32 channels has fan-in 5*5*32 = 800."""
    kernel = Network.build("conv32k5,relu,conv64k5,relu,dense10", seed=0).layers[3].kernel
    assert kernel.shape == (5, 5, 32, 64)
    assert kernel.std() == pytest.approx(np.sqrt(2 / 800), rel=0.02)


def test_glorot_init_range():
    weight = Network.build([300, 200, 10], init="glorot").layers[0].weight
    limit = np.sqrt(6 / 500)
    assert weight.min() >= -limit and weight.max() <= limit and weight.std() > limit / 2
