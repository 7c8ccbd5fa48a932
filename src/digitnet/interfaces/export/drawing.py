"""The exported page's preprocessing of a drawing, in Python: what page/drawing.js does.

A drawing on the page's canvas is dark ink on white, with nothing else on it, so of
the photo pipeline of data/digit_photo.py (which `digitnet serve` runs on drawings
too) only the drawing path's steps are needed, and drawing.js ports exactly these:

1. find the ink: 255 - gray, less the server's noise margin (6 grey levels), scaled
   so that its 90th percentile is full ink (the server's `_ink_against` on white paper);
2. crop to the box of the pixels above INK (0.2) of full ink;
3. scale into a 20x20 box keeping the aspect (the longer side 20 pixels), by area
   averaging, via 4x that size, where a stroke thinner than most of MNIST's is
   thickened (the server's `_into_box`), and make the 90th percentile of what is
   inked full white (255);
4. centre by the centre of mass in the 28x28 field (MNIST's recipe), the shift
   rounded as Python's round() does (ties to even).

Left out, as a canvas has no use for them: the sheet, paper and shadow estimates,
ruled lines, and the choice of the digit among the pieces of ink (every stroke on
the canvas counts).  The resampling is an area average here, PIL's filters there.
The tests hold this module and drawing.js equal pixel for pixel (within one grey
level, for rounding), and this module close to the server's preprocessing on the
same drawings.

Other rounding is floor(x + 0.5), as JavaScript's Math.round does for the positive
values here, so that the two agree.
"""

from __future__ import annotations

import numpy as np

from digitnet.errors import DigitnetError

BOX = 20
FIELD = 28
NOISE = 6.0  # grey levels below which the server counts a difference from the paper as noise
INK = 0.2  # share of full ink that counts for the digit's box
FAINT = 0.05  # share of the box's strongest ink below which a pixel is not inked
STROKE = 0.13  # MNIST's stroke width as a share of the digit's size (2.7 of 20 pixels)


def prepare_drawing(gray: np.ndarray) -> np.ndarray:
    """A drawing (2-D, 0..255, dark ink on white) as 784 MNIST-style uint8 pixels."""
    gray = np.asarray(gray, dtype=np.float64)
    if gray.ndim != 2:
        raise DigitnetError(f"drawing: expected a 2-D grayscale image, got shape {gray.shape}")
    ink = find_ink(gray)
    rows = np.flatnonzero((ink > INK).any(axis=1))
    columns = np.flatnonzero((ink > INK).any(axis=0))
    if len(rows) == 0:
        raise DigitnetError("drawing: no digit found (the drawing is blank)")
    cropped = ink[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
    boxed = into_box(cropped)
    return centre_by_mass(boxed).reshape(FIELD * FIELD)


def find_ink(gray: np.ndarray) -> np.ndarray:
    """How much ink each pixel holds, 0..1 (step 1)."""
    ink = np.clip(255.0 - gray - NOISE, 0, None)
    strong = ink[ink > NOISE]
    if strong.size == 0:
        return np.zeros_like(ink)
    return np.clip(ink / percentile(strong, 90), 0, 1)


def percentile(values: np.ndarray, share: float) -> float:
    """numpy's default percentile (linear between the two nearest sorted values)."""
    ordered = np.sort(values.ravel())
    position = share / 100 * (len(ordered) - 1)
    low = int(np.floor(position))
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))


def area_weights(size_in: int, size_out: int) -> np.ndarray:
    """(size_out, size_in): output pixel k averages the input pixels it covers,
    each weighted by how much of it lies in [k, k + 1) * size_in / size_out."""
    scale = size_in / size_out
    weights = np.zeros((size_out, size_in))
    for k in range(size_out):
        start, end = k * scale, (k + 1) * scale
        for i in range(int(np.floor(start)), min(int(np.ceil(end)), size_in)):
            weights[k, i] = (min(end, i + 1) - max(start, i)) / scale
    return weights


def resized(image: np.ndarray, side: int) -> np.ndarray:
    """`image` scaled so that its longer side is `side` pixels, keeping its shape."""
    height, width = image.shape
    scale = side / max(height, width)
    out_height = max(1, int(np.floor(height * scale + 0.5)))
    out_width = max(1, int(np.floor(width * scale + 0.5)))
    return area_weights(height, out_height) @ image @ area_weights(width, out_width).T


def stroke_width(strokes: np.ndarray) -> float:
    """Mean width of the strokes in a boolean image: area / half the outline's length."""
    area = strokes.sum()
    if area == 0:
        return 0.0
    padded = np.pad(strokes, 1)
    surrounded = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    outline = strokes & ~surrounded
    return float(2 * area / max(outline.sum(), 1))


def thickened(large: np.ndarray) -> np.ndarray:
    """At 4x the box, a stroke thinner than most of MNIST's made STROKE thick: each
    pixel becomes the largest in its grow x grow window (as the server does)."""
    relative = stroke_width(large > 0.5 * large.max()) / (4 * BOX)
    if not 0 < relative < 0.75 * STROKE:
        return large
    grow = min(int(np.floor((STROKE - relative) * 4 * BOX + 0.5)) | 1, 11)
    padded = np.pad(large, grow)
    reach = grow // 2
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(padded, reach), (grow, grow))
    grown = windows.max(axis=(2, 3))
    rows = np.flatnonzero((grown > FAINT * grown.max()).any(axis=1))
    columns = np.flatnonzero((grown > FAINT * grown.max()).any(axis=0))
    return grown[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]


def into_box(cropped: np.ndarray) -> np.ndarray:
    """The ink scaled so its longer side is BOX pixels, a thin stroke thickened on the
    way (at 4x the box), and its 90th percentile made full white (step 3), 0..255."""
    boxed = resized(thickened(resized(cropped, 4 * BOX)), BOX)
    inked = boxed[boxed > FAINT * boxed.max()]
    peak = percentile(inked, 90) if inked.size else 1.0
    return np.clip(255 * boxed / max(peak, 1e-6), 0, 255)


def round_half_even(value: float) -> int:
    """Python's round() (ties to even, as the server centres), after rounding away the
    last digits, so that sums made in another order (in JavaScript) round alike."""
    value = np.floor(value * 1e6 + 0.5) / 1e6
    nearest = np.floor(value + 0.5)
    if nearest - value == 0.5 and nearest % 2 == 1:  # a tie, rounded up to an odd number
        nearest -= 1
    return int(nearest)


def centre_by_mass(boxed: np.ndarray) -> np.ndarray:
    """`boxed` pasted into FIELD x FIELD with its centre of mass nearest the centre
    (step 4), rounded to whole grey levels."""
    total = boxed.sum()
    rows, columns = np.indices(boxed.shape)
    row_mass, column_mass = (rows * boxed).sum() / total, (columns * boxed).sum() / total
    centre = (FIELD - 1) / 2
    top, left = round_half_even(centre - row_mass), round_half_even(centre - column_mass)
    field = np.zeros((FIELD, FIELD))
    for row in range(boxed.shape[0]):
        for column in range(boxed.shape[1]):
            y, x = row + top, column + left
            if 0 <= y < FIELD and 0 <= x < FIELD:
                field[y, x] = boxed[row, column]
    return np.floor(field + 0.5).astype(np.uint8)
