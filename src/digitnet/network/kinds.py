"""Every kind of layer digitnet knows, each declared once.

A declaration says how a layer is written (its token: a pattern to read, a
function to write), what shape it outputs for one example, what input it takes,
and how a fresh one is built.  Everything else follows from these declarations:
the parser and printer of layer specs (spec.py), the shape checks,
`Network.build`, the model file (whose arrays are the built layers' arrays) and
the token table in docs/layers.md (`layer_table`, kept equal by a test).

Adding a layer kind is one class (its forward beside its backward, meeting the
protocol of layer.py) and one declaration in KINDS below.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from digitnet.errors import DigitnetError
from digitnet.network.batchnorm import BatchNorm
from digitnet.network.conv import Conv2D, MaxPool2D
from digitnet.network.layer import Init, Layer, Shape
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
        return KINDS[self.kind].write(self)  # each kind's declaration knows how it is written


@dataclass(frozen=True)
class LayerKind:
    """One kind of layer, as the rest of digitnet sees it.

    takes: the input it needs: "rows" (features,), "maps" (height, width,
    channels) or "any" (it keeps whatever shape it gets).
    """

    name: str
    pattern: str  # the whole token, as a regular expression with named groups
    example: str  # a token of this kind, for messages and the docs
    layer: str  # what the token builds, for the docs table
    notes: str
    takes: str
    shape: Callable[[LayerSpec, Shape], Shape]  # one example's shape after the layer
    build: Callable[[LayerSpec, Shape, Init], Layer]  # a fresh layer, given its input shape
    write: Callable[[LayerSpec], str] = lambda spec: spec.kind
    # How many numbers it learns, given its input shape: counted before anything is
    # built, so that a spec asking for billions is refused, not allocated.
    parameters: Callable[[LayerSpec, Shape], int] = lambda spec, shape: 0
    activation: bool = False

    def read(self, token: str) -> LayerSpec | None:
        """The layer `token` writes, or None if it is not of this kind."""
        match = re.fullmatch(self.pattern, token)
        if match is None:
            return None
        found = {key: value for key, value in match.groupdict().items() if value is not None}
        numbers = {key: int(found[key]) for key in ("size", "kernel", "stride") if key in found}
        if self.name == "pool":  # a pool's stride is its window unless written
            numbers.setdefault("stride", numbers["kernel"])
        spec = LayerSpec(self.name, **numbers, padding=found.get("padding", "valid"),
                         rate=float(found.get("rate", 0.0)))  # fmt: skip
        if min([spec.stride, *numbers.values()]) < 1:
            raise DigitnetError(f"layer '{token}': sizes, kernels and strides must be at least 1")
        if not 0 <= spec.rate < 1:
            raise DigitnetError(f"layer '{token}': a dropout rate is in 0..1 (excluding 1)")
        return spec


# --- output shapes --------------------------------------------------------------


def _keeps(spec: LayerSpec, shape: Shape) -> Shape:
    return shape  # activations, batch norm, dropout


def _dense_shape(spec: LayerSpec, shape: Shape) -> Shape:
    return (spec.size,)


def square_side(count: int) -> int | None:
    """The side of a square image of `count` pixels (28 for 784); None if no square has it."""
    side = round(count**0.5)
    return side if side * side == count else None


def _image_shape(spec: LayerSpec, shape: Shape) -> Shape:
    side = square_side(shape[0])
    if side is None:
        raise DigitnetError(f"{shape[0]} inputs are not a square image")
    return (side, side, 1)


def _flatten_shape(spec: LayerSpec, shape: Shape) -> Shape:
    return (int(np.prod(shape)),)


def _window_shape(spec: LayerSpec, shape: Shape) -> Shape:
    """conv and pool: each side (side - size) // stride + 1, or ceil(side / stride) 'same'."""
    height, width, channels = shape
    if spec.padding == "same":
        sides = [-(-height // spec.stride), -(-width // spec.stride)]
    else:
        sides = [(side - spec.kernel) // spec.stride + 1 for side in (height, width)]
    if min(sides) < 1 or (spec.padding == "valid" and spec.kernel > min(height, width)):
        raise DigitnetError(
            f"its {spec.kernel}x{spec.kernel} window does not fit the {height}x{width} maps it gets"
        )
    return (sides[0], sides[1], spec.size if spec.kind == "conv" else channels)


# --- how each is written ----------------------------------------------------------


def _write_conv(spec: LayerSpec) -> str:
    stride = f"s{spec.stride}" if spec.stride != 1 else ""
    return f"conv{spec.size}k{spec.kernel}{stride}{'same' if spec.padding == 'same' else ''}"


def _write_pool(spec: LayerSpec) -> str:
    return f"pool{spec.kernel}" + (f"s{spec.stride}" if spec.stride != spec.kernel else "")


def _write_dropout(spec: LayerSpec) -> str:  # every digit kept, so the rate reads back exactly
    return "dropout" + np.format_float_positional(spec.rate, trim="-")


def _activation(name: str, cls: type, notes: str) -> LayerKind:
    return LayerKind(name, re.escape(name), name, cls.__name__, notes, "any", _keeps,
                     lambda spec, shape, init: cls(), activation=True)  # fmt: skip


KINDS: dict[str, LayerKind] = {
    kind.name: kind
    for kind in (
        LayerKind(
            "dense", r"dense(?P<size>\d+)", "dense128", "Dense, 128 units",
            "z = x W + b, W of shape (inputs, 128)", "rows", _dense_shape,
            lambda spec, shape, init: Dense.create(shape[0], spec.size, init.scheme, init.rng,
                                                   init.dtype),
            write=lambda spec: f"dense{spec.size}",
            parameters=lambda spec, shape: (shape[0] + 1) * spec.size,  # W and b
        ),
        LayerKind(
            "conv",
            r"conv(?P<size>\d+)k(?P<kernel>\d+)(?:s(?P<stride>\d+))?(?P<padding>same|valid)?",
            "conv32k5", "Conv2D, 32 filters of 5x5",
            "stride 1, 'valid' padding; `conv32k3same`: 'same' padding (ceil(size / stride) "
            "positions per side); `conv64k3s2`: stride 2", "maps", _window_shape,
            lambda spec, shape, init: Conv2D.create(shape[2], spec.size, spec.kernel,
                                                    spec.stride, spec.padding, init.scheme,
                                                    init.rng, init.dtype),
            write=_write_conv,
            parameters=lambda spec, shape: (spec.kernel**2 * shape[2] + 1) * spec.size,
        ),
        LayerKind(
            "pool", r"pool(?P<kernel>\d+)(?:s(?P<stride>\d+))?", "pool2",
            "MaxPool2D, 2x2 windows, stride 2",
            "no padding; `pool3s2`: 3x3 windows, stride 2 (they overlap)", "maps", _window_shape,
            lambda spec, shape, init: MaxPool2D(spec.kernel, spec.stride), write=_write_pool,
        ),
        LayerKind(
            "bn", "bn", "bn", "BatchNorm",
            "per unit after a Dense layer, per channel on feature maps", "any", _keeps,
            lambda spec, shape, init: BatchNorm.create(shape[-1], init.dtype),
            parameters=lambda spec, shape: 2 * shape[-1],  # gamma and beta
        ),
        _activation("relu", ReLU, "max(z, 0)"),
        _activation("leaky_relu", LeakyReLU, "slope 0.01 below 0"),
        _activation("tanh", Tanh, "squashes into (-1, 1)"),
        _activation("sigmoid", Sigmoid, "squashes into (0, 1)"),
        LayerKind(
            "dropout", r"dropout(?P<rate>\d*\.?\d+)", "dropout0.4", "Dropout, rate 0.4",
            "rate from 0 up to, not including, 1; `dropout.4` also reads", "any", _keeps,
            lambda spec, shape, init: Dropout(spec.rate), write=_write_dropout,
        ),
        LayerKind(
            "image", "image", "image", "rows of pixels -> images (28, 28, 1)",
            "any square number of inputs; put in for you before a first conv or pool", "rows",
            _image_shape, lambda spec, shape, init: ToImages(round(shape[0] ** 0.5)),
        ),
        LayerKind(
            "flatten", "flatten", "flatten", "feature maps (h, w, c) -> rows of h\\*w\\*c",
            "put in for you before a Dense layer on feature maps", "any", _flatten_shape,
            lambda spec, shape, init: Flatten(),
        ),
    )
}  # fmt: skip
ACTIVATIONS = tuple(name for name, kind in KINDS.items() if kind.activation)


def layer_table() -> str:
    """The token table of docs/layers.md, from the declarations above."""
    rows = ["| token | layer | notes |", "| --- | --- | --- |"]
    rows += [f"| `{kind.example}` | {kind.layer} | {kind.notes} |" for kind in KINDS.values()]
    return "\n".join(rows) + "\n"
