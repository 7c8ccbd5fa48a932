"""A picture of your own digit (PNG, JPG...), prepared the way MNIST's digits were.

MNIST's recipe (LeCun et al.): the digit is scaled to fit a 20x20 box keeping
its aspect ratio, then placed in a 28x28 field so that its centre of mass sits
at the centre.  Ink is bright (255) on a dark (0) background.  So:

1. read the file as grayscale, upright as its EXIF orientation says (a phone's
   photo), at most WORKING_SIDE pixels a side (a transparent background counts
   as white paper); an image of more than MAX_PIXELS pixels is refused before
   it is decoded, so a small file claiming a gigantic image costs nothing;
2. if the background is light (a pen on paper), invert so ink is bright;
3. crop to the ink's bounding box;
4. scale the longer side to 20 pixels;
5. shift so the centre of mass lands on the field's centre (13.5, 13.5).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from digitnet.errors import DigitnetError

BOX = 20  # the digit's longer side, in pixels
FIELD = 28
INK_THRESHOLD = 40  # pixel values above this (after inversion) count as ink for cropping
MAX_PIXELS = 50_000_000  # a 50-megapixel photo is fine; a 20000 x 20000 "image" is not
WORKING_SIDE = 1024  # plenty for a 20x20 result, small enough to work on in float64


def read_digit_image(path: str | os.PathLike[str]) -> np.ndarray:
    """The image file at `path` as one MNIST-style row of 784 uint8 pixels."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as opened:  # reads the header only
            width, height = opened.size
            if width * height > MAX_PIXELS:
                raise DigitnetError(
                    f"{path}: {width}x{height} pixels is more than {MAX_PIXELS:,} "
                    "(a decompression bomb?); scale it down first"
                )
            opened.draft("L", (WORKING_SIDE, WORKING_SIDE))  # JPEG: decode at a fraction
            image = ImageOps.exif_transpose(opened)
            if image.mode in ("RGBA", "LA", "P", "PA"):
                image = image.convert("RGBA")
                paper = Image.new("RGBA", image.size, (255, 255, 255, 255))
                image = Image.alpha_composite(paper, image)
            image = image.convert("L")
            image.thumbnail((WORKING_SIDE, WORKING_SIDE))
            gray = np.asarray(image, dtype=np.float64)
    except FileNotFoundError:
        raise DigitnetError(f"{path}: no such file") from None
    except Image.DecompressionBombError:
        raise DigitnetError(f"{path}: too many pixels (a decompression bomb?)") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        raise DigitnetError(f"{path}: not a readable image ({error})") from None
    return prepare_digit(gray, str(path))


def prepare_digit(gray: np.ndarray, name: str = "image") -> np.ndarray:
    """Steps 2-5 above on a 2-D grayscale array (0..255); returns 784 uint8 pixels."""
    from PIL import Image

    if gray.ndim != 2 or min(gray.shape) < 1:
        raise DigitnetError(f"{name}: expected a 2-D grayscale image, got shape {gray.shape}")
    ink = _ink_bright(gray)
    rows = np.flatnonzero((ink > INK_THRESHOLD).any(axis=1))
    columns = np.flatnonzero((ink > INK_THRESHOLD).any(axis=0))
    if len(rows) == 0:
        raise DigitnetError(f"{name}: no digit found (the image is blank)")
    cropped = ink[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]

    height, width = cropped.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))  # PIL: (w, h)
    boxed = np.asarray(
        Image.fromarray(cropped.astype(np.float32), mode="F").resize(size, Image.Resampling.LANCZOS)
    )
    boxed = np.clip(boxed, 0, 255)
    return _centre_by_mass(boxed).astype(np.uint8).reshape(FIELD * FIELD)


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, column) of the ink's centre of mass: the pixel coordinates weighted by ink."""
    total = image.sum()
    rows, columns = np.indices(image.shape)
    return float((rows * image).sum() / total), float((columns * image).sum() / total)


def _ink_bright(gray: np.ndarray) -> np.ndarray:
    """Invert if the background (judged by the border pixels) is lighter than mid-grey."""
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return 255.0 - gray if np.median(border) > 127 else gray


def _centre_by_mass(boxed: np.ndarray) -> np.ndarray:
    """Place `boxed` in a 28x28 field with its centre of mass nearest the centre."""
    field = np.zeros((FIELD, FIELD))
    centre = (FIELD - 1) / 2  # 13.5: between the two middle pixels
    row_mass, column_mass = centre_of_mass(boxed)
    top, left = round(centre - row_mass), round(centre - column_mass)
    # Paste with clipping: a lopsided digit may need to hang over an edge.
    source_rows = slice(max(0, -top), min(boxed.shape[0], FIELD - top))
    source_columns = slice(max(0, -left), min(boxed.shape[1], FIELD - left))
    field[
        source_rows.start + top : source_rows.stop + top,
        source_columns.start + left : source_columns.stop + left,
    ] = boxed[source_rows, source_columns]
    return np.rint(field)
