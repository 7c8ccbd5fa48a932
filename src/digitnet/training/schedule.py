"""Learning-rate schedules: the learning rate as a function of training progress.

`factor(epoch)` multiplies the base learning rate; `epoch` is fractional (2.5 is
halfway through the third epoch), so the rate changes smoothly batch by batch.

    constant:  1
    step:      gamma ** floor(epoch / every)            (e.g. halve every 10 epochs)
    cosine:    (1 + cos(pi * epoch / epochs)) / 2       (from 1 down to 0 at the end)
    warm-up:   for the first `warmup` epochs, rise linearly from 0 to the above
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SCHEDULES = ("constant", "step", "cosine")


@dataclass(frozen=True)
class Schedule:
    kind: str = "constant"
    epochs: int = 1  # the length of training, for cosine
    warmup: float = 0.0  # epochs of linear warm-up
    every: float = 10.0  # for step: epochs between drops
    gamma: float = 0.5  # for step: the factor at each drop

    def __post_init__(self) -> None:
        if self.kind not in SCHEDULES:
            raise ValueError(f"unknown schedule '{self.kind}' (choose from {', '.join(SCHEDULES)})")

    def factor(self, epoch: float) -> float:
        if self.kind == "step":
            value = self.gamma ** math.floor(epoch / self.every)
        elif self.kind == "cosine":
            value = (1 + math.cos(math.pi * min(epoch / self.epochs, 1.0))) / 2
        else:
            value = 1.0
        if self.warmup > 0 and epoch < self.warmup:
            value *= epoch / self.warmup
        return value
