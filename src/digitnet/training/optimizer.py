"""The optimizer step: how parameters move once their gradients are known.

Gradient descent with (optional) momentum, updating every parameter in place:

    velocity <- momentum * velocity - learning_rate * gradient
    parameter <- parameter + velocity

With momentum 0 this is the notebook's plain step  W <- W - alpha * dW.
Momentum lets the step build up speed along directions where the gradient
keeps its sign and damps directions where it oscillates.
"""

from __future__ import annotations

import numpy as np


class GradientDescent:
    def __init__(
        self,
        parameters: list[tuple[np.ndarray, np.ndarray]],
        learning_rate: float,
        momentum: float = 0.0,
    ) -> None:
        self.parameters = parameters
        self.learning_rate = learning_rate
        self.momentum = momentum
        # One velocity buffer per parameter, allocated once.
        self.velocities = [np.zeros_like(param) for param, _ in parameters]

    def step(self) -> None:
        """Move every parameter one step against its current gradient."""
        for (param, grad), velocity in zip(self.parameters, self.velocities):
            if self.momentum == 0.0:
                param -= self.learning_rate * grad
                continue
            velocity *= self.momentum
            velocity -= self.learning_rate * grad
            param += velocity
