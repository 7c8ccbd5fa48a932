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

How each kind is written is declared once, in kinds.py; this module reads and
writes whole lines.  `image` and `flatten` may be left out: `image` is put in
when the first layer takes feature maps (a convolution or pooling; the input
rows are pixels), and `flatten` where a layer that takes rows (Dense) follows
feature maps.  The last layer must be dense10, one output per class.
`format_layers` writes the complete form (with `image` and `flatten`), and
parsing that gives the same layers back: the model file, `digitnet recipes` and
the command line all use this text.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from digitnet.errors import DigitnetError
from digitnet.network.kinds import ACTIVATIONS, KINDS, LayerSpec, square_side
from digitnet.network.layer import Shape

__all__ = [
    "ACTIVATIONS",
    "LayerSpec",
    "count_parameters",
    "format_layers",
    "output_shape",
    "parse_layers",
]

# Limits that keep a typo or a hostile model file from asking for gigabytes: a
# spec is refused, with its size, before anything is allocated.  25 million
# parameters are 100 MB of float32 weights (four times that while training, with
# gradients and optimizer state): room for an MLP of two 4,096-unit layers, a
# dozen times the largest recipe.  16 million numbers per example in one layer's
# output are 64 MB per image, times the batch.
MAX_PARAMETERS = 25_000_000
MAX_VALUES_PER_EXAMPLE = 2**24


def parse_token(token: str) -> LayerSpec:
    """One layer from its token ("conv32k5"); DigitnetError if it is not one."""
    text = token.strip().lower()
    for kind in KINDS.values():
        try:
            spec = kind.read(text)
        except DigitnetError as error:
            raise DigitnetError(str(error).replace(f"'{text}'", f"'{token}'")) from None
        if spec is not None:
            return spec
    examples = ", ".join(kind.example for kind in KINDS.values())
    raise DigitnetError(
        f"layer '{token}' is not one digitnet knows: write one of {examples} "
        "(`digitnet recipes --layers` lists every form)"
    )


def parse_layers(text: str, pixels: int = 784, classes: int | None = 10) -> list[LayerSpec]:
    """The layers written in `text`, completed with `image`/`flatten` and checked
    against the input (rows of `pixels`) and the output (`classes` logits; None:
    any number, as long as the last layer is Dense)."""
    # Commas or spaces between tokens; two commas with nothing between them are a slip
    # (a layer left out), not a separator to skip.
    if re.search(r",\s*,", text):
        raise DigitnetError(f"layers '{text}': an empty layer between commas (a layer left out?)")
    tokens = [token for token in re.split(r"[,\s]+", text.strip()) if token]
    if not tokens:
        raise DigitnetError("no layers given (for example: dense256,relu,dense10)")
    if isinstance(pixels, bool) or not isinstance(pixels, int) or pixels < 1:
        raise DigitnetError(f"layers '{text}': inputs per row must be a whole number >= 1, "
                            f"not {pixels!r:.40}")  # fmt: skip
    complete: list[LayerSpec] = []
    shape: Shape = (pixels,)
    for token in tokens:
        spec = parse_token(token)
        takes = KINDS[spec.kind].takes
        if takes == "maps" and len(shape) == 1 and not complete:  # pixels become images first
            complete.append(LayerSpec("image"))
            shape = output_shape(complete[-1], shape, token)
        elif takes == "rows" and len(shape) == 3 and spec.kind != "image":
            complete.append(LayerSpec("flatten"))
            shape = output_shape(complete[-1], shape, token)
        shape = output_shape(spec, shape, token)
        if math.prod(shape) > MAX_VALUES_PER_EXAMPLE:
            raise DigitnetError(
                f"layer '{token}': outputs {math.prod(shape):,} numbers per example "
                f"{shape}; digitnet allows at most {MAX_VALUES_PER_EXAMPLE:,}"
            )
        complete.append(spec)
    parameters = count_parameters(complete, pixels)
    if parameters > MAX_PARAMETERS:
        raise DigitnetError(
            f"layers '{text}': {parameters:,} parameters to learn; digitnet builds at most "
            f"{MAX_PARAMETERS:,} (100 MB of float32 weights)"
        )
    last = complete[-1]
    if last.kind != "dense" or last.size != (classes or last.size):
        raise DigitnetError(
            f"layers '{text}': the last layer must be dense{classes or ''} (one output per "
            f"class), not {last}"
        )
    return complete


def output_shape(spec: LayerSpec, shape: Shape, token: str = "") -> Shape:
    """The shape of one example after layer `spec`, given the shape before it:
    (features,) for rows, (height, width, channels) for feature maps."""
    where = f"layer '{token or spec}'"
    kind = KINDS[spec.kind]
    if kind.takes == "maps" and len(shape) != 3:
        side = square_side(shape[0])
        hint = f"; put 'image' before it ({side}x{side} maps)" if side else ""
        raise DigitnetError(f"{where}: needs feature maps, but follows rows of {shape[0]}{hint}")
    if kind.takes == "rows" and len(shape) != 1:
        raise DigitnetError(f"{where}: needs rows; put 'flatten' before it")
    try:
        return kind.shape(spec, shape)
    except DigitnetError as error:
        raise DigitnetError(f"{where}: {error}") from None


def count_parameters(specs: list[LayerSpec], inputs: int) -> int:
    """How many numbers the layers learn (weights, biases, batch norm's scale and
    shift), counted from the spec alone: nothing is built."""
    shape: Shape = (inputs,)
    total = 0
    for spec in specs:
        total += KINDS[spec.kind].parameters(spec, shape)
        shape = output_shape(spec, shape)
    return total


def format_layers(specs: list[LayerSpec]) -> str:
    """The one-line text of `specs` (what parse_layers reads back)."""
    return ",".join(str(spec) for spec in specs)


def mlp_layers(hidden: tuple[int, ...], activation: str = "relu", dropout: float = 0.0,
               classes: int = 10) -> str:  # fmt: skip
    """The text of an MLP: each hidden Dense layer, its activation, optional dropout."""
    if activation not in ACTIVATIONS:
        raise DigitnetError(f"unknown activation '{activation}' ({', '.join(ACTIVATIONS)})")
    if isinstance(dropout, bool) or not isinstance(dropout, int | float) or not 0 <= dropout < 1:
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
