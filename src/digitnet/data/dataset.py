"""The in-memory form of every data source: raw images, labels, and where they came from."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

IMAGE_SIDE = 28
PIXELS = IMAGE_SIDE * IMAGE_SIDE  # 784 inputs, one per pixel
CLASSES = 10  # the digits 0..9
DIGITS = tuple("0123456789")  # the class names of digit data, and the default for any data


def class_noun(class_names: tuple[str, ...] | list[str]) -> str:
    """'digit' when the classes are the digits 0..9, else 'class': the word for one
    class in titles and messages ("predicted digit", but "predicted class" for
    Fashion-MNIST, where "digit" would be wrong)."""
    return "digit" if tuple(class_names) == DIGITS else "class"


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
    class_names: what each label 0..9 stands for, for pictures and messages:
        the digits themselves, or for a named dataset its catalog names
        ('T-shirt/top', 'Trouser', ... for Fashion-MNIST).
    """

    images: np.ndarray
    labels: np.ndarray | None
    source: str
    kind: str = "handwriting"
    spec: str | None = None
    class_names: tuple[str, ...] = DIGITS

    @property
    def noun(self) -> str:
        """What one class is called in titles: 'digit' for digits, else 'class'."""
        return class_noun(self.class_names)

    def fingerprint(self) -> str:
        """A short checksum of the labels: tells whether data is the same set again."""
        labels = b"" if self.labels is None else self.labels.astype("<i8").tobytes()
        return hashlib.sha256(labels).hexdigest()[:16]

    def __len__(self) -> int:
        return len(self.images)
