"""A digitnet network as a PyTorch module, built from its architecture (a list of steps).

This file imports torch and nothing of digitnet: `digitnet export MODEL FOLDER/` copies
it into the folder as model.py, beside architecture.json and state_dict.pt, so that
anyone with PyTorch can load the network without digitnet:

    import json, torch
    from model import build_module
    net = build_module(json.load(open("architecture.json"))["steps"])
    net.load_state_dict(torch.load("state_dict.pt", weights_only=True))
    probabilities = torch.softmax(net.eval()(pixels), dim=1)   # pixels: (m, 784) in 0..255

Each step is one nn.Module, in order, so the state_dict's keys are "<index>.weight"...
The layouts are PyTorch's own: feature maps (m, channels, height, width), kernels
(filters, channels, kh, kw), Linear weights (units, inputs).  digitnet keeps its
feature maps channels-last and flattens (height, width, channels), so ChannelsLastFlatten
moves the channels last before flattening, and the Linear layer after it reads its
inputs in digitnet's order.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class Divide(nn.Module):
    """The model's preprocessing: stored pixels (0..255) / by -> inputs in 0..1."""

    def __init__(self, by: float) -> None:
        super().__init__()
        self.by = by

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x / self.by


class ToImages(nn.Module):
    """Rows of side*side pixels -> images (m, 1, side, side)."""

    def __init__(self, side: int) -> None:
        super().__init__()
        self.side = side

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(-1, 1, self.side, self.side)


class ChannelsLastFlatten(nn.Module):
    """(m, channels, height, width) -> rows in digitnet's (height, width, channels) order."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, 2, 3, 1).flatten(1)


def build_module(
    architecture: list[dict[str, Any]], dtype: torch.dtype = torch.float32
) -> nn.Sequential:
    """One module per step of `architecture` (as digitnet's architecture.json lists them),
    with fresh parameters: load the state_dict into it."""
    modules: list[nn.Module] = []
    for step in architecture:
        modules.append(_module(step, dtype))
    return nn.Sequential(*modules)


def _module(step: dict[str, Any], dtype: torch.dtype) -> nn.Module:
    kind = step["kind"]
    if kind == "divide":
        return Divide(step["by"])
    if kind == "to_images":
        return ToImages(step["side"])
    if kind == "pad":  # 'same' padding: the odd row or column of zeros goes after
        return nn.ZeroPad2d((step["left"], step["right"], step["top"], step["bottom"]))
    if kind == "conv":
        return nn.Conv2d(step["channels"], step["filters"], tuple(step["kernel"]),
                         step["stride"], dtype=dtype)  # fmt: skip
    if kind == "max_pool":
        return nn.MaxPool2d(step["size"], step["stride"])
    if kind == "batch_norm":
        norm = nn.BatchNorm2d if step["maps"] else nn.BatchNorm1d
        return norm(step["features"], eps=step["eps"], momentum=step["momentum"], dtype=dtype)
    if kind == "channels_last_flatten":
        return ChannelsLastFlatten()
    if kind == "linear":
        return nn.Linear(step["inputs"], step["units"], dtype=dtype)
    if kind == "dropout":
        return nn.Dropout(step["rate"])
    if kind == "leaky_relu":
        return nn.LeakyReLU(step["slope"])
    simple = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
    if kind in simple:
        return simple[kind]()
    raise ValueError(f"unknown step kind {kind!r}")
