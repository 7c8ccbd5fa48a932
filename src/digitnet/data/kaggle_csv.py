"""Kaggle digit-recognizer CSV files, read strictly and fast.

Kaggle's `train.csv` has a header `label,pixel0,...,pixel783` and one image per
row; `test.csv` has the same without the label column.  Reading is done in two
passes only when something is wrong:

1. the fast path: numpy's C parser (`np.loadtxt`) reads the whole file, then
   vectorised checks find any pixel outside 0..255 or label outside 0..9;
2. if the C parser refuses the file, a slow line-by-line scan finds the first
   bad line and says exactly what is wrong with it.  Good files never pay for
   the scan.

Lines are read with a length cap (MAX_LINE): a Kaggle row is at most 785
numbers of 3 digits, so a longer line (or a device such as /dev/zero, which
has no lines at all) is refused after reading that much, not after filling
memory.  A pipe or FIFO (`/dev/stdin`, `<(...)`) can be read only once, so it
is read whole, up to MAX_STREAM bytes, and both passes use that copy.
"""

from __future__ import annotations

import dataclasses
import io
import os
import shlex
import stat
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

import numpy as np

from digitnet.atomic import write_text
from digitnet.data.dataset import CLASSES, PIXELS, Dataset
from digitnet.errors import DigitnetError, check_path
from digitnet.wording import count

PIXEL_COLUMNS = [f"pixel{i}" for i in range(PIXELS)]
TRAIN_HEADER = ["label", *PIXEL_COLUMNS]
TEST_HEADER = PIXEL_COLUMNS
# Other CSVs of the same images name the pixel columns differently: Kaggle's
# Fashion-MNIST files count from 1 (pixel1..pixel784), and the widely shared
# mnist_train.csv names row x column (1x1..28x28).  The columns are the same.
PIXEL_NAMINGS = (
    PIXEL_COLUMNS,
    [f"pixel{i + 1}" for i in range(PIXELS)],
    [f"{row}x{column}" for row in range(1, 29) for column in range(1, 29)],
)
MAX_LINE = 16_384  # characters: a header is about 7,000, an image row at most 3,925
MAX_STREAM = 1 << 30  # bytes read from a pipe, which cannot be read twice


def read_kaggle_csv(path: str | os.PathLike[str], *, need_labels: bool = False) -> Dataset:
    """Read a Kaggle train.csv (with labels) or test.csv (without).

    The header decides which one it is.  With `need_labels=True` a file without
    the label column is an error (training and evaluation need labels).
    Raises DigitnetError naming the file, the line and the problem.
    """
    check_path(path)
    path = Path(path)
    open_text = _opener(path)
    kind = _binary_kind(path)
    if kind is not None:
        raise DigitnetError(f"{path}: is {kind}, not a CSV file (a text file of numbers)")
    header = _read_header(path, open_text)
    if header[:1] == ["label"] and header[1:] in PIXEL_NAMINGS:
        has_labels = True
    elif header in PIXEL_NAMINGS:
        has_labels = False
    else:
        raise DigitnetError(f"{path}: line 1: {_describe_bad_header(header, path)}")
    if need_labels and not has_labels:
        raise DigitnetError(
            f"{path}: has no 'label' column (a test.csv?); this needs labelled data like train.csv"
        )

    columns = len(header)
    try:
        with open_text() as stream, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # an empty body is reported below
            rows = _capped_lines(path, stream)
            next(rows)  # the header, already checked
            # Quoted cells ("4", as spreadsheets and QUOTE_ALL writers leave them) are
            # the same numbers; the header's quotes are stripped likewise.
            table = np.loadtxt(rows, delimiter=",", dtype=np.int16, ndmin=2, quotechar='"')
    except UnicodeDecodeError:  # a ValueError too: first
        raise DigitnetError(f"{path}: is not a text CSV file (not UTF-8)") from None
    except ValueError:
        table = _whole_floats(path, open_text, columns)
    except OSError as error:
        raise DigitnetError(f"{path}: cannot read ({error.strerror or error})") from None
    if table.shape[0] == 0:
        raise DigitnetError(f"{path}: has a header but no data rows")
    if table.shape[1] != columns:
        # loadtxt only notices a change in column count; a file whose every row
        # is short is consistent, so check against the header here.
        raise DigitnetError(f"{path}: {_find_bad_line(path, open_text, columns)}")

    labels = table[:, 0].astype(np.int64) if has_labels else None
    pixels = table[:, 1:] if has_labels else table
    if labels is not None:
        _check_range(path, labels[:, None], 0, CLASSES - 1, "label", first_column=0)
    _check_range(path, pixels, 0, 255, "pixel", first_column=1 if has_labels else 0)
    dataset = Dataset(pixels.astype(np.uint8), labels, "")
    return dataclasses.replace(dataset, source=csv_description(path, dataset))


