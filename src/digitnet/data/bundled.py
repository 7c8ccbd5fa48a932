"""The small real MNIST sample that ships inside the package.

5,000 images, 500 of each digit, from the original MNIST training set (see
scripts/make_bundled_sample.py).  It lets `digitnet train` run offline on a
fresh machine and gives the tests real handwriting to learn from.
"""

from __future__ import annotations

from importlib import resources

import numpy as np

from digitnet.data.dataset import Dataset


def load_sample() -> Dataset:
    """The bundled sample as a Dataset (uint8 images, int64 labels)."""
    resource = resources.files("digitnet.data") / "bundled" / "mnist_sample.npz"
    with resources.as_file(resource) as path, np.load(path, allow_pickle=False) as archive:
        images = archive["images"]
        labels = archive["labels"].astype(np.int64)
    return Dataset(images, labels, f"bundled MNIST sample ({len(images)} images)")
