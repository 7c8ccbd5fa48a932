"""How a layer's weights start.

An initializer takes the weight's shape and its fan-in and fan-out: how many
inputs feed each output unit, and how many outputs each input feeds.  For a
Dense layer of n_in x n_out those are n_in and n_out; for a convolution kernel
of kh x kw x channels x filters, kh*kw*channels and kh*kw*filters (one output
sees a kh x kw patch of every channel).  That is all the schemes need to know.

- `uniform`: the notebook's choice, every weight drawn from U(-0.5, 0.5).
  Fine for its 10-unit hidden layer; for wide layers the outputs' variance
  grows with the number of inputs and training stalls.
- `he`: N(0, 2 / fan_in) (He et al., 2015).  Keeps the variance of ReLU
  activations about the same from layer to layer, whatever the width, which
  is why it is the default.
- `glorot`: U(-r, r) with r = sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio,
  2010): the same idea for tanh and sigmoid layers.

Biases start at 0, except with `uniform`, where the notebook drew them from
U(-0.5, 0.5) as well (`initial_bias`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Shape = tuple[int, ...]
Initializer = Callable[[np.random.Generator, Shape, int, int], np.ndarray]


def uniform(rng: np.random.Generator, shape: Shape, fan_in: int, fan_out: int) -> np.ndarray:
    """The notebook's `np.random.rand(...) - 0.5`."""
    return rng.random(shape) - 0.5


def he(rng: np.random.Generator, shape: Shape, fan_in: int, fan_out: int) -> np.ndarray:
    """He-normal: standard deviation sqrt(2 / fan_in)."""
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)


def glorot(rng: np.random.Generator, shape: Shape, fan_in: int, fan_out: int) -> np.ndarray:
    """Glorot (Xavier) uniform."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, shape)


INITIALIZERS: dict[str, Initializer] = {"uniform": uniform, "he": he, "glorot": glorot}


def initial_bias(init: str, rng: np.random.Generator, size: int) -> np.ndarray:
    """Zeros, or the notebook's U(-0.5, 0.5) with its `uniform` scheme."""
    return rng.random(size) - 0.5 if init == "uniform" else np.zeros(size)
