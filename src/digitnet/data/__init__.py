"""Data: where images come from (Kaggle CSV, IDX files, the bundled sample) and how
they become network inputs."""

from digitnet.data.bundled import load_sample
from digitnet.data.dataset import Dataset
from digitnet.data.idx import read_idx
from digitnet.data.kaggle_csv import read_kaggle_csv, write_submission
from digitnet.data.preprocess import Preprocessing
from digitnet.data.sources import load_data

__all__ = [
    "Dataset",
    "Preprocessing",
    "load_data",
    "load_sample",
    "read_idx",
    "read_kaggle_csv",
    "write_submission",
]
