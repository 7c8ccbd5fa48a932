"""The small real MNIST sample that ships inside the package.

5,000 images, 500 of each digit, from the original MNIST training set (see
scripts/make_bundled_sample.py).  It lets `digitnet train` run offline on a
fresh machine and gives the tests real handwriting to learn from.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import numpy as np

from digitnet.data.dataset import Dataset
from digitnet.wording import count

SAMPLE_FILE = "mnist_sample.npz"


def sample_file() -> Path | None:
    """The bundled sample's file where it is one on disk (None inside a zipped install)."""
    resource = resources.files("digitnet.data") / "bundled" / SAMPLE_FILE
    return Path(str(resource)) if isinstance(resource, Path) else None


def load_sample() -> Dataset:
    """The bundled sample as a Dataset (uint8 images, int64 labels)."""
    resource = resources.files("digitnet.data") / "bundled" / SAMPLE_FILE
    with resources.as_file(resource) as path, np.load(path, allow_pickle=False) as archive:
        images = archive["images"]
        labels = archive["labels"].astype(np.int64)
    return Dataset(images, labels, f"bundled MNIST sample ({count(len(images), 'image')})")


SERVED_MODEL = "digits-cnn.npz"  # what `digitnet serve` offers with no model given


@contextmanager
def served_model_path() -> Iterator[Path]:
    """The path of the small CNN shipped for `digitnet serve` (scripts/train_served_model.py)."""
    resource = resources.files("digitnet.data") / "bundled" / SERVED_MODEL
    with resources.as_file(resource) as path:
        yield path
