"""MNIST IDX files: a folder of them is a dataset; broken ones give one clear error."""

from __future__ import annotations

import gzip
import resource

import numpy as np
import pytest

from digitnet.data import load_data, read_idx
from digitnet.errors import DigitnetError


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        size.to_bytes(4, "big") for size in array.shape
    )
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture
def idx_folder(tmp_path, sample):
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(
        gzip.compress(idx_bytes(sample.images[:20].reshape(20, 28, 28)))
    )
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(sample.labels[:20]))
    return tmp_path


def test_folder_of_idx_files_is_a_dataset(idx_folder, sample):
    data = load_data(idx_folder)
    np.testing.assert_array_equal(data.images, sample.images[:20])
    np.testing.assert_array_equal(data.labels, sample.labels[:20])
    assert "IDX files" in data.source and "20 images" in data.source


def test_wrong_magic(tmp_path):
    path = tmp_path / "x-idx1-ubyte"
    path.write_bytes(b"\x12\x34\x08\x01" + (3).to_bytes(4, "big") + b"abc")
    with pytest.raises(DigitnetError, match="wrong magic number"):
        read_idx(path)


def test_size_disagrees_with_dimensions(tmp_path):
    path = tmp_path / "x-idx1-ubyte"
    path.write_bytes(idx_bytes(np.arange(5))[:-2])
    with pytest.raises(
        DigitnetError, match="truncated: 3 of the 5 bytes that its dimensions 5 need"
    ):
        read_idx(path)


def test_truncated_gzip(tmp_path, sample):
    path = tmp_path / "x-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(sample.labels[:100]))[:-20])
    with pytest.raises(DigitnetError, match="corrupt or truncated gzip"):
        read_idx(path)


def test_images_and_labels_disagree_in_count(idx_folder, sample):
    (idx_folder / "train-labels-idx1-ubyte").write_bytes(idx_bytes(sample.labels[:19]))
    with pytest.raises(DigitnetError, match="20 images but 19 labels"):
        load_data(idx_folder)


def test_label_outside_the_digits(idx_folder):
    (idx_folder / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.full(20, 12)))
    with pytest.raises(DigitnetError, match="label 12 is outside 0..9"):
        load_data(idx_folder)


def test_a_gzip_bomb_costs_only_what_its_header_claims(tmp_path):
    """2 MB of gzip unpacking to 2 GB, behind a header for 10 labels: refused after 11 bytes."""
    path = tmp_path / "bomb-labels-idx1-ubyte.gz"
    header = idx_bytes(np.arange(10, dtype=np.uint8))[:8]
    with gzip.open(path, "wb", compresslevel=9) as stream:
        stream.write(header)
        block = bytes(1 << 20)
        for _ in range(2048):
            stream.write(block)
    assert path.stat().st_size < 3_000_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(DigitnetError, match="longer than its dimensions 10 say"):
        read_idx(path)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KiB


def test_a_header_claiming_a_huge_array_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge-images-idx3-ubyte"
    sizes = b"".join(size.to_bytes(4, "big") for size in (100_000, 10_000, 10_000))
    path.write_bytes(bytes([0, 0, 8, 3]) + sizes + b"\0" * 100)
    with pytest.raises(DigitnetError, match="claims 100000x10000x10000 values"):
        read_idx(path)


def test_an_idx_set_of_no_images_is_one_line(tmp_path):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(idx_bytes(np.zeros((0, 28, 28), np.uint8)))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(0, np.uint8)))
    with pytest.raises(DigitnetError, match="holds 0 images"):
        load_data(tmp_path)
