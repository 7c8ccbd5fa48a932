"""Reading a picture of your own digit (PNG, JPG...): a file, or the bytes of one.

The picture is read as grayscale, upright as its EXIF orientation says (a
phone's photo), at most WORKING_SIDE pixels a side (a JPEG is decoded at a
fraction of its size, so a 50-megapixel photo costs little memory), with a
transparent background counted as white paper.  An image of more than
MAX_PIXELS pixels is refused from its header, before it is decoded: a small file
that claims a gigantic image (a decompression bomb) costs nothing.

Then `digit_photo.prepare_digit` turns it into MNIST's 28x28 form: the one
preprocessing that `digitnet show --image`, the drawing page of `digitnet serve`
and the Python API share.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from digitnet.data.digit_photo import prepare_digit
from digitnet.errors import DigitnetError

MAX_PIXELS = 50_000_000  # a 50-megapixel photo is fine; a 20000 x 20000 "image" is not
WORKING_SIDE = 1024  # plenty for a 20x20 result, small enough to work on in float64


def read_digit_image(source: str | os.PathLike[str] | bytes, name: str | None = None) -> np.ndarray:
    """The picture in `source` (a file's path, or its bytes) as one MNIST-style row
    of 784 uint8 pixels.  `name` is what error messages call it."""
    return prepare_digit(read_grayscale(source, name), name or _name(source))


def read_grayscale(source: str | os.PathLike[str] | bytes, name: str | None = None) -> np.ndarray:
    """The picture in `source` as a 2-D float64 array of grey levels 0..255 (see above)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    name = name or _name(source)
    opened_from = io.BytesIO(source) if isinstance(source, bytes) else Path(source)
    try:
        with Image.open(opened_from) as opened:  # reads the header only
            width, height = opened.size
            if width * height > MAX_PIXELS:
                raise DigitnetError(
                    f"{name}: {width}x{height} pixels is more than {MAX_PIXELS:,} "
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
            return np.asarray(image, dtype=np.float64)
    except FileNotFoundError:
        raise DigitnetError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise DigitnetError(f"{name}: is a folder, not an image") from None
    except Image.DecompressionBombError:
        raise DigitnetError(f"{name}: too many pixels (a decompression bomb?)") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as error:
        raise DigitnetError(f"{name}: not a readable image ({error})") from None


def _name(source: str | os.PathLike[str] | bytes) -> str:
    return "image" if isinstance(source, bytes) else str(source)
