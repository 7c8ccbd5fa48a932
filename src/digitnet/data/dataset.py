"""The in-memory form of every data source: raw images, labels, and where they came from."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

IMAGE_SIDE = 28
PIXELS = IMAGE_SIDE * IMAGE_SIDE  # 784 inputs, one per pixel
CLASSES = 10  # the digits 0..9


@dataclass(frozen=True)
class Dataset:
    """Images as stored on disk, before any preprocessing.

    images: uint8 array of shape (n, 784), one flattened 28x28 image per row,
        0 = background, 255 = full ink (the MNIST convention).
    labels: int64 array of shape (n,) with digits 0..9, or None for unlabelled
        data such as Kaggle's test.csv.
    source: a human-readable description ("bundled MNIST sample (5000 images)"),
        printed by every command so the user always knows what was used.
    kind: what the images show, which decides the augmentation that fits them:
        'handwriting' (digits, characters) or 'clothes' (Fashion-MNIST).
    spec: what `load_data` was given to find it again ('sample', 'mnist', an
        absolute path), or None; a model records it, so that `digitnet evaluate`
        can rebuild the rows the model held out.
    """

    images: np.ndarray
    labels: np.ndarray | None
    source: str
    kind: str = "handwriting"
    spec: str | None = None

    def fingerprint(self) -> str:
        """A short checksum of the labels: tells whether data is the same set again."""
        labels = b"" if self.labels is None else self.labels.astype("<i8").tobytes()
        return hashlib.sha256(labels).hexdigest()[:16]

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, indices: np.ndarray, source: str | None = None) -> Dataset:
        """The rows at `indices`, in that order."""
        labels = None if self.labels is None else self.labels[indices]
        return Dataset(self.images[indices], labels, source or self.source)
