"""What every layer is: one protocol, and the one-line description of a layer (LayerSpec).

Every layer, whatever it computes, offers the same four things:

    forward(x, training=False)        -> its output, remembering what backward needs
    backward(grad, input_grad=True)   -> dL/d(its input), or None when input_grad is False;
                                         writes the gradients of its own parameters
    parameters()                      -> [(parameter, its gradient buffer), ...]
    arrays()                          -> {name: array} for a model file (parameters and
                                         statistics such as batch norm's running averages)

`input_grad=False` is how the network says "nothing below you learns": the first
layer with parameters then skips dL/dinput (for a Dense layer on 784 pixels, the
costliest product of the step).  A layer without parameters ignores it.

How each kind of layer is written (a LayerSpec), what shape it outputs and
how a fresh one is built is declared once, in kinds.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

Shape = tuple[int, ...]  # one example: (features,) for rows, (height, width, channels) for maps


class Layer(Protocol):
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray: ...

    def backward(self, grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None: ...

    def parameters(self) -> list[tuple[np.ndarray, np.ndarray]]: ...

    def arrays(self) -> dict[str, np.ndarray]: ...


@dataclass(frozen=True)
class Init:
    """How a fresh layer's weights are drawn: the scheme (init.py), the random
    stream shared by the whole network (drawn input side first), and the dtype."""

    scheme: str
    rng: np.random.Generator
    dtype: np.dtype


class Stateless:
    """A layer with nothing to learn or save (activations, pooling, dropout, reshapes)."""

    def parameters(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return []

    def arrays(self) -> dict[str, np.ndarray]:
        return {}
