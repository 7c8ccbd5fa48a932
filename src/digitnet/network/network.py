"""A network is a stack of layers: forward runs them in order, backward in reverse.

    logits = layer_n( ... layer_2( layer_1(x) ) )                (forward)
    dL/dx  = layer_1'( ... layer_n'( dL/dlogits ) )               (backward: chain rule)

The loss (softmax + cross-entropy, see loss.py) sits on top of the logits and
provides dL/dlogits to start the backward pass.  What the layers are is one
line of text, a layer spec (spec.py), which is also what a model file stores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from tqdm import tqdm

from digitnet.errors import DigitnetError
from digitnet.network.batchnorm import BatchNorm
from digitnet.network.conv import Conv2D, MaxPool2D
from digitnet.network.init import INITIALIZERS
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
from digitnet.network.loss import softmax
from digitnet.network.shortcuts import BlankSkippingDense, ChunkedConv2D, InkedColumns
from digitnet.network.spec import (
    LayerSpec,
    format_layers,
    mlp_layers,
    output_shape,
    parse_layers,
)

Layer = (
    Dense | Conv2D | MaxPool2D | BatchNorm | ReLU | LeakyReLU | Tanh | Sigmoid | Dropout
    | ToImages | Flatten
)  # fmt: skip
ACTIVATIONS = {"relu": ReLU, "leaky_relu": LeakyReLU, "tanh": Tanh, "sigmoid": Sigmoid}


class Network:
    """Layers built from a layer spec, with the forward and backward passes over them."""

    def __init__(self, layers: list[Layer], specs: list[LayerSpec], inputs: int) -> None:
        self.layers, self.specs, self.inputs = layers, specs, inputs
        # Below the first layer with parameters nothing learns: the backward pass
        # stops there and skips its dL/dinput (for 784 pixels, the costliest product).
        self.first_learning = next(
            (index for index, layer in enumerate(layers) if layer.parameters()), len(layers)
        )

    @classmethod
    def build(
        cls,
        layers: str | Sequence[int],
        *,
        init: str = "he",
        seed: int | np.random.Generator = 0,
        dtype: type[np.floating] | np.dtype = np.float32,
        activation: str = "relu",
        dropout: float = 0.0,
        inputs: int = 784,
        shortcuts: bool = True,
    ) -> Network:
        """A fresh network.

        `layers` is a layer spec ("conv32k5,relu,pool2,dense10", see spec.py), or
        for an MLP a list of widths, e.g. [784, 10, 10] for the notebook's: one
        `activation` (then Dropout, if `dropout` > 0) between Dense layers.  The
        last layer outputs logits (softmax is applied by the loss and by
        `predict_proba`).  float32 is the default; ask for float64 for gradient
        checks.  `inputs`: pixels per row, for a spec.  `shortcuts=False` builds
        only textbook layers (shortcuts.py).
        """
        if isinstance(layers, str):
            text = layers
        else:
            sizes = [int(size) for size in layers]
            if len(sizes) < 2 or min(sizes) < 1:
                raise DigitnetError(f"layer sizes {sizes}: need input and output sizes >= 1")
            inputs, text = sizes[0], mlp_layers(tuple(sizes[1:-1]), activation, dropout, sizes[-1])
        if init not in INITIALIZERS:
            raise DigitnetError(f"unknown init '{init}' (choose from {', '.join(INITIALIZERS)})")
        specs = parse_layers(text, pixels=inputs, classes=None)
        rng = np.random.default_rng(seed)
        built = _create_layers(specs, inputs, init, rng, np.dtype(dtype), shortcuts)
        return cls(built, specs, inputs)

    def forward(self, x: np.ndarray | InkedColumns, training: bool = False) -> np.ndarray:
        """The logits (m, classes) for a batch x (m, inputs).

        x may also be InkedColumns (shortcuts.py): the batch without its blank columns.
        """
        if isinstance(x, InkedColumns) and not self.takes_inked_columns:
            x = x.dense()
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, logits_grad: np.ndarray) -> None:
        """Backpropagate dL/dlogits, writing every parameter's gradient."""
        grad = logits_grad
        for layer in reversed(self.layers[self.first_learning + 1 :]):
            grad = layer.backward(grad)
        if self.first_learning < len(self.layers):
            self.layers[self.first_learning].backward(grad, input_grad=False)  # type: ignore[call-arg]

    def parameters(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Every (parameter, gradient) pair, input side first."""
        return [pair for layer in self.layers for pair in layer.parameters()]

    def arrays(self) -> dict[str, np.ndarray]:
        """Every array a model file stores (parameters and batch-norm statistics),
        named 'layer{index}_{name}' by the layer's place in the spec."""
        return {
            f"layer{index}_{name}": array
            for index, layer in enumerate(self.layers)
            for name, array in layer.arrays().items()
        }

    def set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Copy `arrays` (as `arrays()` names them) into the layers, in place."""
        for name, target in self.arrays().items():
            target[...] = arrays[name]

    def outputs(self, x: np.ndarray) -> list[np.ndarray]:
        """What every layer outputs for a batch x (evaluation mode), in order."""
        results = []
        for layer in self.layers:
            x = layer.forward(x)
            results.append(x)
        return results

    def hidden_activations(self, x: np.ndarray) -> list[np.ndarray]:
        """What each activation layer outputs for a batch x: a hidden layer's units
        (m, units), or a convolution's feature maps (m, height, width, filters)."""
        return [
            output for spec, output in zip(self.specs, self.outputs(x)) if spec.kind in ACTIVATIONS
        ]

    def logits(
        self,
        x: np.ndarray,
        batch_size: int = 1024,
        prepare: Callable[[np.ndarray], np.ndarray] | None = None,
        progress: bool = False,
    ) -> np.ndarray:
        """The outputs (m, classes) for many rows, `batch_size` rows at a time.

        The one batched forward pass behind prediction and measurement: in
        batches, memory stays bounded (a CNN's im2col of 60,000 images at once
        would take gigabytes).  `prepare` turns each batch of stored rows into
        inputs first (a model's pixels to floats), so the whole set is never
        converted at once either.
        """
        return self._batches(x, batch_size, prepare, progress, then=None)

    def predict_proba(
        self,
        x: np.ndarray,
        batch_size: int = 1024,
        prepare: Callable[[np.ndarray], np.ndarray] | None = None,
        progress: bool = False,
    ) -> np.ndarray:
        """Class probabilities (m, classes): the softmax of `logits`, batch by batch
        (so a model's probabilities do not depend on how many rows come with it)."""
        return self._batches(x, batch_size, prepare, progress, then=softmax)

    def _batches(
        self,
        x: np.ndarray,
        batch_size: int,
        prepare: Callable[[np.ndarray], np.ndarray] | None,
        progress: bool,
        then: Callable[[np.ndarray], np.ndarray] | None,
    ) -> np.ndarray:
        starts = range(0, len(x), batch_size)
        outputs = []
        for start in tqdm(
            starts, desc="predicting", unit="batch", disable=None if progress else True
        ):
            rows = x[start : start + batch_size]
            output = self.forward(prepare(rows) if prepare else rows)
            outputs.append(then(output) if then else output)
        return np.concatenate(outputs) if outputs else np.zeros((0, self.classes), self.dtype)

    @property
    def layer_spec(self) -> str:
        """The layers as one line of text (spec.py), e.g. 'dense256,relu,dense10'."""
        return format_layers(self.specs)

    @property
    def classes(self) -> int:
        return self.specs[-1].size

    @property
    def dtype(self) -> np.dtype:
        return next(iter(self.arrays().values())).dtype

    @property
    def takes_inked_columns(self) -> bool:
        """Whether the first layer reads InkedColumns as they are (shortcuts.py)."""
        return isinstance(self.layers[0], BlankSkippingDense)

    @property
    def is_convolutional(self) -> bool:
        return any(spec.kind == "conv" for spec in self.specs)


def _create_layers(specs: list[LayerSpec], inputs: int, init: str, rng: np.random.Generator,
                   dtype: np.dtype, shortcuts: bool) -> list[Layer]:  # fmt: skip
    """One fresh layer per spec; weights drawn in order, input side first."""
    layers: list[Layer] = []
    dropouts: list[int] = []
    shape: tuple[int, ...] = (inputs,)
    for spec in specs:
        if spec.kind == "dense":
            # A first Dense layer reads pixels, many blank: the shortcut skips those.
            on_pixels = shortcuts and not layers and shape == (inputs,)
            kind = BlankSkippingDense if on_pixels else Dense
            layers.append(kind.create(shape[0], spec.size, init, rng, dtype))
        elif spec.kind == "conv":
            kind = ChunkedConv2D if shortcuts else Conv2D
            layers.append(kind.create(shape[2], spec.size, spec.kernel, spec.stride,
                                        spec.padding, init, rng, dtype))  # fmt: skip
        elif spec.kind == "pool":
            layers.append(MaxPool2D(spec.kernel, spec.stride))
        elif spec.kind == "bn":
            layers.append(BatchNorm.create(shape[-1], dtype))
        elif spec.kind == "image":
            layers.append(ToImages(round(shape[0] ** 0.5)))
        elif spec.kind == "flatten":
            layers.append(Flatten())
        elif spec.kind == "dropout":
            dropouts.append(len(layers))
            layers.append(Dropout(spec.rate))  # its random stream is set below
        else:
            layers.append(ACTIVATIONS[spec.kind]())
        shape = output_shape(spec, shape)
    if dropouts:
        # Drawn after every weight, so adding dropout does not change the initial weights.
        stream = np.random.default_rng(int(rng.integers(2**31)))
        for index in dropouts:
            layers[index] = Dropout(specs[index].rate, stream)
    return layers