def csv_description(path: str | os.PathLike[str], dataset: Dataset) -> str:
    """How a dataset read from the CSV `path` is described: 'Kaggle CSV train.csv
    (42,000 images, train format)'."""
    kind = "train" if dataset.labels is not None else "test"
    return f"Kaggle CSV {path} ({count(len(dataset.images), 'image')}, {kind} format)"


def write_submission(path: str | os.PathLike[str], predicted_labels: np.ndarray) -> None:
    """Write Kaggle's submission format: header `ImageId,Label`, ImageId from 1.

    Written atomically: an existing submission is replaced only by a complete one.
    Labels must be one whole number 0..9 per image; anything else is refused, not
    written into a file that Kaggle would reject.  A `path` of "-" writes to the
    standard output, as the command line's `--out -` does.
    """
    check_path(path)
    labels = np.asarray(predicted_labels)
    if labels.ndim == 2 and labels.shape[1] == 1:  # a column of labels
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise DigitnetError(f"{path}: labels must be one per image (a list), got shape "
                            f"{labels.shape}")  # fmt: skip
    digits = []
    for image_id, label in enumerate(labels.tolist(), start=1):  # Python values, any dtype
        digit = _digit(label)
        if digit is None:
            raise DigitnetError(f"{path}: label {label!r} of ImageId {image_id} is not a "
                                "digit 0..9")  # fmt: skip
        digits.append(digit)
    rows = "".join(f"{image_id},{digit}\n" for image_id, digit in enumerate(digits, start=1))
    write_text(path, "ImageId,Label\n" + rows)


def _digit(label: object) -> int | None:
    """`label` as the digit it is (3, 3.0, np.int64(3)), or None (13, 2.5, '3', True)."""
    if isinstance(label, bool) or not isinstance(label, int | float):
        return None
    if not 0 <= label <= 9 or label != round(label):  # NaN fails the range test too
        return None
    return int(label)


