"""The old and the new photo preprocessing on the repository's test pictures, side by side.

Every test picture of tests/test_photos.py (each kind of bad photo made from 20
digits of the bundled sample, clean scans, drawings with a 2- to 45-pixel pen,
200 MNIST images as they are; and the two kinds the old code read wrong, a hairline on
a 1024-pixel photo and a thin digit beside a strip of desk), read by the old
code (digit_photo.py at `photo_before.BEFORE`, hand-written numpy) and by the new
(scipy.ndimage).  Per kind: how often the shipped model reads the same digit from
both 28x28 images, how far apart their centres of mass are at most (in rows or in
columns, pixels), and the lowest correlation of the two images (at the best shift by
up to a pixel, as tests/test_photos.py compares pictures).  Both codes paste the
digit at a whole-pixel offset that puts its centre of mass nearest 13.5, so a digit
whose centre lies near a half pixel can move by one whole pixel for a tiny change.
"all" leaves out the two kinds that the new code is meant to read differently.

Usage: python benchmarks/photo_agreement.py [--before REVISION]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator

import numpy as np

import digitnet
from digitnet.data import digit_photo, load_sample
from digitnet.data.bundled import served_model_path
from digitnet.data.image_file import read_grayscale
from digitnet.errors import DigitnetError
from photo_before import BEFORE, old_digit_photo, photo_fakes

ROWS = range(0, 2000, 100)  # the 20 digits tests/test_photos.py uses


def pictures() -> Iterator[tuple[str, np.ndarray]]:
    """(kind, grey levels) for every test picture."""
    fakes = photo_fakes()
    sample = load_sample()
    for row in ROWS:
        yield "clean scan", read_grayscale(fakes.clean_scan(sample.images[row]))
    for kind, make in sorted(fakes.PHOTOS.items()):
        for row in ROWS:
            yield kind, read_grayscale(make(sample.images[row]))
    for _, strokes in sorted(fakes.DRAWINGS.items()):
        for width in (2, 6, 20, 45):
            yield "drawing, 500 px", read_grayscale(fakes.drawn(strokes, width))
            yield "drawing, 280 px", read_grayscale(fakes.drawn(strokes, width, side=280))
    for row in ROWS:  # the two kinds of real photo that the old code read wrong
        yield "hairline, 1024 px", read_grayscale(fakes.hairline(sample.images[row], 1.0, 1024))
        yield "desk along one edge", read_grayscale(fakes.desk_along_one_edge(sample.images[row]))
    for row in range(0, 5000, 25):
        yield "MNIST image as it is", sample.images[row].reshape(28, 28).astype(float)


def read(prepare: Callable[[np.ndarray], np.ndarray], gray: np.ndarray) -> np.ndarray | None:
    try:
        return prepare(gray).reshape(28, 28).astype(float)
    except DigitnetError:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE, help="git revision of the old code")
    args = parser.parse_args()
    old = old_digit_photo(args.before)
    with served_model_path() as path:
        model = digitnet.load_model(path)
    table: dict[str, list[tuple[bool, float, float]]] = {}
    for kind, gray in pictures():
        before, after = read(old.prepare_digit, gray), read(digit_photo.prepare_digit, gray)
        if before is None or after is None:
            table.setdefault(kind, []).append((before is None and after is None, 0.0, 1.0))
            continue
        same = model.predict(np.stack([before, after]).reshape(2, 784))
        moved = np.subtract(digit_photo.centre_of_mass(before), digit_photo.centre_of_mass(after))
        shift = np.abs(moved).max()  # rows or columns, whichever moved more
        likeness = max(  # at the best shift by up to a pixel each way, as the tests measure
            np.corrcoef(np.roll(before, (dy, dx), axis=(0, 1)).ravel(), after.ravel())[0, 1]
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
        )
        table.setdefault(kind, []).append((same[0] == same[1], float(shift), float(likeness)))
    print(f"old: digit_photo.py at {args.before}; new: this checkout")
    print(f"{'pictures':<22} {'count':>5} {'same digit':>10} {'centre moved, max':>18} "
          f"{'correlation, min':>17}")  # fmt: skip
    for kind, rows in table.items():
        same, shift, likeness = (np.array(column) for column in zip(*rows))
        print(f"{kind:<22} {len(rows):>5} {same.sum():>6}/{len(rows):<3} {shift.max():>15.2f} px"
              f" {likeness.min():>17.3f}")  # fmt: skip
    fixed = ("hairline, 1024 px", "desk along one edge")
    everything = [row for kind, rows in table.items() if kind not in fixed for row in rows]
    same, shift, _ = (np.array(column) for column in zip(*everything))
    print(f"{'all':<22} {len(everything):>5} {same.sum():>6}/{len(everything):<3} "
          f"{shift.max():>15.2f} px")  # fmt: skip


if __name__ == "__main__":
    main()
