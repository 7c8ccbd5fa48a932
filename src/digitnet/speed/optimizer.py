"""The optimizer step, shared among the workers: the same rule on pieces of each parameter.

Part of the speed step (speed/__init__.py).  Every rule in training/optimizer.py
moves each number of a parameter by what its own gradient (and its own
momentum or running averages) says: no number looks at another.  So the
parameters can be cut into pieces of rows, one textbook optimizer run on each
piece (its state is that piece's), and the pieces shared among the threads:
the same numbers exactly, at any thread count.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from digitnet.speed.workers import SMALLEST_PIECE, WORKERS, split

PARTS = 8
SMALLEST = SMALLEST_PIECE  # numbers in a piece; smaller parameters stay whole


class Optimizer(Protocol):
    """What training/optimizer.py's SGD and Adam offer."""

    learning_rate: float
    parameters: list[tuple[np.ndarray, np.ndarray]]

    def step(self) -> None: ...

    def with_parameters(self, parameters: list[tuple[np.ndarray, np.ndarray]]) -> Optimizer: ...


class PiecewiseOptimizer:
    """`optimizer`'s rule, run as one copy of it per piece of the parameters."""

    def __init__(self, optimizer: Optimizer) -> None:
        self.optimizer = optimizer  # the textbook one: its settings, no state of its own used
        pieces: list[list] = [[] for _ in range(PARTS)]
        whole = []
        for param, grad in optimizer.parameters:
            row_size = param[0].size if param.ndim > 1 else param.size
            if param.ndim < 2 or param.size < 2 * SMALLEST:
                whole.append((param, grad))
                continue
            for index, rows in enumerate(split(len(param), PARTS, -(-SMALLEST // row_size))):
                pieces[index].append((param[rows], grad[rows]))
        pieces[0] += whole
        self.copies = [optimizer.with_parameters(piece) for piece in pieces if piece]

    @property
    def learning_rate(self) -> float:
        return self.optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:  # set by the schedule before each step
        self.optimizer.learning_rate = value
        for copy in self.copies:
            copy.learning_rate = value

    def step(self) -> None:
        WORKERS.map(lambda copy: copy.step(), self.copies)
