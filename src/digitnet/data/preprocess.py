"""From stored pixels to network inputs.

The only preprocessing is the notebook's: divide by 255 so inputs lie in 0..1.
It is recorded in every model file so that predictions use exactly what
training used.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Preprocessing:
    divide_by: float = 255.0

    def apply(self, images: np.ndarray, dtype: np.dtype | type = np.float32) -> np.ndarray:
        """uint8 images (m, 784) -> float inputs (m, 784) in 0..1."""
        inputs = images.astype(dtype)
        inputs /= self.divide_by
        return inputs

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Preprocessing:
        return cls(divide_by=float(values["divide_by"]))
