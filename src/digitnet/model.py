"""A trained model: the network plus everything needed to use and explain it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm import tqdm

from digitnet.data.preprocess import Preprocessing
from digitnet.network import Network

PREDICT_BATCH = 4096  # rows converted to floats at a time: bounds memory for big sets


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

    def predict_proba(self, images: np.ndarray, progress: bool | None = False) -> np.ndarray:
        """Probabilities (m, 10) for uint8 images (m, 784).

        `progress=None` shows a progress bar on a terminal when there are many images.
        """
        chunks = range(0, len(images), PREDICT_BATCH)
        show = len(images) > 10 * PREDICT_BATCH if progress is None else progress
        probabilities = [
            self.network.predict_proba(
                self.preprocessing.apply(images[start : start + PREDICT_BATCH], self.network.dtype)
            )
            for start in tqdm(
                chunks, desc="predicting", unit="batch", disable=None if show else True
            )
        ]
        return np.concatenate(probabilities) if probabilities else np.zeros((0, 10))

    def predict(self, images: np.ndarray, progress: bool | None = False) -> np.ndarray:
        """The predicted digit for each uint8 image row."""
        return self.predict_proba(images, progress).argmax(axis=1)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model to an .npz file atomically (see model_file.py)."""
        from digitnet.model_file import save_model

        save_model(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Model:
        """Read a model file; raises DigitnetError if it is not a valid one."""
        from digitnet.model_file import load_model

        return load_model(path)
