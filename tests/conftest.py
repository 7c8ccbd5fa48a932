"""Shared fixtures: the bundled sample and small Kaggle-format CSV files made from it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from digitnet.data import load_sample
from digitnet.data.kaggle_csv import TEST_HEADER, TRAIN_HEADER


@pytest.fixture(scope="session")
def sample():
    return load_sample()


def write_train_csv(path: Path, images: np.ndarray, labels: np.ndarray) -> Path:
    rows = np.column_stack([labels, images])
    np.savetxt(path, rows, fmt="%d", delimiter=",", header=",".join(TRAIN_HEADER), comments="")
    return path


def write_test_csv(path: Path, images: np.ndarray) -> Path:
    np.savetxt(path, images, fmt="%d", delimiter=",", header=",".join(TEST_HEADER), comments="")
    return path


@pytest.fixture
def small_train_csv(tmp_path, sample) -> Path:
    return write_train_csv(tmp_path / "train.csv", sample.images[:600], sample.labels[:600])


@pytest.fixture
def small_test_csv(tmp_path, sample) -> Path:
    return write_test_csv(tmp_path / "test.csv", sample.images[4900:])


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run `python -m digitnet ARGS` as a user would, capturing its output."""
    return subprocess.run(
        [sys.executable, "-m", "digitnet", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path_factory, monkeypatch):
    """Tests never touch the user's real dataset cache, nor the network's mirrors."""
    folder = tmp_path_factory.mktemp("data-dir")
    monkeypatch.setenv("DIGITNET_DATA_DIR", str(folder))
    monkeypatch.setenv("DIGITNET_MIRROR", "http://127.0.0.1:9/unreachable")
    return folder
