"""Layer specs: a network written as a short line of text.

    dense256,relu,dense10                                  the `fast` MLP
    conv32k5,relu,pool2,conv64k5,relu,pool2,dense128,relu,dense10     a CNN

One token per layer, separated by commas (spaces are allowed around them):

    dense128         Dense, 128 units
    conv32k5         Conv2D, 32 filters of 5x5, stride 1, 'valid' padding
    conv32k3same     ... 'same' padding (the output keeps the input's size)
    conv64k3s2       ... stride 2   (conv64k3s2same: both)
    pool2            MaxPool2D, 2x2 windows, stride 2 (pool3s2: 3x3 windows, stride 2)
    bn               BatchNorm (of a Dense layer's units or a feature map's channels)
    relu  leaky_relu  tanh  sigmoid                      activations
    dropout0.4       Dropout, rate 0.4
    image            rows of 784 pixels -> 28x28 images with one channel
    flatten          feature maps -> rows

`image` and `flatten` may be left out: `image` is put in when the first layer
is a convolution or pooling (the input rows are pixels), and `flatten` where a
Dense layer follows feature maps.  The last layer must be
dense10, one output per class.  `format_layers` writes the complete form
(with `image` and `flatten`), and parsing that gives the same layers back:
the model file, `digitnet recipes` and the command line all use this text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from digitnet.errors import DigitnetError

ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid")
_PARAMETER_FREE = (*ACTIVATIONS, "bn", "image", "flatten")
_SPATIAL = ("conv", "pool")
_PATTERNS = {
    "dense": re.compile(r"dense(\d+)"),
    "conv": re.compile(r"conv(\d+)k(\d+)(?:s(\d+))?(same|valid)?"),
    "pool": re.compile(r"pool(\d+)(?:s(\d+))?"),
    "dropout": re.compile(r"dropout(\d*\.?\d+)"),
}


@dataclass(frozen=True)
class LayerSpec:
    """One layer: its kind and the numbers that define it.

    size: dense units or conv filters; kernel: the conv or pool window side;
    stride, padding: conv and pool; rate: dropout."""

    kind: str
    size: int = 0
    kernel: int = 0
    stride: int = 1
    padding: str = "valid"
    rate: float = 0.0

    def __str__(self) -> str:
        if self.kind == "dense":
            return f"dense{self.size}"
        if self.kind == "conv":
            stride = f"s{self.stride}" if self.stride != 1 else ""
            padding = "same" if self.padding == "same" else ""
            return f"conv{self.size}k{self.kernel}{stride}{padding}"
        if self.kind == "pool":
            return f"pool{self.kernel}" + (f"s{self.stride}" if self.stride != self.kernel else "")
        if self.kind == "dropout":  # every digit kept, so the rate reads back exactly
            return "dropout" + np.format_float_positional(self.rate, trim="-")
        return self.kind


def parse_token(token: str) -> LayerSpec:
    """One layer from its token ("conv32k5"); DigitnetError if it is not one."""
    text = token.strip().lower()
    if text in _PARAMETER_FREE:
        return LayerSpec(text)
    for kind, pattern in _PATTERNS.items():
        match = pattern.fullmatch(text)
        if match is None:
            continue
        numbers = match.groups()
        if kind == "dense":
            return _checked(LayerSpec("dense", size=int(numbers[0])), token)
        if kind == "conv":
            filters, kernel, stride, padding = numbers
            return _checked(LayerSpec("conv", int(filters), int(kernel), int(stride or 1),
                                      padding or "valid"), token)  # fmt: skip
        if kind == "pool":
            kernel = int(numbers[0])
            return _checked(LayerSpec("pool", kernel=kernel, stride=int(numbers[1] or kernel)),
                            token)  # fmt: skip
        rate = float(numbers[0])
        if not 0 <= rate < 1:
            raise DigitnetError(f"layer '{token}': a dropout rate is in 0..1 (excluding 1)")
        return LayerSpec("dropout", rate=rate)
    raise DigitnetError(
        f"layer '{token}' is not one digitnet knows: write dense128, conv32k5, conv32k3same, "
        f"conv64k3s2, pool2, bn, dropout0.4, {', '.join(ACTIVATIONS)}, image or flatten"
    )


def _checked(spec: LayerSpec, token: str) -> LayerSpec:
    numbers = (
        [spec.stride] + [spec.size] * (spec.kind != "pool") + [spec.kernel] * (spec.kind != "dense")
    )
    if min(numbers) < 1:
        raise DigitnetError(f"layer '{token}': sizes, kernels and strides must be at least 1")
    return spec


def parse_layers(text: str, pixels: int = 784, classes: int | None = 10) -> list[LayerSpec]:
    """The layers written in `text`, completed with `image`/`flatten` and checked
    against the input (rows of `pixels`) and the output (`classes` logits; None:
    any number, as long as the last layer is Dense)."""
    tokens = [token for token in re.split(r"[,\s]+", text.strip()) if token]
    if not tokens:
        raise DigitnetError("no layers given (for example: dense256,relu,dense10)")
    complete: list[LayerSpec] = []
    shape: tuple[int, ...] = (pixels,)
    for token in tokens:
        spec = parse_token(token)
        if spec.kind in _SPATIAL and not complete:  # rows of pixels become images first
            complete.append(LayerSpec("image"))
            shape = output_shape(complete[-1], shape, token)
        elif spec.kind == "dense" and len(shape) == 3:
            complete.append(LayerSpec("flatten"))
            shape = output_shape(complete[-1], shape, token)
        shape = output_shape(spec, shape, token)
        complete.append(spec)
    last = complete[-1]
    if last.kind != "dense" or last.size != (classes or last.size):
        raise DigitnetError(
            f"layers '{text}': the last layer must be dense{classes or ''} (one output per "
            f"class), not {last}"
        )
    return complete


def output_shape(spec: LayerSpec, shape: tuple[int, ...], token: str = "") -> tuple[int, ...]:
    """The shape of one example after layer `spec`, given the shape before it:
    (features,) for rows, (height, width, channels) for feature maps."""
    where = f"layer '{token or spec}'"
    if spec.kind == "image":
        side = round(shape[0] ** 0.5) if len(shape) == 1 else 0
        if side * side != shape[0]:
            raise DigitnetError(f"{where}: {shape} inputs are not a square image")
        return (side, side, 1)
    if spec.kind == "flatten":
        return (shape[0] * shape[1] * shape[2],) if len(shape) == 3 else shape
    if spec.kind in _SPATIAL:
        if len(shape) != 3:
            raise DigitnetError(f"{where}: needs feature maps, but follows rows of {shape[0]}")
        height, width, channels = shape
        if spec.kind == "conv" and spec.padding == "same":
            sides = [-(-height // spec.stride), -(-width // spec.stride)]
        else:
            sides = [(side - spec.kernel) // spec.stride + 1 for side in (height, width)]
        if min(sides) < 1 or (spec.padding == "valid" and spec.kernel > min(height, width)):
            raise DigitnetError(
                f"{where}: its {spec.kernel}x{spec.kernel} window does not fit the "
                f"{height}x{width} maps it gets"
            )
        return (sides[0], sides[1], spec.size if spec.kind == "conv" else channels)
    if spec.kind == "dense":
        if len(shape) != 1:
            raise DigitnetError(f"{where}: needs rows; put 'flatten' before it")
        return (spec.size,)
    return shape  # activations, bn, dropout keep the shape


def format_layers(specs: list[LayerSpec]) -> str:
    """The one-line text of `specs` (what parse_layers reads back)."""
    return ",".join(str(spec) for spec in specs)


def mlp_layers(hidden: tuple[int, ...], activation: str = "relu", dropout: float = 0.0,
               classes: int = 10) -> str:  # fmt: skip
    """The text of an MLP: each hidden Dense layer, its activation, optional dropout."""
    if activation not in ACTIVATIONS:
        raise DigitnetError(f"unknown activation '{activation}' ({', '.join(ACTIVATIONS)})")
    if not 0 <= dropout < 1:
        raise DigitnetError(f"dropout rate {dropout}: must be in 0..1 (excluding 1)")
    tokens = []
    for units in hidden:
        if units < 1:
            raise DigitnetError(f"hidden layer sizes must be at least 1, got {hidden}")
        tokens += [f"dense{units}", activation]
        tokens += [str(LayerSpec("dropout", rate=dropout))] if dropout else []
    return ",".join([*tokens, f"dense{classes}"])


@dataclass(frozen=True)
class MLPShape:
    """What `mlp_layers` was given, read back from a plain MLP's layers."""

    hidden: tuple[int, ...]
    activation: str
    dropout: float


def as_mlp(text: str) -> MLPShape | None:
    """The hidden sizes, activation and dropout of a plain MLP, or None if the
    layers are anything else (a CNN, batch norm, mixed activations...)."""
    specs = parse_layers(text, classes=None)
    dense = [spec.size for spec in specs if spec.kind == "dense"]
    activations = {spec.kind for spec in specs if spec.kind in ACTIVATIONS}
    rates = {spec.rate for spec in specs if spec.kind == "dropout"}
    activation = next(iter(activations), "relu")
    candidate = MLPShape(tuple(dense[:-1]), activation, next(iter(rates), 0.0))
    rebuilt = mlp_layers(candidate.hidden, activation, candidate.dropout, classes=dense[-1])
    return candidate if rebuilt == format_layers(specs) else None
