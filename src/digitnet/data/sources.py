"""Turn the user's `--data` argument into a Dataset.

Accepted:
- `sample`: the MNIST sample bundled in the package;
- a dataset name, `mnist`, `fashion-mnist` or `kmnist`, optionally with a split,
  `mnist:train` or `mnist:test`; downloaded on first use (see download.py), or
  found where an OS package installed it;
- a folder of MNIST-format IDX files (train-images-idx3-ubyte[.gz] and
  train-labels-idx1-ubyte[.gz], and/or the t10k-* test pair), also with `:test`;
- a Kaggle CSV file.

Parsed CSV and IDX data are cached as binary (cache.py), keyed on the source files.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from digitnet.data import download as downloads
from digitnet.data.bundled import load_sample, sample_file
from digitnet.data.cache import cached
from digitnet.data.dataset import CLASSES, PIXELS, Dataset
from digitnet.data.dataset_table import DATASETS
from digitnet.data.idx import read_idx
from digitnet.data.kaggle_csv import csv_description, read_kaggle_csv
from digitnet.errors import DigitnetError, check_type
from digitnet.wording import count

SAMPLE = "sample"
SPLIT_FILES = {"train": "train", "test": "t10k"}


def load_data(
    spec: str | os.PathLike[str],
    *,
    need_labels: bool = True,
    split: str = "train",
    data_dir: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
) -> Dataset:
    """Load what `spec` names (see the module docstring).

    `split` is the default for names and folders ('train' or 'test'); with
    'test', a folder without test files falls back to its training files.
    """
    check_type(spec, (str, os.PathLike), "data", "a dataset name, a Kaggle CSV or an IDX folder")
    check_type(need_labels, bool, "need_labels", "True or False")
    if not os.fspath(spec).strip():  # Path('') is the current folder: not what was meant
        raise DigitnetError(f"data {os.fspath(spec)!r}: empty; give a dataset name (sample, "
                            "mnist...), a Kaggle CSV or a folder of IDX files")  # fmt: skip
    text = _known_name(str(spec))
    dataset = _load(text, need_labels, split, data_dir, progress)
    name = text.partition(":")[0]
    if text == SAMPLE or (name in DATASETS and not Path(text).exists()):
        found = name  # the split is the caller's to choose again
    else:
        path = Path(text) if Path(text).exists() else Path(name)
        # A pipe (/dev/stdin) resolves to 'pipe:[N]', a name that means nothing later:
        # it is recorded as it was given.  Files and folders are recorded in full.
        found = str(path.resolve() if path.is_file() or path.is_dir() else path.absolute())
    return dataclasses.replace(dataset, spec=found)


def data_files(text: str | os.PathLike[str] | None,
               data_dir: str | os.PathLike[str] | None = None) -> list[Path]:  # fmt: skip
    """The files that load_data(text) reads, as far as they can be told without reading
    them (nothing is downloaded): so that no output is ever written over one of them."""
    if text is None:
        return []
    text = os.fspath(text)
    if _known_name(text) == SAMPLE:
        bundled = sample_file()
        return [] if bundled is None else [bundled]
    name, colon, chosen = _known_name(text).partition(":")
    if name in DATASETS and not Path(text).exists():
        folder = downloads.dataset_folder(DATASETS[name], data_dir)
        return [folder / file.name for file in DATASETS[name].files]
    path = Path(name) if colon and chosen in SPLIT_FILES and not Path(text).exists() else Path(text)
    if path.is_dir():  # an IDX folder: its image and label files
        return [found for found in path.iterdir() if "-ubyte" in found.name]
    return [path]


def _known_name(text: str) -> str:
    """A dataset's name in any case ('MNIST', 'Sample', 'Fashion-MNIST:test') as its
    own; anything that is a path, or no known name, as it was given."""
    lowered = text.lower()
    if Path(text).exists() or Path(text.partition(":")[0]).exists():  # ./MNIST:test
        return text
    return lowered if lowered == SAMPLE or lowered.partition(":")[0] in DATASETS else text


def _load(
    text: str,
    need_labels: bool,
    split: str,
    data_dir: str | os.PathLike[str] | None,
    progress: bool | None,
) -> Dataset:
    if text == SAMPLE:
        return load_sample()
    name, colon, chosen = text.partition(":")
    if colon and chosen not in SPLIT_FILES and not Path(text).exists():
        raise DigitnetError(f"{text}: unknown split '{chosen}' (use :train or :test)")
    explicit = chosen if colon and chosen in SPLIT_FILES else None
    cache_folder = downloads.data_dir(data_dir) / "parsed"
    if name in DATASETS and not Path(text).exists():
        dataset_spec = DATASETS[name]
        chosen_split = explicit or split
        folder = downloads.download(dataset_spec, data_dir, progress, split=chosen_split)
        dataset = load_idx_folder(folder, chosen_split, cache_folder, label=dataset_spec.name)
        return dataclasses.replace(
            dataset, kind=dataset_spec.kind, class_names=dataset_spec.classes
        )
    path = Path(name) if explicit else Path(text)
    if path.is_dir():
        return load_idx_folder(path, explicit or split, cache_folder, strict=explicit is not None)
    if path.suffix.lower() == ".csv" or path.exists():
        if not path.is_file():
            return read_kaggle_csv(path, need_labels=need_labels)  # says what is wrong
        dataset = cached([path], lambda: read_kaggle_csv(path), cache_folder,
                         lambda found: csv_description(path, found))  # fmt: skip
        if need_labels and dataset.labels is None:
            return read_kaggle_csv(path, need_labels=True)  # raises the clear error
        return dataset
    known = ", ".join(["sample", *DATASETS])
    raise DigitnetError(
        f"{text}: no such file or folder, and not a dataset name ({known}); "
        "data is one of those, a Kaggle CSV or a folder of IDX files"
    )


def load_idx_folder(
    folder: Path,
    split: str = "train",
    cache_folder: Path | None = None,
    *,
    strict: bool = True,
    label: str | None = None,
) -> Dataset:
    """Read one split ('train' or 'test') of an IDX folder, checking that images and
    labels agree.  Without `strict`, a missing test split falls back to train."""
    prefix = SPLIT_FILES[split]
    if not strict and split == "test" and _find(folder, "t10k-images-idx3-ubyte") is None:
        prefix, split = "train", "train"
    images_path = _require(folder, f"{prefix}-images-idx3-ubyte")
    labels_path = _require(folder, f"{prefix}-labels-idx1-ubyte")
    where = f"{label} ({folder})" if label else f"IDX files in {folder}"

    def describe(dataset: Dataset) -> str:
        return f"{where}, {split} split ({count(len(dataset.images), 'image')})"

    def parse() -> Dataset:
        dataset = _parse_idx_pair(images_path, labels_path)
        return dataclasses.replace(dataset, source=describe(dataset))

    return cached([images_path, labels_path], parse, cache_folder, describe)


def _parse_idx_pair(images_path: Path, labels_path: Path) -> Dataset:
    """The images and labels of an IDX pair, checked to agree (described by the caller)."""
    images = read_idx(images_path, dimensions=3)
    labels = read_idx(labels_path, dimensions=1)
    if images.ndim != 3 or images.shape[1] * images.shape[2] != PIXELS:
        raise DigitnetError(f"{images_path}: expected 28x28 images, found shape {images.shape}")
    if labels.ndim != 1:
        raise DigitnetError(f"{labels_path}: expected a 1-D label file, found {labels.shape}")
    if len(labels) and labels.max() >= CLASSES:
        raise DigitnetError(f"{labels_path}: label {labels.max()} is outside 0..{CLASSES - 1}")
    if len(images) == 0:
        raise DigitnetError(f"{images_path}: holds 0 images")
    if len(images) != len(labels):
        raise DigitnetError(
            f"{images_path.parent}: {len(images)} images but {len(labels)} labels "
            f"({images_path.name}, {labels_path.name})"
        )
    return Dataset(images.reshape(len(images), PIXELS), labels.astype("int64"), "")


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def _require(folder: Path, stem: str) -> Path:
    found = _find(folder, stem)
    if found is None:
        csvs = sorted(path.name for path in folder.glob("*.csv"))
        # a folder that holds a train.csv: the CSV is given itself, not its folder
        hint = f" (it holds {', '.join(csvs[:3])}: give the CSV file itself)" if csvs else ""
        raise DigitnetError(f"{folder}: has no {stem} or {stem}.gz file{hint}")
    return found