def _opener(path: Path) -> Callable[[], TextIO]:
    """A function that opens `path` as text, as many times as the reader needs.

    A regular file is opened afresh each time.  Anything else that can be read
    (a pipe, a FIFO, a terminal, a device) is read once: its first line first,
    so that a device without lines is refused at once, then the rest, capped.
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise DigitnetError(f"{path}: no such file") from None
    except OSError as error:
        raise DigitnetError(f"{path}: cannot read ({error.strerror})") from None
    if stat.S_ISDIR(mode):
        raise DigitnetError(f"{path}: is a folder, expected a CSV file")
    if stat.S_ISREG(mode):
        return lambda: open(path, encoding="utf-8-sig", newline="")
    try:
        with open(path, "rb") as raw:
            first = raw.readline(MAX_LINE + 1)
            if len(first) > MAX_LINE:
                raise DigitnetError(f"{path}: line 1 is longer than {MAX_LINE} characters; "
                                    "not a Kaggle CSV")  # fmt: skip
            rest = raw.read(MAX_STREAM + 1)
    except OSError as error:
        raise DigitnetError(f"{path}: cannot read ({error.strerror})") from None
    if len(rest) > MAX_STREAM:
        raise DigitnetError(f"{path}: more than {MAX_STREAM >> 20} MB from a stream; save it "
                            "to a file first")  # fmt: skip
    try:
        text = (first + rest).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DigitnetError(f"{path}: is not a text CSV file (not UTF-8)") from None
    return lambda: io.StringIO(text, newline="")


# The first bytes of files people hand over by mistake, and what they are.
_SIGNATURES = {
    b"\xff\xfe": "text in UTF-16, not UTF-8 (save it as UTF-8)",
    b"\xfe\xff": "text in UTF-16, not UTF-8 (save it as UTF-8)",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a zip archive (an .npz model, a .docx or .xlsx, a zipped CSV?)",
    b"\x1f\x8b": "a gzip file (unpack it first: gunzip)",
    b"\x89PNG": "a PNG picture",
    b"\xff\xd8\xff": "a JPEG picture",
    b"GIF8": "a GIF picture",
    b"\x93NUMPY": "a numpy .npy file",
    b"\x00\x00\x08": "an IDX file (MNIST's format: pass its folder)",
    b"<svg": "an SVG drawing (save it as PNG to predict it)",
    b"<?xml": "an XML file (an SVG drawing? save it as PNG to predict it)",
    b"<!DOCTYPE": "an HTML page",
    b"<html": "an HTML page",
}


def _binary_kind(path: Path) -> str | None:
    """What a regular file is if it is plainly not text (its first bytes), else None."""
    if not path.is_file():
        return None  # a pipe or device is read once, by _opener
    try:
        with open(path, "rb") as raw:
            start = raw.read(1024)
    except OSError:
        return None  # said when it is read
    for signature, kind in _SIGNATURES.items():
        if start.startswith(signature):
            return kind
    return "a binary file" if b"\x00" in start else None


def _capped_lines(path: Path, stream: TextIO) -> Iterator[str]:
    """The lines of `stream`, each read with a length cap (DigitnetError beyond it)."""
    number = 0
    while line := stream.readline(MAX_LINE + 1):
        number += 1
        if len(line) > MAX_LINE:
            raise DigitnetError(
                f"{path}: line {number} is longer than {MAX_LINE} characters; "
                "a Kaggle CSV row is at most 785 numbers"
            )
        yield line


def _read_header(path: Path, open_text: Callable[[], TextIO]) -> list[str]:
    try:
        with open_text() as stream:
            first_line = next(_capped_lines(path, stream), "")
    except UnicodeDecodeError:
        raise DigitnetError(f"{path}: is not a text CSV file (not UTF-8)") from None
    except OSError as error:
        raise DigitnetError(f"{path}: cannot read ({error.strerror})") from None
    if not first_line.strip():
        raise DigitnetError(f"{path}: is empty (expected a header line and image rows)")
    return [name.strip().strip('"') for name in first_line.strip().split(",")]


def _describe_bad_header(header: list[str], path: Path) -> str:
    expected = "expected 'label,pixel0,...,pixel783' (train) or 'pixel0,...,pixel783' (test)"
    if header and header[0].lstrip("-").isdigit():
        # The widely shared mnist_train.csv (label, then 784 pixels) has no header:
        # say which line to add, and one way to add it.
        if len(header) in (PIXELS, PIXELS + 1):
            labelled = len(header) == PIXELS + 1
            names = ("label," if labelled else "") + "pixel0,...,pixel783"
            quoted = shlex.quote(str(path))
            command = (
                f"(echo {'label,' if labelled else ''}$(seq -s, -f pixel%g 0 783); cat {quoted})"
            )
            return (
                f"no header row: its {len(header)} numbers a row look like "
                f"{'a label and 784 pixels' if labelled else '784 pixels'}; add the header "
                f"line '{names}' first, e.g. {command} > with-header.csv"
            )
        return f"no header row; {expected}"
    if len(header) == 1:  # one column: were the cells separated by something else?
        separator = next((sep for sep in (";", "\t", "|", " ") if sep in header[0].strip()), None)
        if separator is not None:
            named = {"\t": "tabs", " ": "spaces"}.get(separator, f"'{separator}'")
            return f"its columns are separated by {named}, not commas; {expected}"
    if header[-1:] == ["label"] and header[:-1] in PIXEL_NAMINGS:
        return f"the 'label' column is last; it must come first; {expected}"
    shown = _clipped(",".join(header[:3]), 60) + (",..." if len(header) > 3 else "")
    wrong = _first_wrong_column(header)
    where = f": column {wrong[0]} is '{_clipped(wrong[1])}', expected '{wrong[2]}'" if wrong else ""
    return f"unexpected header '{shown}' ({len(header)} columns){where}; {expected}"


def _first_wrong_column(header: list[str]) -> tuple[int, str, str] | None:
    """Where a header of the right length goes wrong, against the naming it is nearest
    (a header that differs in one column quotes as if it were right): (column, found,
    expected), columns counted from 1; None if no naming is near."""
    candidates = [[*labelled, *naming] for naming in PIXEL_NAMINGS for labelled in ([], ["label"])]
    fits = [names for names in candidates if len(names) == len(header)]
    if not fits:
        return None
    best = min(fits, key=lambda names: sum(a != b for a, b in zip(header, names)))
    wrong = [i for i, (a, b) in enumerate(zip(header, best)) if a != b]
    if not wrong or len(wrong) > 10:  # far from every naming: no one column to point at
        return None
    return wrong[0] + 1, header[wrong[0]], best[wrong[0]]


def _clipped(text: str, most: int = 20) -> str:
    """`text` as quoted in a message: its first `most` characters, '...' if there is more."""
    return text if len(text) <= most else text[:most] + "..."


def _whole_floats(path: Path, open_text: Callable[[], TextIO], columns: int) -> np.ndarray:
    """The table of a CSV whose numbers are written as floats ('3.0', '255.0': what
    pandas writes for a column that was ever float), if every one is whole; else the
    DigitnetError naming the first cell that is not a whole number, or not a number."""
    try:
        with open_text() as stream:
            rows = _capped_lines(path, stream)
            next(rows)
            table = np.loadtxt(rows, delimiter=",", dtype=np.float64, ndmin=2, quotechar='"')
    except ValueError:
        table = None
    whole = table is not None and bool(
        np.all(np.isfinite(table)) and np.all(np.abs(table) <= 32767)
        and np.array_equal(table, np.rint(table))
    )  # fmt: skip
    if table is None or not whole:
        raise DigitnetError(f"{path}: {_find_bad_line(path, open_text, columns)}")
    return table.astype(np.int16)


def _find_bad_line(path: Path, open_text: Callable[[], TextIO], columns: int) -> str:
    """Scan line by line for the first row the C parser would refuse; describe it."""
    with open_text() as stream:
        lines = _capped_lines(path, stream)
        next(lines)  # the header, already checked
        for line_number, line in enumerate(lines, start=2):
            if not line.strip():
                continue
            cells = line.rstrip("\r\n").split(",")
            if len(cells) != columns:
                return f"line {line_number}: has {len(cells)} columns, expected {columns}"
            for column, cell in enumerate(cells):
                text = cell.strip().removeprefix('"').removesuffix('"').strip()
                if _whole_as_float(text):  # '3.0': read as 3 (_whole_floats)
                    text = text.partition(".")[0] or "0"
                if not (text.lstrip("+-").isdigit() and text.isascii()):
                    return (
                        f"line {line_number}, column {column + 1}: "
                        f"'{_clipped(text)}' is not a whole number"
                    )
                if not -32768 <= int(text) <= 32767:
                    return (f"line {line_number}, column {column + 1}: {_clipped(text)} is out "
                            "of range")  # fmt: skip
    return "could not be parsed as a CSV of whole numbers"


def _whole_as_float(text: str) -> bool:
    """Whether `text` is a whole number written with a decimal point: '3.0', '255.', '-0.00'."""
    whole, point, fraction = text.partition(".")
    digits = whole.lstrip("+-")
    return bool(point) and digits.isdigit() and digits.isascii() and set(fraction) <= {"0"}


def _check_range(
    path: Path, values: np.ndarray, low: int, high: int, what: str, first_column: int
) -> None:
    bad = (values < low) | (values > high)
    if not bad.any():
        return
    row, column = np.argwhere(bad)[0]
    raise DigitnetError(
        f"{path}: line {row + 2}, column {first_column + column + 1}: "
        f"{what} {values[row, column]} is outside {low}..{high}"
    )
