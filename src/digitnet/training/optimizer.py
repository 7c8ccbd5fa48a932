"""The optimizer step: how parameters move once their gradients are known.

Each optimizer updates every parameter in place, one rule a class.  Weight
decay (L2 regularisation) pulls weight matrices toward 0; biases are not
decayed (they do not make the function wilder).  `learning_rate` may be changed
between steps (by a schedule, see schedule.py).

    SGD:       v <- mu v + g                  (g: the gradient, plus wd * w for weights)
               w <- w - lr v                  (plain gradient descent when mu = 0)
               Nesterov: w <- w - lr (g + mu v)   (look one step ahead along v)
    Adam:      m <- b1 m + (1 - b1) g         (a running mean of gradients)
               s <- b2 s + (1 - b2) g^2       (and of their squares)
               w <- w - lr m^ / (sqrt(s^) + eps),  m^ = m / (1 - b1^t), s^ = s / (1 - b2^t)
    AdamW:     Adam, with the decay applied to w directly (w <- w - lr wd w), not through g
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

Parameters = list[tuple[np.ndarray, np.ndarray]]


class Optimizer(Protocol):
    """What the training loop needs of an optimizer: a step, and a rate to set."""

    learning_rate: float

    def step(self) -> None: ...


class SGD:
    def __init__(
        self,
        parameters: Parameters,
        learning_rate: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        self.parameters = parameters
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weight_decay = weight_decay
        # A velocity and a scratch buffer per parameter, allocated once.
        self.velocities = [np.zeros_like(param) for param, _ in parameters]
        self.scratch = [np.empty_like(param) for param, _ in parameters]

    def with_parameters(self, parameters: Parameters) -> SGD:
        """A fresh optimizer of the same rule and settings, over other parameters."""
        return SGD(parameters, self.learning_rate, self.momentum, self.nesterov,
                   self.weight_decay)  # fmt: skip

    def step(self) -> None:
        """Move every parameter one step against its current gradient."""
        for (param, grad), velocity, scratch in zip(self.parameters, self.velocities, self.scratch):
            if self.weight_decay and param.ndim > 1:  # L2: d/dw (wd/2 |w|^2) = wd w
                grad = grad + self.weight_decay * param
            step = grad
            if self.momentum:
                velocity *= self.momentum  # v <- mu v + g
                velocity += grad
                step = grad + self.momentum * velocity if self.nesterov else velocity
            np.multiply(step, self.learning_rate, out=scratch)  # w <- w - lr step
            param -= scratch


class Adam:
    def __init__(
        self,
        parameters: Parameters,
        learning_rate: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled: bool = False,
    ) -> None:
        self.parameters = parameters
        self.learning_rate = learning_rate
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.weight_decay = weight_decay
        self.decoupled = decoupled  # True: AdamW
        self.means = [np.zeros_like(param) for param, _ in parameters]
        self.squares = [np.zeros_like(param) for param, _ in parameters]
        self.steps = 0

    def with_parameters(self, parameters: Parameters) -> Adam:
        """A fresh optimizer of the same rule and settings, over other parameters."""
        fresh = Adam(parameters, self.learning_rate, (self.beta1, self.beta2), self.eps,
                     self.weight_decay, self.decoupled)  # fmt: skip
        fresh.steps = self.steps
        return fresh

    def step(self) -> None:
        self.steps += 1
        correction1 = 1 - self.beta1**self.steps
        correction2 = 1 - self.beta2**self.steps
        for (param, grad), mean, square in zip(self.parameters, self.means, self.squares):
            decays = self.weight_decay and param.ndim > 1
            if decays and self.decoupled:  # AdamW: shrink the weights themselves
                param -= self.learning_rate * self.weight_decay * param
            elif decays:  # Adam with L2: through the gradient
                grad = grad + self.weight_decay * param
            mean *= self.beta1
            mean += (1 - self.beta1) * grad
            square *= self.beta2
            square += (1 - self.beta2) * grad * grad
            denominator = np.sqrt(square / correction2) + self.eps
            param -= self.learning_rate * (mean / correction1) / denominator


OPTIMIZERS = ("gd", "sgd", "nesterov", "adam", "adamw")


def make_optimizer(
    name: str,
    parameters: Parameters,
    learning_rate: float,
    momentum: float = 0.0,
    weight_decay: float = 0.0,
) -> SGD | Adam:
    """The optimizer called `name`: gd/sgd (with optional momentum), nesterov, adam, adamw."""
    if name in ("gd", "sgd"):
        return SGD(parameters, learning_rate, momentum, weight_decay=weight_decay)
    if name == "nesterov":
        return SGD(parameters, learning_rate, momentum or 0.9, nesterov=True,
                   weight_decay=weight_decay)  # fmt: skip
    if name in ("adam", "adamw"):
        return Adam(parameters, learning_rate, weight_decay=weight_decay,
                    decoupled=name == "adamw")  # fmt: skip
    raise ValueError(f"unknown optimizer '{name}' (choose from {', '.join(OPTIMIZERS)})")
