"""How a Dense layer's weights and biases start.

- `uniform`: the notebook's choice, every weight and bias drawn from
  U(-0.5, 0.5).  Fine for its 10-unit hidden layer; for wide layers the
  outputs' variance grows with the number of inputs and training stalls.
- `he`: weights from N(0, 2 / n_in), biases 0 (He et al., 2015).  Keeps the
  variance of ReLU activations about the same from layer to layer, whatever
  the width, which is why it is the default.
- `glorot`: weights from U(-r, r) with r = sqrt(6 / (n_in + n_out)), biases 0
  (Glorot & Bengio, 2010): the same idea for tanh and sigmoid layers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Initializer = Callable[[np.random.Generator, int, int], tuple[np.ndarray, np.ndarray]]


def uniform(rng: np.random.Generator, n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """The notebook's `np.random.rand(...) - 0.5`, for weights and biases alike."""
    return rng.random((n_in, n_out)) - 0.5, rng.random(n_out) - 0.5


def he(rng: np.random.Generator, n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """He-normal weights (std sqrt(2 / n_in)) and zero biases."""
    return rng.normal(0.0, np.sqrt(2.0 / n_in), (n_in, n_out)), np.zeros(n_out)


def glorot(rng: np.random.Generator, n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Glorot (Xavier) uniform weights and zero biases."""
    limit = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, (n_in, n_out)), np.zeros(n_out)


INITIALIZERS: dict[str, Initializer] = {"uniform": uniform, "he": he, "glorot": glorot}
