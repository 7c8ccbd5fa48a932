"""A trained model: the network plus everything needed to use and explain it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from digitnet.data.preprocess import Preprocessing
from digitnet.network import Network


@dataclass
class Model:
    """network: the weights; preprocessing: how raw pixels become inputs;
    recipe: the settings it was trained with; history: its training curve;
    info: where it came from (data, seed, split, timing, interruption)."""

    network: Network
    preprocessing: Preprocessing = field(default_factory=Preprocessing)
    recipe: dict[str, Any] = field(default_factory=dict)
    history: dict[str, list] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """Probabilities (m, 10) for uint8 images (m, 784)."""
        return self.network.predict_proba(self.preprocessing.apply(images, self.network.dtype))

    def predict(self, images: np.ndarray) -> np.ndarray:
        """The predicted digit for each uint8 image row."""
        return self.predict_proba(images).argmax(axis=1)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model to an .npz file atomically (see model_file.py)."""
        from digitnet.model_file import save_model

        save_model(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Model:
        """Read a model file; raises DigitnetError if it is not a valid one."""
        from digitnet.model_file import load_model

        return load_model(path)
