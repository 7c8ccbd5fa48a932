"""A digitnet network's twin in PyTorch: the same layers holding the same numbers.

Used by tests/test_torch_agreement.py and benchmarks/torch_agreement.py to check
digitnet's forward and backward passes against PyTorch's autograd.  PyTorch is
a test and benchmark extra only (`pip install torch`), never used by digitnet.

Layouts differ, the numbers do not:
- feature maps: digitnet (m, height, width, channels), PyTorch (m, channels, height, width);
- kernels: digitnet (kh, kw, channels, filters), PyTorch (filters, channels, kh, kw);
- Dense weights: digitnet (inputs, units), PyTorch's Linear (units, inputs);
- flatten: digitnet flattens (height, width, channels), so the twin moves the
  channels last before flattening, and the Dense layer after it needs no reordering.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from digitnet.network import (
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPool2D,
    Network,
    ToImages,
)
from digitnet.network.layers import LeakyReLU, ReLU, Sigmoid, Tanh


class _ToImages(nn.Module):
    def __init__(self, side: int) -> None:
        super().__init__()
        self.side = side

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(len(x), 1, self.side, self.side)


class _ChannelsLastFlatten(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, 2, 3, 1).reshape(len(x), -1)


def to_torch(network: Network) -> nn.Sequential:
    """A PyTorch module computing what `network` computes, with copies of its arrays."""
    dtype = torch.float64 if network.dtype == np.float64 else torch.float32
    modules: list[nn.Module] = []
    previous_is_maps = False
    for layer in network.layers:
        if isinstance(layer, ToImages):
            modules.append(_ToImages(layer.side))
            previous_is_maps = True
        elif isinstance(layer, Conv2D):
            kh, kw, channels, filters = layer.kernel.shape
            padding = "same" if layer.padding == "same" else 0
            if layer.padding == "same" and layer.stride != 1:
                raise ValueError("PyTorch has no 'same' padding for strides above 1")
            conv = nn.Conv2d(channels, filters, (kh, kw), layer.stride, padding, dtype=dtype)
            conv.weight.data = torch.from_numpy(layer.kernel.transpose(3, 2, 0, 1).copy())
            conv.bias.data = torch.from_numpy(layer.bias.copy())
            modules.append(conv)
        elif isinstance(layer, MaxPool2D):
            modules.append(nn.MaxPool2d(layer.size, layer.stride))
        elif isinstance(layer, BatchNorm):
            kind = nn.BatchNorm2d if previous_is_maps else nn.BatchNorm1d
            norm = kind(len(layer.scale), eps=layer.eps, momentum=layer.momentum, dtype=dtype)
            norm.weight.data = torch.from_numpy(layer.scale.copy())
            norm.bias.data = torch.from_numpy(layer.shift.copy())
            norm.running_mean.data = torch.from_numpy(layer.running_mean.copy())
            norm.running_var.data = torch.from_numpy(layer.running_var.copy())
            modules.append(norm)
        elif isinstance(layer, Flatten):
            modules.append(_ChannelsLastFlatten())
            previous_is_maps = False
        elif isinstance(layer, Dense):
            linear = nn.Linear(*layer.weight.shape, dtype=dtype)
            linear.weight.data = torch.from_numpy(layer.weight.T.copy())
            linear.bias.data = torch.from_numpy(layer.bias.copy())
            modules.append(linear)
        elif isinstance(layer, Dropout):
            modules.append(nn.Dropout(layer.rate))
        elif isinstance(layer, LeakyReLU):
            modules.append(nn.LeakyReLU(layer.slope))
        else:
            activations = {ReLU: nn.ReLU, Tanh: nn.Tanh, Sigmoid: nn.Sigmoid}
            modules.append(activations[type(layer)]())
    return nn.Sequential(*modules)


def parameter_gradients(twin: nn.Sequential) -> list[np.ndarray]:
    """The twin's gradients in digitnet's order and layouts (as Network.parameters())."""
    grads: list[np.ndarray] = []
    for module in twin:
        if isinstance(module, nn.Conv2d):
            grads += [module.weight.grad.numpy().transpose(2, 3, 1, 0), module.bias.grad.numpy()]
        elif isinstance(module, nn.Linear):
            grads += [module.weight.grad.numpy().T, module.bias.grad.numpy()]
        elif isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
            grads += [module.weight.grad.numpy(), module.bias.grad.numpy()]
    return grads
