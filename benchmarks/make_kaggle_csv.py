"""Build Kaggle-format digit-recognizer files from the original MNIST IDX files.

Kaggle's train.csv has 42,000 labelled rows; we take the first 42,000 images of
the MNIST training set for it, and the remaining 18,000 (without labels) for a
test.csv.  Used by the benchmarks; nothing in the package or the tests needs it.

Usage: python benchmarks/make_kaggle_csv.py MNIST_FOLDER [OUT_FOLDER]
       (OUT_FOLDER defaults to benchmarks/data)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from digitnet.data.kaggle_csv import TEST_HEADER, TRAIN_HEADER
from digitnet.data.sources import load_idx_folder

TRAIN_ROWS = 42_000


def main(mnist_folder: str, out_folder: str) -> None:
    data = load_idx_folder(Path(mnist_folder))
    out = Path(out_folder)
    out.mkdir(parents=True, exist_ok=True)
    train = np.column_stack([data.labels[:TRAIN_ROWS], data.images[:TRAIN_ROWS]])
    np.savetxt(
        out / "train.csv",
        train,
        fmt="%d",
        delimiter=",",
        header=",".join(TRAIN_HEADER),
        comments="",
    )
    np.savetxt(
        out / "test.csv",
        data.images[TRAIN_ROWS:],
        fmt="%d",
        delimiter=",",
        header=",".join(TEST_HEADER),
        comments="",
    )
    np.savetxt(out / "test_labels.csv", data.labels[TRAIN_ROWS:], fmt="%d")
    print(f"wrote {out}/train.csv ({TRAIN_ROWS} rows), test.csv and test_labels.csv")


if __name__ == "__main__":
    if not 2 <= len(sys.argv) <= 3 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)  # the usage, and exit status 1
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else str(Path(__file__).parent / "data"))
