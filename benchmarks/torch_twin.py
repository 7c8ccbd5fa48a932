"""A digitnet network's twin in PyTorch: the same layers holding the same numbers.

Used by tests/test_torch_agreement.py, benchmarks/torch_agreement.py and
benchmarks/compare.py to check digitnet's forward and backward passes against
PyTorch's autograd.  PyTorch is an extra only (`pip install torch`), never used by
digitnet to learn.

The twin is the one `digitnet export` writes: `to_torch` lives in the package
(src/digitnet/interfaces/export/torch_export.py), and the layout mapping behind it
in interfaces/export/layout.py, which says how the axes differ:
- feature maps: digitnet (m, height, width, channels), PyTorch (m, channels, height, width);
- kernels: digitnet (kh, kw, channels, filters), PyTorch (filters, channels, kh, kw);
- Dense weights: digitnet (inputs, units), PyTorch's Linear (units, inputs);
- flatten: digitnet flattens (height, width, channels), so the twin moves the
  channels last before flattening, and the Dense layer after it needs no reordering;
- 'same' padding: explicit zeros (nn.ZeroPad2d), the odd one after, as digitnet pads.
Here: the way back, PyTorch's gradients in digitnet's layouts.
"""

from __future__ import annotations

import numpy as np
from torch import nn

from digitnet.interfaces.export.layout import conv_kernel_channels_last
from digitnet.interfaces.export.torch_export import to_torch

__all__ = ["parameter_gradients", "to_torch"]


def parameter_gradients(twin: nn.Sequential) -> list[np.ndarray]:
    """The twin's gradients in digitnet's order and layouts (as Network.parameters())."""
    grads: list[np.ndarray] = []
    for module in twin:
        if isinstance(module, nn.Conv2d):
            weight_grad = conv_kernel_channels_last(module.weight.grad.numpy())
            grads += [weight_grad, module.bias.grad.numpy()]
        elif isinstance(module, nn.Linear):
            grads += [module.weight.grad.numpy().T, module.bias.grad.numpy()]
        elif isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
            grads += [module.weight.grad.numpy(), module.bias.grad.numpy()]
    return grads
