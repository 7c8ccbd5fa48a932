"""What `digitnet predict` reads and writes.

It reads either data (a Kaggle CSV, a folder of IDX files, a dataset name) or
pictures of digits (PNG, JPG...: files, and folders of them), each prepared as
`show --image` prepares one (data/image_file.py).  It writes a CSV: Kaggle's
`ImageId,Label` for data, `file,label` for pictures, and with `--proba` one more
column per class, its probability.  `--out -` writes the CSV to stdout.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from digitnet.atomic import STDOUT, write_text
from digitnet.data.recorded import is_named
from digitnet.errors import DigitnetError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".jfif", ".gif", ".bmp", ".tif", ".tiff", ".webp",
                  ".ico", ".pgm", ".ppm", ".pbm")  # fmt: skip
STDIN = "/dev/stdin"  # what an input of '-' means
ACCEPTED = (
    "predict takes pictures (PNG, JPG...) or folders of them, or one Kaggle CSV, "
    "folder of IDX files, or dataset name (sample, mnist...)"
)
_IDX_IMAGES = ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte")


def is_stdout(out: str) -> bool:
    """Whether `--out` names the standard output rather than a file."""
    return out in STDOUT


def standard_input(text: str) -> str:
    """An input named '-' as the standard input's path (a CSV piped in: `... | digitnet
    predict model.npz -`); any other name as it is."""
    if text != "-":
        return text
    if not Path(STDIN).exists():  # Windows has no /dev/stdin
        raise DigitnetError("-: this system cannot read the standard input as a file; give a file")
    return STDIN


def image_inputs(inputs: Sequence[str]) -> list[Path] | None:
    """The picture files that `inputs` name, in order (a folder's pictures sorted by
    path, subfolders included), or None when `inputs` is data (one CSV, IDX folder or dataset name).
    A path that is neither, or a mix, is one error saying what predict accepts."""
    kinds = [_kind(text) for text in inputs]
    if all(kind == "data" for kind in kinds):
        if len(inputs) > 1:
            raise DigitnetError(f"{inputs[1]}: one data source at a time; {ACCEPTED}")
        return None
    if "data" in kinds:
        data = inputs[kinds.index("data")]
        raise DigitnetError(f"{data}: is data, not a picture: give pictures or data, not both")
    pictures: list[Path] = []
    for text in inputs:
        path = Path(text)
        pictures.extend(_pictures_in(path) if path.is_dir() else [path])
    return pictures


def _kind(text: str) -> str:
    """'images' or 'data' for one input; anything else raises, saying what is accepted."""
    path = Path(text)
    if not path.exists():
        if is_named(text):
            return "data"
        if path.suffix.lower() in IMAGE_SUFFIXES + (".csv",):
            raise DigitnetError(f"{text}: no such file")
        raise DigitnetError(f"{text}: no such file or folder, nor a dataset name; {ACCEPTED}")
    if path.is_dir():
        if any((path / name).exists() or (path / f"{name}.gz").exists() for name in _IDX_IMAGES):
            return "data"
        if _pictures_in(path):
            return "images"
        raise DigitnetError(f"{text}: a folder with no pictures (PNG, JPG...) nor IDX files; "
                            f"{ACCEPTED}")  # fmt: skip
    if path.suffix.lower() in IMAGE_SUFFIXES or (path.is_file() and _starts_like_a_picture(path)):
        return "images"
    if path.suffix.lower() == ".npy" and path.is_file():  # an array saved with np.save
        raise DigitnetError(
            f"{text}: a numpy array file, which predict does not read; in Python, "
            f"model.predict(np.load({str(text)!r})) predicts its images (see pixel_rows); "
            f"{ACCEPTED}"
        )
    return "data"  # a CSV by any name, or a pipe (/dev/stdin): the reader says what is wrong


# The first bytes of the picture formats people have, whatever the file is called
# (a photo saved without its .jpg, a .jfif): a CSV starts with text, never with these.
_PICTURE_STARTS = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*",
                   b"\x00\x00\x01\x00", b"P2", b"P5", b"P6")  # fmt: skip


def _starts_like_a_picture(path: Path) -> bool:
    try:
        with open(path, "rb") as stream:
            start = stream.read(12)
    except OSError:
        return False  # the reader will say why it cannot be read
    webp = start[:4] == b"RIFF" and start[8:12] == b"WEBP"
    return webp or any(start.startswith(magic) for magic in _PICTURE_STARTS)


def _pictures_in(folder: Path) -> list[Path]:
    """The pictures in `folder` and its subfolders (digits/7/a.png: a tree sorted by
    class is common), sorted by path; hidden files and folders (.git) left out."""
    return sorted(
        path
        for path in folder.rglob("*")
        if path.suffix.lower() in IMAGE_SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
        and path.is_file()
    )


def prediction_table(
    names: Sequence[str],
    probabilities: np.ndarray,
    class_names: Sequence[str],
    *,
    kaggle: bool,
    proba: bool,
) -> str:
    """The CSV text: `ImageId,Label` (ids from 1, labels 0..9) for data, `file,label`
    (labels by class name) for pictures; with `proba`, a column `p_NAME` per class."""
    predicted = probabilities.argmax(axis=1)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    header = ["ImageId", "Label"] if kaggle else ["file", "label"]
    writer.writerow(header + ([f"p_{name}" for name in class_names] if proba else []))
    for row, (name, label) in enumerate(zip(names, predicted)):
        first = [row + 1, int(label)] if kaggle else [name, class_names[label]]
        writer.writerow(first + ([f"{p:.6f}" for p in probabilities[row]] if proba else []))
    return text.getvalue()


def write_table(out: str, table: str) -> None:
    """`table` to the file `out` (atomically) or, for `-`, to stdout."""
    write_text(out, table, named="--out ")
