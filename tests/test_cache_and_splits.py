"""Parsed-data caching, and train/dev splits."""

from __future__ import annotations

import os
import re
import time

import numpy as np
import pytest

from conftest import write_train_csv
from digitnet.data import cache, kaggle_csv, load_data, sources
from digitnet.data.splits import split
from digitnet.errors import DigitnetError


@pytest.fixture
def csv_path(tmp_path, sample):
    return write_train_csv(tmp_path / "train.csv", sample.images[:40], sample.labels[:40])


@pytest.fixture
def parse_counter(monkeypatch):
    calls = []
    original = kaggle_csv.read_kaggle_csv

    def counting(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(sources, "read_kaggle_csv", counting)
    return calls


def _entries(private_data_dir):
    return sorted((private_data_dir / "parsed").glob("*.npz"))


def test_second_load_comes_from_the_cache(csv_path, parse_counter, private_data_dir, sample):
    first = load_data(csv_path)
    second = load_data(csv_path)
    assert len(parse_counter) == 1
    assert len(_entries(private_data_dir)) == 1
    np.testing.assert_array_equal(first.images, second.images)
    np.testing.assert_array_equal(second.labels, sample.labels[:40])
    assert second.images.dtype == np.uint8 and second.source == first.source


def test_cache_is_rebuilt_when_the_source_changes(csv_path, parse_counter, sample):
    load_data(csv_path)
    write_train_csv(csv_path, sample.images[100:150], sample.labels[100:150])
    stat = csv_path.stat()
    os.utime(csv_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    changed = load_data(csv_path)
    assert len(parse_counter) == 2
    np.testing.assert_array_equal(changed.labels, sample.labels[100:150])


def test_a_change_with_the_old_size_and_time_put_back_is_seen(csv_path, parse_counter, sample):
    """Relabelled in place, same size, `touch -r`-style times restored: still rebuilt."""
    load_data(csv_path)
    before = csv_path.stat()
    text = csv_path.read_text()
    lines = text.splitlines(keepends=True)
    relabelled = lines[0] + "".join(("0" + line[1:]) for line in lines[1:])  # one digit each
    assert len(relabelled) == len(text) and relabelled != text
    time.sleep(0.01)  # a later change time
    csv_path.write_text(relabelled)
    os.utime(csv_path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (csv_path.stat().st_size, csv_path.stat().st_mtime_ns) == (
        before.st_size, before.st_mtime_ns)  # fmt: skip
    changed = load_data(csv_path)
    assert len(parse_counter) == 2 and not changed.labels.any()


def test_corrupt_cache_is_rebuilt_not_trusted(csv_path, parse_counter, private_data_dir, capsys):
    load_data(csv_path)
    entry = _entries(private_data_dir)[0]
    entry.write_bytes(b"PK\x03\x04 not really a zip")
    again = load_data(csv_path)
    assert len(parse_counter) == 2 and len(again) == 40
    assert "corrupt cache, rebuilding it" in capsys.readouterr().err
    assert len(load_data(csv_path)) == 40 and len(parse_counter) == 2  # the rebuilt one is good


@pytest.mark.parametrize(
    "edit",
    [
        lambda arrays: arrays.update(labels=arrays["labels"] + 90),  # labels 90..99
        lambda arrays: arrays.update(labels=arrays["labels"].astype(np.float64) + 0.5),
        lambda arrays: arrays.update(images=arrays["images"][:, :100].copy()),  # 100 wide
    ],
)
def test_a_cache_entry_is_checked_as_a_parse_would_be(
    csv_path, parse_counter, private_data_dir, capsys, edit
):
    """Edited in place with its stamp kept, an entry's labels of 99 reached the loss as
    an IndexError, and images 100 wide trained a 100-input network."""
    load_data(csv_path)
    entry = _entries(private_data_dir)[0]
    with np.load(entry) as archive:
        arrays = dict(archive)
    edit(arrays)
    np.savez(entry, **arrays)
    again = load_data(csv_path)
    assert len(parse_counter) == 2 and again.images.shape == (40, 784)
    assert again.labels.max() <= 9
    assert "corrupt cache, rebuilding it" in capsys.readouterr().err


def test_cache_from_a_newer_version_is_a_clear_error(csv_path, private_data_dir):
    load_data(csv_path)
    entry = _entries(private_data_dir)[0]
    with np.load(entry) as archive:
        arrays = dict(archive)
    arrays["version"] = np.array(cache.CACHE_VERSION + 1)
    np.savez(entry, **arrays)
    with pytest.raises(DigitnetError, match="cache written by a newer digitnet"):
        load_data(csv_path)


def test_stratified_split_keeps_class_proportions(sample):
    labels = sample.labels[:2300]  # uneven class counts
    train, held = split(labels, 0.2, "stratified", seed=3)
    assert len(held) == 460 and len(train) == 1840
    assert len(np.intersect1d(train, held)) == 0 and len(np.union1d(train, held)) == 2300
    expected = np.bincount(labels, minlength=10) * 0.2
    assert np.all(np.abs(np.bincount(labels[held], minlength=10) - expected) <= 1)


def test_same_seed_same_split_different_seed_different(sample):
    labels = sample.labels
    a_train, a_held = split(labels, 500, "stratified", seed=7)
    b_train, b_held = split(labels, 500, "stratified", seed=7)
    np.testing.assert_array_equal(a_held, b_held)
    np.testing.assert_array_equal(a_train, b_train)
    assert not np.array_equal(np.sort(split(labels, 500, "stratified", seed=8)[1]), np.sort(a_held))


def test_standard_mnist_split_is_the_last_rows():
    labels = np.arange(60_000) % 10
    train, held = split(labels, 10_000, "last")
    np.testing.assert_array_equal(train, np.arange(50_000))
    np.testing.assert_array_equal(held, np.arange(50_000, 60_000))


@pytest.mark.parametrize("size", [-1, 5000, 1.5, 2.5])
def test_impossible_split_sizes(sample, size):
    with pytest.raises(DigitnetError, match="dev size"):
        split(sample.labels, size, "stratified")


def test_dataset_names_are_read_in_any_case(tmp_path, monkeypatch):
    """'Sample' and 'MNIST:Test' are the names 'sample' and 'mnist:test'; a file that
    happens to be called so is still read as the file."""
    from digitnet.data import load_data

    assert load_data("Sample").spec == "sample"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "Sample").write_text("not a dataset\n")
    with pytest.raises(DigitnetError, match="Sample"):
        load_data("Sample")


def test_a_cached_dataset_is_described_by_the_path_given_now(tmp_path, monkeypatch, sample):
    """The same files named another way (relative, then absolute) are described as
    named now, not as the call that filled the cache named them."""
    from test_idx import idx_bytes

    folder = tmp_path / "digits"
    folder.mkdir()
    images = sample.images[:50].reshape(50, 28, 28)
    (folder / "train-images-idx3-ubyte").write_bytes(idx_bytes(images))
    (folder / "train-labels-idx1-ubyte").write_bytes(idx_bytes(sample.labels[:50].astype(np.uint8)))
    csv = write_train_csv(tmp_path / "train.csv", sample.images[:20], sample.labels[:20])
    monkeypatch.chdir(tmp_path)
    data_dir = tmp_path / "cache"
    assert "IDX files in digits," in load_data("digits", data_dir=data_dir).source
    again = load_data(str(folder), data_dir=data_dir).source
    assert f"IDX files in {folder}, train split (50 images)" == again
    assert load_data("train.csv", data_dir=data_dir).source.startswith("Kaggle CSV train.csv (")
    assert load_data(str(csv), data_dir=data_dir).source == (
        f"Kaggle CSV {csv} (20 images, train format)"
    )
    assert len(list((data_dir / "parsed").iterdir())) == 2  # both came from the cache


def test_a_dev_size_that_cannot_be_held_out_says_why():
    """'must be a count below 1' for one row, and 'a fraction below 1' for 0.99999999,
    did not say what was wrong."""
    from digitnet.data.splits import held_out_count

    for size, rows, words in [
        (2, 1, "the data has 1 row, too few to hold any out; give 0"),
        (0.99999999, 100, "0.99999999 of 100 rows rounds to all 100, leaving none to train on"),
        (-5, 100, "dev size -5: must be 0 or more"),
        (150, 100, "dev size 150: must be a count below 100 or a fraction below 1"),
        (2.5, 100, "dev size 2.5: must be a count below 100 or a fraction below 1"),
    ]:
        with pytest.raises(DigitnetError, match=re.escape(words)):
            held_out_count(size, rows)
    assert held_out_count(0.1, 100) == 10 and held_out_count(0, 1) == 0
