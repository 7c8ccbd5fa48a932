"""What a model file records about its training data: a name and a checksum.

A model file is shared (sent to a colleague, published with a notebook), so it
must not reveal where its owner keeps files: it records the data by its name
alone ('sample', a dataset name such as 'mnist', or the file or folder's own name,
'train.csv') and a checksum of the images and labels.  That is all `evaluate`,
`report` and `train --resume` need to find the data again (a dataset by its name,
a file in the current folder or beside the model, or wherever `--data` points) and
to make sure it is the very same data before they rebuild the rows the model held
out.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path, PurePath

import numpy as np

from digitnet.data.dataset import Dataset
from digitnet.data.dataset_table import DATASETS

SAMPLE = "sample"

# An absolute path inside a description: "/home/ann/data/train.csv", "C:\\data\\mnist".
_ABSOLUTE_PATH = re.compile(r"(?<![\w.])(?:[A-Za-z]:)?[/\\][^\s,()]*")


def data_checksum(dataset: Dataset) -> str:
    """SHA-256 (first 32 hex digits) of the images and labels, in their order: the same
    data gives the same checksum whichever file format or folder it was read from."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(dataset.images, dtype=np.uint8).tobytes())
    if dataset.labels is not None:
        digest.update(np.ascontiguousarray(dataset.labels, dtype="<i8").tobytes())
    return digest.hexdigest()[:32]


def recorded_name(dataset: Dataset) -> str | None:
    """What a model records to find `dataset` again: 'sample' or a dataset name as
    they are, a file or folder by its own name only; None where there is nothing
    to find (arrays handed to `digitnet.train`)."""
    spec = dataset.spec
    if spec is None or is_named(spec):
        return spec
    name = PurePath(spec).name
    # A folder called 'mnist' is not the dataset 'mnist' (which would be downloaded):
    # './mnist' is looked for as a folder only.
    return f"./{name}" if is_named(name) else name


def shareable_source(source: str) -> str:
    """`source` (a dataset's description) with each absolute path cut to its last
    part: "Kaggle CSV /home/ann/train.csv (42000 images)" -> "Kaggle CSV train.csv
    (42000 images)"."""
    return _ABSOLUTE_PATH.sub(lambda match: PurePath(match.group()).name or match.group(), source)


def is_named(spec: str | None) -> bool:
    """Whether `spec` names data digitnet knows by name (the sample, a dataset)."""
    return spec is not None and (spec == SAMPLE or spec.partition(":")[0] in DATASETS)


def candidate_paths(name: str, model_path: str | Path) -> list[Path]:
    """Where to look for data recorded as `name` (a file or folder name): in the
    current folder, then in the model file's folder, by its last part only (a
    stranger's model cannot send digitnet looking in ../../ or /etc).  A model
    written before names were recorded holds an absolute path: that is tried last."""
    recorded = PurePath(name)
    beside = Path(model_path).resolve().parent
    # here by the name alone, so that what is found is described as 'train.csv'
    found = [Path(recorded.name), beside / recorded.name] if recorded.name else []
    if found and beside == Path.cwd():
        found = found[:1]
    if recorded.is_absolute():
        found.append(Path(recorded))
    return list(dict.fromkeys(found))
