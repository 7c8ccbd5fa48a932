"""Finding a model's training data again, and what it did and did not learn from.

A model records its data by name and checksum (data/recorded.py).  `evaluate` and
`report` use that to rebuild the rows the model held out (its dev set), and
`train --resume` to continue on the same data and the same split; `scored_overlap`
tells them when the images they score include images the model trained on.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from digitnet.data import load_data
from digitnet.data.dataset import DIGITS, Dataset
from digitnet.data.dataset_table import DATASETS
from digitnet.data.download import dataset_folder
from digitnet.data.recorded import SAMPLE, candidate_paths, data_checksum, is_named
from digitnet.errors import DigitnetError, DownloadError
from digitnet.model import Model
from digitnet.recipes import held_out_rows
from digitnet.wording import count


def is_training_data(model: Model, dataset: Dataset) -> bool:
    """Whether `dataset` is the data `model` was trained on: its checksum where the
    model records one, else (older files) the checksum of its labels and its size."""
    info = model.info
    if isinstance(info.get("data_checksum"), str):
        return info["data_checksum"] == data_checksum(dataset)
    size = info.get("train_size", 0) + info.get("dev_size", 0)
    fingerprint = info.get("data_fingerprint")
    return fingerprint is not None and fingerprint == dataset.fingerprint() and size == len(dataset)


def find_training_data(
    model: Model,
    model_path: str,
    data: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
    flag: str = "--data PATH",
) -> Dataset:
    """The data `model` was trained on: `data` if given (checked to be it), else what
    the model records, found by name (see data/recorded.py).  Anything else is one
    line that says what the model was trained on and asks for `flag`, the options
    that give it to the command at hand (`--data PATH --held-out` for evaluate)."""
    info = model.info
    recorded = info.get("data_spec")
    described = f"{info.get('data', recorded)}"
    if not {"data", "data_checksum", "data_fingerprint"} & set(info):  # made in Python
        raise DigitnetError(
            f"{model_path}: records no training data (a model made in Python, not by "
            "digitnet train), so it has no held-out rows: evaluate it on data of your "
            "choice with --data PATH, without --held-out"
            if "held-out" in flag
            else f"{model_path}: records no training data (a model made in Python, not by "
            f"digitnet train); give the data with {flag.split(' --')[0]}"
        )
    if data is not None:
        dataset = load_data(data, split="train", data_dir=data_dir, progress=progress)
        if not is_training_data(model, dataset):
            raise DigitnetError(
                f"{data}: is not the data {model_path} was trained on ({described}; its "
                "checksum differs), so the rows it held out cannot be rebuilt"
            )
        return dataset
    if not isinstance(recorded, str):
        raise DigitnetError(f"{model_path}: does not record the data it was trained on "
                            f"({described}); give it with {flag}")  # fmt: skip
    if is_named(recorded):
        if recorded != SAMPLE and not _downloaded(recorded, data_dir):
            # Older model files recorded a folder called 'mnist' as 'mnist': one beside
            # the model or here is looked for before a download is tried.
            found = _found_in(model, candidate_paths(recorded, model_path), data_dir, progress)
            if found is not None:
                return found
        try:
            dataset = load_data(recorded, split="train", data_dir=data_dir, progress=progress)
        except DownloadError as error:
            raise DownloadError(f"{model_path}: was trained on {described}, whose files are "
                                f"not here ({error}); give them with {flag}") from None  # fmt: skip
        if not is_training_data(model, dataset):
            raise DigitnetError(f"{model_path}: was trained on a different {recorded} "
                                f"({described}); give its data with {flag}")  # fmt: skip
        return dataset
    places = candidate_paths(recorded, model_path)
    found = _found_in(model, places, data_dir, progress)
    if found is not None:
        return found
    name = Path(recorded).name
    checksum = info.get("data_checksum", info.get("data_fingerprint", "?"))
    present = [str(path) for path in places if path.is_file() or path.is_dir()]
    if present:  # a file of that name, holding other data
        raise DigitnetError(
            f"{model_path}: was trained on {name} (checksum {checksum}); "
            f"{' and '.join(present)} {'is' if len(present) == 1 else 'are'} not that data "
            f"(another checksum, or not data); point at it with {flag}"
        )
    where = " or ".join(dict.fromkeys(str(path.resolve().parent) for path in places[:2]))
    raise DigitnetError(
        f"{model_path}: was trained on {name} (checksum {checksum}), which is not in "
        f"{where}; point at it with {flag}"
    )


def _found_in(
    model: Model, places: list[Path], data_dir: str | os.PathLike[str] | None,
    progress: bool | None,
) -> Dataset | None:  # fmt: skip
    """The first of `places` that holds the data `model` was trained on, or None."""
    for path in places:
        # A FIFO or device of that name would be read (and waited on) for ever: only a
        # regular file or a folder can be the data.
        if path.is_file() or path.is_dir():
            try:  # a file of that name that is not data at all: not it (and not quoted)
                dataset = load_data(path, split="train", data_dir=data_dir, progress=progress)
            except DigitnetError:
                continue
            if is_training_data(model, dataset):
                return dataset
    return None


def _downloaded(name: str, data_dir: str | os.PathLike[str] | None) -> bool:
    """Whether the training files of the dataset called `name` are on this machine."""
    spec = DATASETS[name.partition(":")[0]]
    folder = dataset_folder(spec, data_dir)
    return all((folder / file.name).is_file() for file in (spec.train_images, spec.train_labels))


def held_out_dataset(model: Model, model_path: str, dataset: Dataset) -> Dataset:
    """The rows of `dataset` (the model's training data) that the model held out."""
    rows = held_out_rows(model, dataset)
    if len(rows) == 0:
        raise DigitnetError(f"{model_path}: held out no rows (dev size 0); give --data")
    assert dataset.labels is not None
    return Dataset(
        dataset.images[rows],
        dataset.labels[rows],
        f"{dataset.source}: the {count(len(rows), 'row')} the model held out (its dev set)",
        kind=dataset.kind,
        spec=dataset.spec,
        class_names=dataset.class_names,
    )


def scored_overlap(model: Model, model_path: str, scored: Dataset, data_dir: str | None) -> str:
    """A warning when images in `scored` are images `model` trained on ('' when none
    are), or a note when that cannot be checked (its training data is not found)."""
    if is_training_data(model, scored):
        return (
            f"warning: {scored.source} is the data {model_path} was trained on: these "
            "figures are optimistic (--held-out: only the rows it did not train on)"
        )

    def cannot_check(why: str) -> str:
        return (f"note: cannot check these images against {model_path}'s training data "
                f"({model.info.get('data', 'not recorded')}: {why}); if they overlap, "
                "these figures are optimistic")  # fmt: skip

    recorded = model.info.get("data_spec")
    if is_named(recorded) and recorded != SAMPLE:  # never a download just to check
        spec = DATASETS[str(recorded).partition(":")[0]]
        folder = dataset_folder(spec, data_dir)
        if not all((folder / file.name).is_file() for file in (spec.train_images,
                                                                spec.train_labels)):  # fmt: skip
            return cannot_check(f"{spec.name}'s training files are not downloaded")
    try:
        training = find_training_data(model, model_path, data_dir=data_dir, progress=False)
    except DigitnetError:
        return cannot_check("not found here")
    dev = set(held_out_rows(model, training).tolist())
    trained_on = {
        _image_key(image) for row, image in enumerate(training.images) if row not in dev
    }  # fmt: skip
    seen = sum(_image_key(image) in trained_on for image in scored.images)
    if seen == 0:
        return ""
    which = "is an image" if seen == 1 else "are images"
    return (f"warning: {seen} of the {count(len(scored), 'image')} scored {which} {model_path} "
            "trained on: these figures are optimistic")  # fmt: skip


def _image_key(image: np.ndarray) -> bytes:
    return hashlib.blake2b(image.tobytes(), digest_size=12).digest()


def known_classes(dataset: Dataset) -> bool:
    """Whether the dataset's classes are known (the sample, a named dataset), rather
    than taken to be digits (a CSV or a folder of IDX files: anything at all)."""
    return is_named(dataset.spec)


def class_mismatch(model: Model, model_path: str, dataset: Dataset) -> str | None:
    """One line saying that `model`'s classes are not `dataset`'s, or None if they
    agree (or the dataset's are unknown)."""
    if not known_classes(dataset) or tuple(model.class_names) == tuple(dataset.class_names):
        return None

    def classes(names: tuple[str, ...]) -> str:
        return "the digits 0..9" if tuple(names) == DIGITS else ", ".join(names[:3]) + "..."

    return (f"{model_path}: predicts {classes(model.class_names)}, but {dataset.source} "
            f"holds {classes(dataset.class_names)}")  # fmt: skip
