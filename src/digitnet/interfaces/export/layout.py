"""A digitnet network as channels-first steps: what ONNX and PyTorch compute, in their layout.

digitnet and PyTorch/ONNX hold the same numbers in different orders:

    feature maps   digitnet (m, height, width, channels)   ONNX/PyTorch (m, channels, height, width)
    conv kernels   digitnet (kh, kw, channels, filters)    ONNX/PyTorch (filters, channels, kh, kw)
    Dense weights  digitnet (inputs, units): z = x W        PyTorch Linear (units, inputs): x W^T
    flatten        digitnet flattens (height, width, channels) in that order

so `channels_first_steps` moves the kernels' axes, transposes the Dense weights,
turns 'same' padding into explicit zero borders (the odd pixel after, as digitnet
pads), and flattens by first moving the channels last again: the Dense layer after a
flatten then reads its inputs in digitnet's order and its weights need no reordering.
Nothing here imports torch or onnx; the exporters and benchmarks/torch_twin.py build
their graphs from these steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from digitnet.errors import DigitnetError
from digitnet.network.batchnorm import BatchNorm
from digitnet.network.conv import Conv2D, MaxPool2D
from digitnet.network.im2col import same_padding
from digitnet.network.layers import (
    Dense,
    Dropout,
    Flatten,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Tanh,
    ToImages,
)
from digitnet.network.network import Network
from digitnet.network.spec import output_shape

ACTIVATION_KINDS = {ReLU: "relu", Tanh: "tanh", Sigmoid: "sigmoid"}


@dataclass
class Step:
    """One operation in channels-first layout.

    kind: divide, to_images, pad, conv, max_pool, batch_norm, channels_last_flatten,
    linear, dropout, relu, leaky_relu, tanh, sigmoid.  settings: its numbers (JSON
    values only, so that the architecture can be written to a file); arrays: its
    parameters in PyTorch's names and layouts (weight, bias, running_mean, running_var).
    """

    kind: str
    settings: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """The step without its arrays: what an architecture file records."""
        return {"kind": self.kind, **self.settings}


def conv_kernel_channels_first(kernel: np.ndarray) -> np.ndarray:
    """(kh, kw, channels, filters) -> (filters, channels, kh, kw)."""
    return np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))


def conv_kernel_channels_last(weight: np.ndarray) -> np.ndarray:
    """(filters, channels, kh, kw) -> (kh, kw, channels, filters): the inverse."""
    return np.ascontiguousarray(weight.transpose(2, 3, 1, 0))


def channels_first_steps(network: Network, divide_by: float | None = None) -> list[Step]:
    """The steps computing what `network` computes at evaluation, with copies of its arrays.

    `divide_by`: a model's preprocessing, put first (inputs are then stored pixels,
    0..255); None: inputs are what the network itself reads (pixels / 255).
    """
    steps: list[Step] = []
    if divide_by is not None:
        steps.append(Step("divide", {"by": float(divide_by)}))
    shape: tuple[int, ...] = (network.inputs,)
    for spec, layer in zip(network.specs, network.layers):
        steps += _steps_of(layer, shape)
        shape = output_shape(spec, shape)
    return steps


def _steps_of(layer: Any, shape: tuple[int, ...]) -> list[Step]:
    """The channels-first steps of one layer, given the shape of one example before it."""
    if isinstance(layer, ToImages):
        return [Step("to_images", {"side": layer.side})]
    if isinstance(layer, Conv2D):
        kh, kw, channels, filters = layer.kernel.shape
        steps = []
        if layer.padding == "same":
            (top, bottom), (left, right) = (same_padding(shape[0], kh, layer.stride),
                                            same_padding(shape[1], kw, layer.stride))  # fmt: skip
            if top or bottom or left or right:
                steps.append(Step("pad", {"top": top, "bottom": bottom, "left": left,
                                          "right": right}))  # fmt: skip
        arrays = {"weight": conv_kernel_channels_first(layer.kernel), "bias": layer.bias.copy()}
        settings = {"channels": channels, "filters": filters, "kernel": [kh, kw],
                    "stride": layer.stride}  # fmt: skip
        return [*steps, Step("conv", settings, arrays)]
    if isinstance(layer, MaxPool2D):
        return [Step("max_pool", {"size": layer.size, "stride": layer.stride})]
    if isinstance(layer, BatchNorm):
        arrays = {"weight": layer.scale.copy(), "bias": layer.shift.copy(),
                  "running_mean": layer.running_mean.copy(),
                  "running_var": layer.running_var.copy()}  # fmt: skip
        settings = {"features": len(layer.scale), "eps": float(layer.eps),
                    "momentum": float(layer.momentum), "maps": len(shape) == 3}  # fmt: skip
        return [Step("batch_norm", settings, arrays)]
    if isinstance(layer, Flatten):
        return [Step("channels_last_flatten")]
    if isinstance(layer, Dense):
        inputs, units = layer.weight.shape
        arrays = {"weight": np.ascontiguousarray(layer.weight.T), "bias": layer.bias.copy()}
        return [Step("linear", {"inputs": inputs, "units": units}, arrays)]
    if isinstance(layer, Dropout):
        return [Step("dropout", {"rate": float(layer.rate)})]
    if isinstance(layer, LeakyReLU):
        return [Step("leaky_relu", {"slope": float(layer.slope)})]
    for kind, name in ACTIVATION_KINDS.items():
        if isinstance(layer, kind):
            return [Step(name)]
    raise DigitnetError(f"layer {type(layer).__name__}: no channels-first form is known for it")
