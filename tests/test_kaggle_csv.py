"""Kaggle CSV reading: good files load exactly, each kind of bad file gets one clear error."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from conftest import write_test_csv, write_train_csv
from digitnet.data import read_kaggle_csv, write_submission
from digitnet.data.kaggle_csv import TEST_HEADER, TRAIN_HEADER
from digitnet.errors import DigitnetError


def test_train_csv_round_trip(tmp_path, sample):
    path = write_train_csv(tmp_path / "train.csv", sample.images[:50], sample.labels[:50])
    data = read_kaggle_csv(path, need_labels=True)
    np.testing.assert_array_equal(data.images, sample.images[:50])
    np.testing.assert_array_equal(data.labels, sample.labels[:50])
    assert data.images.dtype == np.uint8
    assert "50 images" in data.source and "train.csv" in data.source


def test_test_csv_has_no_labels(tmp_path, sample):
    data = read_kaggle_csv(write_test_csv(tmp_path / "test.csv", sample.images[:7]))
    assert data.labels is None and data.images.shape == (7, 784)


def test_windows_line_endings_and_trailing_blank_line(tmp_path, sample):
    path = write_train_csv(tmp_path / "train.csv", sample.images[:3], sample.labels[:3])
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n") + b"\r\n")
    assert len(read_kaggle_csv(path)) == 3


def _lines(sample, rows=3):
    pairs = zip(sample.labels[:rows], sample.images[:rows])
    return [",".join(TRAIN_HEADER), *(",".join(map(str, [y, *x])) for y, x in pairs)]


def _cells(line):
    return line.split(",")


BAD_CASES = {
    "wrong column count": (
        lambda lines: lines[:2] + [",".join(_cells(lines[2])[:-1])] + lines[3:],
        "line 3: has 784 columns, expected 785",
    ),
    "short row everywhere": (
        lambda lines: [lines[0]] + [",".join(_cells(line)[:-1]) for line in lines[1:]],
        "line 2: has 784 columns, expected 785",
    ),
    "non-integer cell": (
        lambda lines: lines[:3] + [",".join(_cells(lines[3])[:5] + ["1.5"] + _cells(lines[3])[6:])],
        "line 4, column 6: '1.5' is not a whole number",
    ),
    "empty cell": (
        lambda lines: (
            [lines[0], ",".join(_cells(lines[1])[:9] + [""] + _cells(lines[1])[10:])] + lines[2:]
        ),
        "line 2, column 10: '' is not a whole number",
    ),
    "pixel outside 0..255": (
        lambda lines: (
            lines[:2]
            + [",".join(_cells(lines[2])[:300] + ["256"] + _cells(lines[2])[301:])]
            + lines[3:]
        ),
        "line 3, column 301: pixel 256 is outside 0..255",
    ),
    "negative pixel": (
        lambda lines: (
            lines[:3] + [",".join(_cells(lines[3])[:20] + ["-1"] + _cells(lines[3])[21:])]
        ),
        "line 4, column 21: pixel -1 is outside 0..255",
    ),
    "label outside 0..9": (
        lambda lines: [lines[0], ",".join(["10"] + _cells(lines[1])[1:])] + lines[2:],
        "line 2, column 1: label 10 is outside 0..9",
    ),
    "header only": (lambda lines: lines[:1], "has a header but no data rows"),
    "empty file": (lambda lines: [], "is empty"),
    "no header": (lambda lines: lines[1:], "line 1: no header row"),
    "foreign header": (lambda lines: ["a,b,c"] + lines[1:], "line 1: unexpected header 'a,b,c'"),
}


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_csv_gives_one_clear_error(tmp_path, sample, case):
    mutate, message = BAD_CASES[case]
    lines = mutate(_lines(sample))
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + ("\n" if lines else ""))
    with pytest.raises(DigitnetError) as error:
        read_kaggle_csv(path, need_labels=True)
    text = str(error.value)
    assert text.startswith(f"{path}: ")
    assert message in text
    assert "\n" not in text


def test_missing_file(tmp_path):
    with pytest.raises(DigitnetError, match="no such file"):
        read_kaggle_csv(tmp_path / "nope.csv")


def test_test_csv_where_labels_are_needed(tmp_path, sample):
    path = write_test_csv(tmp_path / "test.csv", sample.images[:3])
    with pytest.raises(DigitnetError, match="has no 'label' column"):
        read_kaggle_csv(path, need_labels=True)


def test_binary_garbage(tmp_path):
    path = tmp_path / "garbage.csv"
    path.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(DigitnetError, match=str(path)):
        read_kaggle_csv(path)


def test_submission_format(tmp_path):
    path = tmp_path / "submission.csv"
    write_submission(path, np.array([3, 1, 4, 1, 5]))
    assert path.read_text().splitlines() == ["ImageId,Label", "1,3", "2,1", "3,4", "4,1", "5,5"]


def test_a_submission_to_dash_goes_to_stdout_as_the_cli_does(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write_submission("-", [3, 1])
    assert capsys.readouterr().out == "ImageId,Label\n1,3\n2,1\n"
    assert list(tmp_path.iterdir()) == []  # no file named '-'


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ([1, 2, 13], "label 13 of ImageId 3 is not a digit 0..9"),
        ([1, 2.5], "label 2.5 of ImageId 2"),
        ([-1], "label -1 of ImageId 1"),
        (["7"], "label '7' of ImageId 1"),
        ([[1, 2]], "one per image"),
    ],
)
def test_a_submission_of_labels_that_are_not_digits_is_refused(labels, message, tmp_path):
    path = tmp_path / "submission.csv"
    write_submission(path, [4])
    with pytest.raises(DigitnetError, match=re.escape(message)):
        write_submission(path, labels)
    assert path.read_text() == "ImageId,Label\n1,4\n"  # the good file kept
    write_submission(path, np.array([2.0, 0.0]))  # whole-valued floats are digits
    assert path.read_text().splitlines()[1:] == ["1,2", "2,0"]


def test_submission_write_failure_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "submission.csv"
    write_submission(path, np.array([7, 7]))
    before = path.read_bytes()

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", fail)  # the disk fills as the new rows are flushed
    with pytest.raises(DigitnetError, match="could not write it .disk full.; nothing was changed"):
        write_submission(path, np.array([1, 2, 3]))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["submission.csv"]  # no temp file left


def test_a_csv_from_a_pipe_is_read_once_with_every_row(tmp_path, small_test_csv):
    """/dev/stdin, <(...) and FIFOs can be read only once: no row may be lost."""
    fifo = tmp_path / "rows.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(small_test_csv.read_bytes()))
    writer.start()
    dataset = read_kaggle_csv(fifo)
    writer.join()
    assert len(dataset) == 100
    np.testing.assert_array_equal(dataset.images, read_kaggle_csv(small_test_csv).images)


def test_data_piped_to_dev_stdin_is_recorded_as_stdin_not_as_a_pipe_number(small_test_csv):
    """Path('/dev/stdin').resolve() of a pipe is 'pipe:[N]': a name that finds nothing later."""
    script = ("from digitnet.data import load_data; from digitnet.data.recorded import "
              "recorded_name; d = load_data('/dev/stdin', need_labels=False); "
              "print(d.spec, recorded_name(d))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", script], input=small_test_csv.read_bytes(),
                          capture_output=True, check=True)  # fmt: skip
    assert done.stdout.decode().split() == ["/dev/stdin", "stdin"]


def test_a_device_without_lines_is_refused_at_once():
    started = time.perf_counter()
    with pytest.raises(DigitnetError, match="/dev/zero: line 1 is longer than"):
        read_kaggle_csv("/dev/zero")
    assert time.perf_counter() - started < 2


def test_an_absurdly_long_line_is_refused_without_reading_it_all(tmp_path):
    path = tmp_path / "long.csv"
    with open(path, "w") as stream:
        stream.write(",".join(TEST_HEADER) + "\n")
        stream.write("1" * 50_000_000 + "\n")  # 50 MB on one line
    with pytest.raises(DigitnetError, match="line 2 is longer than 16384 characters"):
        read_kaggle_csv(path)


def test_a_csv_that_is_not_utf8_is_one_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes((",".join(TEST_HEADER) + "\n").encode() + b"\xff\xfe,1\n")
    with pytest.raises(DigitnetError, match="not UTF-8"):
        read_kaggle_csv(path)


@pytest.mark.parametrize(
    "pixel_names",
    [
        [f"pixel{i}" for i in range(1, 785)],  # Kaggle's Fashion-MNIST CSVs
        [f"{row}x{column}" for row in range(1, 29) for column in range(1, 29)],  # mnist_train.csv
    ],
)
@pytest.mark.parametrize("labelled", [True, False])
def test_the_other_namings_of_the_pixel_columns_read_alike(tmp_path, sample, pixel_names, labelled):
    images, labels = sample.images[:5], sample.labels[:5]
    header = (["label"] if labelled else []) + pixel_names
    rows = np.column_stack([labels, images]) if labelled else images
    path = tmp_path / "other.csv"
    path.write_text(",".join(header) + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    dataset = read_kaggle_csv(path)
    np.testing.assert_array_equal(dataset.images, images)
    if labelled:
        np.testing.assert_array_equal(dataset.labels, labels)
    else:
        assert dataset.labels is None


def test_quoted_cells_are_the_same_numbers(tmp_path, sample):
    """A spreadsheet's export quotes every cell: "4","0",...; they read as 4, 0, ..."""
    images, labels = sample.images[:3], sample.labels[:3]
    rows = np.column_stack([labels, images])
    path = tmp_path / "quoted.csv"
    quoted = [",".join(f'"{value}"' for value in row) for row in rows]
    path.write_text(",".join(f'"{name}"' for name in TRAIN_HEADER) + "\n" + "\n".join(quoted))
    dataset = read_kaggle_csv(path)
    np.testing.assert_array_equal(dataset.images, images)
    np.testing.assert_array_equal(dataset.labels, labels)
    bad = '"x"' + quoted[0][quoted[0].index(",") :]  # a quoted cell that is no number
    path.write_text(",".join(TRAIN_HEADER) + "\n" + bad + "\n")
    with pytest.raises(DigitnetError, match="line 2, column 1: 'x' is not a whole number"):
        read_kaggle_csv(path)


