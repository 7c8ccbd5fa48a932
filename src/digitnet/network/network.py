"""A network is a stack of layers: forward runs them in order, backward in reverse.

    logits = layer_n( ... layer_2( layer_1(x) ) )                (forward)
    dL/dx  = layer_1'( ... layer_n'( dL/dlogits ) )               (backward: chain rule)

The loss (softmax + cross-entropy, see loss.py) sits on top of the logits and
provides dL/dlogits to start the backward pass.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from digitnet.errors import DigitnetError
from digitnet.network.init import INITIALIZERS
from digitnet.network.layers import Dense, Dropout, LeakyReLU, ReLU, Sigmoid, Tanh
from digitnet.network.loss import softmax

Layer = Dense | ReLU | LeakyReLU | Tanh | Sigmoid | Dropout
ACTIVATIONS = {"relu": ReLU, "leaky_relu": LeakyReLU, "tanh": Tanh, "sigmoid": Sigmoid}
_ACTIVATION_NAMES = {cls: name for name, cls in ACTIVATIONS.items()}


class Network:
    """A multilayer perceptron: Dense layers with an activation between them."""

    def __init__(self, layers: list[Layer]) -> None:
        self.layers = layers

    @classmethod
    def build(
        cls,
        sizes: list[int],
        *,
        activation: str = "relu",
        init: str = "he",
        dropout: float = 0.0,
        seed: int | np.random.Generator = 0,
        dtype: type[np.floating] | np.dtype = np.float32,
    ) -> Network:
        """A fresh network with layer widths `sizes`, e.g. [784, 10, 10] for the notebook.

        Between consecutive Dense layers goes one `activation` (then Dropout, if
        `dropout` > 0); the last Dense layer outputs logits (softmax is applied by
        the loss and by `predict_proba`).  float32 is the default; ask for float64
        for gradient checks.
        """
        if len(sizes) < 2 or any(size < 1 for size in sizes):
            raise DigitnetError(f"layer sizes {sizes}: need at least input and output sizes >= 1")
        if init not in INITIALIZERS:
            raise DigitnetError(f"unknown init '{init}' (choose from {', '.join(INITIALIZERS)})")
        if activation not in ACTIVATIONS:
            raise DigitnetError(
                f"unknown activation '{activation}' (choose from {', '.join(ACTIVATIONS)})"
            )
        if not 0 <= dropout < 1:
            raise DigitnetError(f"dropout rate {dropout}: must be in 0..1 (excluding 1)")
        rng = np.random.default_rng(seed)
        parameters = [
            tuple(array.astype(dtype) for array in INITIALIZERS[init](rng, n_in, n_out))
            for n_in, n_out in zip(sizes[:-1], sizes[1:])
        ]
        architecture = {"sizes": list(sizes), "activation": activation, "dropout": dropout}
        dropout_seed = int(rng.integers(2**31)) if dropout else 0  # no draw: same init as before
        return cls.from_architecture(
            architecture, [w for w, _ in parameters], [b for _, b in parameters], dropout_seed
        )

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """The logits (m, classes) for a batch x (m, inputs)."""
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def zero_grad(self) -> None:
        """Empty every gradient buffer (backward adds to them)."""
        for layer in self.layers:
            layer.zero_grad()

    def backward(self, logits_grad: np.ndarray) -> None:
        """Backpropagate dL/dlogits, adding to every Dense layer's gradients."""
        grad = logits_grad
        for layer in reversed(self.layers[1:]):
            grad = layer.backward(grad)
        # Below the first layer is the image itself, which is not learned: skip its
        # gradient dL/dx, the costliest product of the pass for 784 inputs.
        self.layers[0].backward(grad, input_grad=False)

    def parameters(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Every (parameter, gradient) pair, input side first."""
        return [pair for layer in self.layers for pair in layer.parameters()]

    def hidden_activations(self, x: np.ndarray) -> list[np.ndarray]:
        """What each hidden layer outputs (after its activation) for a batch x."""
        outputs = []
        for layer in self.layers[:-1]:
            x = layer.forward(x)
            if not isinstance(layer, Dense | Dropout):
                outputs.append(x)
        return outputs

    def predict_proba(self, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        """Class probabilities (m, classes), computed in batches to bound memory."""
        chunks = [
            softmax(self.forward(x[i : i + batch_size])) for i in range(0, len(x), batch_size)
        ]
        return np.concatenate(chunks) if chunks else np.zeros((0, self.sizes[-1]), self.dtype)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The most probable class of each row of x."""
        return self.predict_proba(x).argmax(axis=1)

    @property
    def dense_layers(self) -> list[Dense]:
        return [layer for layer in self.layers if isinstance(layer, Dense)]

    @property
    def sizes(self) -> list[int]:
        dense = self.dense_layers
        return [dense[0].weight.shape[0]] + [layer.weight.shape[1] for layer in dense]

    @property
    def dtype(self) -> np.dtype:
        return self.dense_layers[0].weight.dtype

    def architecture(self) -> dict[str, Any]:
        """A JSON-able description from which `from_architecture` rebuilds the layers."""
        activation = next(
            (name for layer in self.layers for cls, name in _ACTIVATION_NAMES.items()
             if type(layer) is cls), "relu",
        )  # fmt: skip
        dropout = next((layer.rate for layer in self.layers if isinstance(layer, Dropout)), 0.0)
        return {"sizes": self.sizes, "activation": activation, "dropout": dropout}

    @classmethod
    def from_architecture(
        cls,
        architecture: dict[str, Any],
        weights: list[np.ndarray],
        biases: list[np.ndarray],
        seed: int = 0,
    ) -> Network:
        """Rebuild a network from `architecture()` output and its parameter arrays."""
        activation = ACTIVATIONS[architecture["activation"]]
        dropout = float(architecture.get("dropout", 0.0))
        rng = np.random.default_rng(seed)
        layers: list[Layer] = []  # always Dense first, as backward() expects
        for index, (weight, bias) in enumerate(zip(weights, biases)):
            # The first layer's inputs are pixels, many blank: let it skip those.
            layers.append(Dense(weight, bias, skip_blank_inputs=index == 0))
            if index < len(weights) - 1:
                layers.append(activation())
                if dropout > 0:
                    layers.append(Dropout(dropout, rng))
        return cls(layers)
