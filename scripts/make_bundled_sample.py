"""Build the small MNIST sample that ships inside the package.

The sample is 500 images of each digit (5,000 in all) taken from the original
MNIST training files: for each digit, its first 500 images in file order.  The
rows are then shuffled with a fixed seed so that the digits are interleaved.

Usage: python scripts/make_bundled_sample.py ../shared/data/mnist
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from digitnet.data.idx import read_idx
from digitnet.errors import DigitnetError

PER_DIGIT = 500
OUTPUT = Path(__file__).parent.parent / "src/digitnet/data/bundled/mnist_sample.npz"


def main(folder: str) -> None:
    images = read_idx(Path(folder) / "train-images-idx3-ubyte.gz").reshape(-1, 784)
    labels = read_idx(Path(folder) / "train-labels-idx1-ubyte.gz")
    chosen = np.concatenate([np.flatnonzero(labels == digit)[:PER_DIGIT] for digit in range(10)])
    chosen = np.random.default_rng(0).permutation(chosen)
    np.savez_compressed(
        OUTPUT, images=images[chosen], labels=labels[chosen], mnist_train_index=chosen
    )
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size} bytes, {len(chosen)} images)")


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)  # the usage, and exit status 1
    try:
        main(sys.argv[1])
    except DigitnetError as error:
        sys.exit(f"make_bundled_sample: error: {error}")