@pytest.mark.parametrize("labelled", [True, False])
def test_a_headerless_csv_is_told_the_header_to_add_and_the_fix_works(tmp_path, sample, labelled):
    """The widely shared mnist_train.csv has no header; its error now names the line to
    add, and the shell command it suggests makes a file that reads."""
    import subprocess

    images, labels = sample.images[:20], sample.labels[:20]
    table = np.column_stack([labels, images]) if labelled else images
    path = tmp_path / "mnist train.csv"  # a space: the command quotes the name
    np.savetxt(path, table, fmt="%d", delimiter=",")
    with pytest.raises(DigitnetError) as error:
        read_kaggle_csv(path)
    message = str(error.value)
    assert "line 1: no header row" in message
    assert ("'label,pixel0,...,pixel783'" if labelled else "line 'pixel0,...,pixel783'") in message
    command = message.split("e.g. ", 1)[1]
    subprocess.run(["bash", "-c", command], cwd=tmp_path, check=True)
    fixed = read_kaggle_csv(tmp_path / "with-header.csv")
    np.testing.assert_array_equal(fixed.images, images)
    if labelled:
        np.testing.assert_array_equal(fixed.labels, labels)


def test_whole_numbers_written_as_floats_are_read_and_fractions_still_refused(tmp_path, sample):
    """pandas writes 3.0 for a column that was ever float: the same whole numbers."""
    rows = np.column_stack([sample.labels[:30], sample.images[:30]]).astype(np.float64)
    path = tmp_path / "floats.csv"
    np.savetxt(path, rows, fmt="%.1f", delimiter=",", header=",".join(TRAIN_HEADER),
               comments="")  # fmt: skip
    assert path.read_text().splitlines()[1].startswith(f"{sample.labels[0]}.0,0.0,")
    dataset = read_kaggle_csv(path)
    np.testing.assert_array_equal(dataset.images, sample.images[:30])
    np.testing.assert_array_equal(dataset.labels, sample.labels[:30])
    rows[4, 100] = 0.5
    np.savetxt(path, rows, fmt="%g", delimiter=",", header=",".join(TRAIN_HEADER), comments="")
    with pytest.raises(DigitnetError, match=re.escape("line 6, column 101: '0.5' is not a whole")):
        read_kaggle_csv(path)
    rows[4, 100] = 300.0
    np.savetxt(path, rows, fmt="%.1f", delimiter=",", header=",".join(TRAIN_HEADER),
               comments="")  # fmt: skip
    with pytest.raises(DigitnetError, match=re.escape("line 6, column 101: pixel 300 is outside")):
        read_kaggle_csv(path)


def test_a_header_one_column_off_names_that_column(tmp_path):
    """'unexpected header label,pixel0,pixel1,...' quoted the part that was right."""
    right = list(TRAIN_HEADER)
    for header, said in [
        ([*right[:-1], "pixel0"], "column 785 is 'pixel0', expected 'pixel783'"),
        ([*right[:100], "pixle99", *right[101:]], "column 101 is 'pixle99', expected 'pixel99'"),
        ([*TEST_HEADER, "label"], "the 'label' column is last; it must come first"),
    ]:
        path = tmp_path / "train.csv"
        path.write_text(",".join(header) + "\n" + ",".join(["0"] * 785) + "\n")
        with pytest.raises(DigitnetError, match=re.escape(f"line 1: {said}"[:8])) as error:
            read_kaggle_csv(path)
        assert said in str(error.value)
