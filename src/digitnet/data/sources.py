"""Turn the user's `--data` argument into a Dataset.

Accepted: `sample` (the bundled MNIST sample), a Kaggle CSV file, or a folder
holding MNIST-format IDX files (train-images-idx3-ubyte[.gz] and
train-labels-idx1-ubyte[.gz], or the t10k-* test pair).
"""

from __future__ import annotations

import os
from pathlib import Path

from digitnet.data.bundled import load_sample
from digitnet.data.dataset import CLASSES, PIXELS, Dataset
from digitnet.data.idx import read_idx
from digitnet.data.kaggle_csv import read_kaggle_csv
from digitnet.errors import DigitnetError

SAMPLE = "sample"


def load_data(spec: str | os.PathLike[str], *, need_labels: bool = True) -> Dataset:
    """Load what `spec` names.  See the module docstring for what it may name."""
    if str(spec) == SAMPLE:
        return load_sample()
    path = Path(spec)
    if path.is_dir():
        return load_idx_folder(path, split="train")
    if path.suffix.lower() == ".csv" or path.exists():
        return read_kaggle_csv(path, need_labels=need_labels)
    raise DigitnetError(
        f"{path}: no such file or folder (--data takes 'sample', a Kaggle CSV or an IDX folder)"
    )


def load_idx_folder(folder: Path, split: str = "train") -> Dataset:
    """Read the images and labels of one split ('train' or 't10k') from an IDX folder."""
    images_path = _find(folder, f"{split}-images-idx3-ubyte")
    labels_path = _find(folder, f"{split}-labels-idx1-ubyte")
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim != 3 or images.shape[1] * images.shape[2] != PIXELS:
        raise DigitnetError(f"{images_path}: expected 28x28 images, found shape {images.shape}")
    if labels.ndim != 1:
        raise DigitnetError(f"{labels_path}: expected a 1-D label file, found {labels.shape}")
    if len(labels) and labels.max() >= CLASSES:
        raise DigitnetError(f"{labels_path}: label {labels.max()} is outside 0..{CLASSES - 1}")
    if len(images) != len(labels):
        raise DigitnetError(
            f"{folder}: {len(images)} images but {len(labels)} labels in the {split} files"
        )
    return Dataset(
        images.reshape(len(images), PIXELS),
        labels.astype("int64"),
        f"IDX files in {folder} ({split}, {len(images)} images)",
    )


def _find(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise DigitnetError(f"{folder}: has no {stem} or {stem}.gz file")
