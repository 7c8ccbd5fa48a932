"""A network is a stack of layers: forward runs them in order, backward in reverse.

    logits = layer_n( ... layer_2( layer_1(x) ) )                (forward)
    dL/dx  = layer_1'( ... layer_n'( dL/dlogits ) )               (backward: chain rule)

The loss (softmax + cross-entropy, see loss.py) sits on top of the logits and
provides dL/dlogits to start the backward pass.  What the layers are is one
line of text, a layer spec (spec.py), which is also what a model file stores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from digitnet.errors import DigitnetError, check_seed
from digitnet.network.init import INITIALIZERS
from digitnet.network.kinds import KINDS, LayerSpec
from digitnet.network.layer import Init, Layer, Shape
from digitnet.network.layers import Dropout
from digitnet.network.loss import SoftmaxCrossEntropy, softmax
from digitnet.network.spec import (
    ACTIVATIONS,
    format_layers,
    mlp_layers,
    output_shape,
    parse_layers,
)

Progress = Callable[[Iterable], Iterable]  # wraps the batches, e.g. in a progress bar


class Network:
    """Layers built from a layer spec, with the forward and backward passes over them."""

    def __init__(self, layers: list[Layer], specs: list[LayerSpec], inputs: int) -> None:
        self.layers, self.specs, self.inputs = layers, specs, inputs
        self.loss = SoftmaxCrossEntropy  # the cost on top of the logits (loss.py)
        self.label_smoothing = 0.0  # the loss's target, softened when training asks for it
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
    ) -> Network:
        """A fresh network.

        `layers` is a layer spec ("conv32k5,relu,pool2,dense10", see spec.py), or
        for an MLP a list of widths, e.g. [784, 10, 10] for the notebook's: one
        `activation` (then Dropout, if `dropout` > 0) between Dense layers.  The
        last layer outputs logits (softmax is applied by the loss and by
        `predict_proba`).  float32 is the default; ask for float64 for gradient
        checks.  `inputs`: pixels per row, for a spec.

        These are the textbook layers, each forward beside its backward;
        `digitnet.speed.accelerate` turns the network into a faster one that
        computes the same numbers.
        """
        if isinstance(layers, str):
            text = layers
        else:
            if not isinstance(layers, Sequence) or not all(
                isinstance(size, int | np.integer) and not isinstance(size, bool) for size in layers
            ):
                raise DigitnetError(f"layers={layers!r:.60}: must be a layer spec "
                                    "('dense256,relu,dense10') or a list of widths")  # fmt: skip
            sizes = [int(size) for size in layers]
            if len(sizes) < 2 or min(sizes) < 1:
                raise DigitnetError(f"layer sizes {sizes}: need input and output sizes >= 1")
            inputs, text = sizes[0], mlp_layers(tuple(sizes[1:-1]), activation, dropout, sizes[-1])
        if init not in INITIALIZERS:
            raise DigitnetError(f"unknown init '{init}' (choose from {', '.join(INITIALIZERS)})")
        try:
            floating = np.dtype(dtype) in (np.float32, np.float64)
        except TypeError:  # not a dtype at all ("zzz")
            floating = False
        if not floating:
            raise DigitnetError(f"dtype={dtype!r:.40}: must be float32 or float64")
        specs = parse_layers(text, pixels=inputs, classes=None)
        if not isinstance(seed, np.random.Generator):
            seed = check_seed(seed)
        rng = np.random.default_rng(seed)
        built = _create_layers(specs, inputs, Init(init, rng, np.dtype(dtype)))
        return cls(built, specs, inputs)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """The logits (m, classes) for a batch x (m, inputs)."""
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, logits_grad: np.ndarray) -> None:
        """Backpropagate dL/dlogits, writing every parameter's gradient."""
        grad: np.ndarray | None = logits_grad
        for index in reversed(range(self.first_learning, len(self.layers))):
            assert grad is not None  # only the first learning layer returns None
            grad = self.layers[index].backward(grad, input_grad=index > self.first_learning)

    def gradient(self, x: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """One forward and one backward pass over the batch (x, labels): every
        parameter's gradient of the batch's mean loss.  Returns the logits, from
        which the trainer reads the batch's loss and accuracy.

        The batch may be the whole training set (full-batch gradient descent):
        batch norm then normalises with the statistics of every row.
        """
        logits = self.forward(x, training=True)
        self.backward(self.loss.delta(logits, labels, self.label_smoothing))
        return logits

    def __repr__(self) -> str:
        weights = sum(parameter.size for parameter, _ in self.parameters())
        return f"Network('{self.layer_spec}', {self.dtype.name}, {weights:,} parameters)"

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
        batch_size: int | None = None,
        prepare: Callable[[np.ndarray], np.ndarray] | None = None,
        progress: Progress | None = None,
    ) -> np.ndarray:
        """The outputs (m, classes) for many rows, `batch_size` rows at a time
        (default: `measuring_batch`).

        The one batched forward pass behind prediction and measurement: in
        batches, memory stays bounded (a CNN's im2col of 60,000 images at once
        would take gigabytes).  `prepare` turns each batch of stored rows into
        inputs first (a model's pixels to floats), so the whole set is never
        converted at once either.  `progress` wraps the batches (a progress bar).
        """
        return self._batches(x, batch_size, prepare, progress, then=None)

    def predict_proba(
        self,
        x: np.ndarray,
        batch_size: int | None = None,
        prepare: Callable[[np.ndarray], np.ndarray] | None = None,
        progress: Progress | None = None,
    ) -> np.ndarray:
        """Class probabilities (m, classes): the softmax of `logits`, batch by batch
        (so a model's probabilities do not depend on how many rows come with it)."""
        return self._batches(x, batch_size, prepare, progress, then=softmax)

    def _batches(
        self,
        x: np.ndarray,
        batch_size: int | None,
        prepare: Callable[[np.ndarray], np.ndarray] | None,
        progress: Progress | None,
        then: Callable[[np.ndarray], np.ndarray] | None,
    ) -> np.ndarray:
        batch_size = batch_size or self.measuring_batch
        starts: Iterable[int] = range(0, len(x), batch_size)
        outputs = []
        for start in progress(starts) if progress else starts:
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
    def measuring_batch(self) -> int:
        """Rows per batch when predicting or measuring.  Every layer keeps its input
        until the next batch, so a CNN holds a batch's feature maps layer after
        layer: 1,024 images of 28x28x32 make 100 MB for each such layer.  A CNN's
        image does not meet the others in its batch, so fewer at a time give it the
        same outputs; an MLP's batches are small anyway."""
        return 256 if self.is_convolutional else 1024

    @property
    def is_convolutional(self) -> bool:
        return any(spec.kind == "conv" for spec in self.specs)


def _create_layers(specs: list[LayerSpec], inputs: int, init: Init) -> list[Layer]:
    """One fresh layer per spec, as kinds.py declares; weights drawn in order, input side first."""
    layers: list[Layer] = []
    shape: Shape = (inputs,)
    for spec in specs:
        layers.append(KINDS[spec.kind].build(spec, shape, init))
        shape = output_shape(spec, shape)
    dropouts = [layer for layer in layers if isinstance(layer, Dropout)]
    if dropouts:
        # Drawn after every weight, so adding dropout does not change the initial weights.
        stream = np.random.default_rng(int(init.rng.integers(2**31)))
        for layer in dropouts:
            layer.rng = stream
    return layers
