"""Reading a picture of your own digit (PNG, JPG...): a file, or the bytes of one.

The picture is read as grayscale, upright as its EXIF orientation says (a
phone's photo), at most WORKING_SIDE pixels a side (a JPEG is decoded at a
fraction of its size, so a 50-megapixel photo costs little memory), with a
transparent background counted as white paper (black, under light ink).  An image of more than
MAX_PIXELS pixels is refused from its header, before it is decoded: a small file
that claims a gigantic image (a decompression bomb) costs nothing.

Then `digit_photo.prepare_digit` turns it into MNIST's 28x28 form: the one
preprocessing that `digitnet show --image`, the drawing page of `digitnet serve`
and the Python API share.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from digitnet.data.levels import checked_levels
from digitnet.errors import DigitnetError, check_type

MAX_PIXELS = 50_000_000  # a 50-megapixel photo is fine; a 20000 x 20000 "image" is not
MAX_SIDE = 20_000  # nor is a 1 x 49,000,000 one
WORKING_SIDE = 512  # digit_photo.WORK_SIDE: plenty for a 20x20 result; shrunk while decoding


def read_digit_image(source: Any, name: str | None = None) -> np.ndarray:
    """The picture in `source` as one MNIST-style row of 784 uint8 pixels.

    `source` is a file's path, the file's bytes, a Pillow Image, or a numpy array:
    grey levels (height, width) or colours (height, width, 3 or 4), in 0..255 or
    as floats in 0..1.  A picture of any size and either polarity: this is for
    photos and drawings.  An array already in MNIST's form (white ink on black,
    28x28, centred) goes straight to `Model.predict`.  `name` is what error
    messages call the picture.
    """
    from PIL import Image

    from digitnet.data.digit_photo import prepare_digit  # scipy: loaded when first needed

    if isinstance(source, Image.Image):
        return prepare_digit(_from_pillow(source, name or "image"), name or "image")
    if isinstance(source, np.ndarray):
        return prepare_digit(_from_array(source, name or "array"), name or "array")
    check_type(source, (str, os.PathLike, bytes), "source",
               "a file name, the file's bytes, a Pillow Image or a numpy array")  # fmt: skip
    return prepare_digit(read_grayscale(source, name), name or _name(source))


def _from_pillow(image: Any, name: str) -> np.ndarray:
    """A Pillow Image's grey levels, read as a file's are (its own copy is shrunk)."""
    _check_size(image.size, name)
    try:
        return _grey_levels(_upright(image.copy()))
    except Exception:  # an image whose pixels were never loaded (a closed file)
        raise DigitnetError(f"{name}: its pixels cannot be read (was its file closed?)") from None


def _from_array(array: np.ndarray, name: str) -> np.ndarray:
    """Grey levels 0..255 from a (height, width) grey or (height, width, 3|4) colour
    array; colours become grey as Pillow's "L" mode makes them, transparency paper."""
    from PIL import Image

    colour = array.ndim == 3 and array.shape[-1] in (3, 4)
    if not (array.ndim == 2 or colour) or min(array.shape[:2], default=0) < 1:
        raise DigitnetError(
            f"{name}: shape {array.shape}; expected a picture: (height, width) grey "
            "levels or (height, width, 3 or 4) colours"
        )
    _check_size((array.shape[1], array.shape[0]), name)
    array, _, high = checked_levels(array, name, variable="array")
    scaled = array * 255.0 if high <= 1 else array  # 0..1, or a 0/1 mask: as pixel_rows reads
    if not colour:
        return np.asarray(scaled, dtype=np.float32)
    picture = Image.fromarray(
        np.rint(scaled).astype(np.uint8), "RGBA" if array.shape[-1] == 4 else "RGB"
    )
    return _grey_levels(picture)


def read_grayscale(source: str | os.PathLike[str] | bytes, name: str | None = None) -> np.ndarray:
    """The picture in `source` as a 2-D float32 array of grey levels 0..255 (see above)."""
    from PIL import Image, UnidentifiedImageError

    name = name or _name(source)
    if isinstance(source, bytes) and not source:
        raise DigitnetError(f"{name}: is empty (0 bytes), not a picture")
    try:
        if (
            not isinstance(source, bytes)
            and Path(source).is_file()
            and not Path(source).stat().st_size
        ):
            raise DigitnetError(f"{name}: is empty (0 bytes), not a picture")
        opened_from = io.BytesIO(source) if isinstance(source, bytes) else Path(source)
        # Pillow warns on stderr about bombs and broken EXIF; the checks below decide.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(opened_from) as opened:  # reads the header only
                _check_size(opened.size, name)
                opened.draft("L", (WORKING_SIDE, WORKING_SIDE))  # JPEG: decode at a fraction
                return _grey_levels(_upright(opened))
    except FileNotFoundError:
        raise DigitnetError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise DigitnetError(f"{name}: is a folder, not an image") from None
    except PermissionError:
        raise DigitnetError(f"{name}: cannot read it (permission denied)") from None
    except Image.DecompressionBombError:
        raise DigitnetError(f"{name}: too many pixels (a decompression bomb?)") from None
    except UnidentifiedImageError:
        if _is_empty(source):
            raise DigitnetError(f"{name}: is empty (0 bytes), not a picture") from None
        raise DigitnetError(
            f"{name}: not a picture this can read (PNG, JPEG, GIF, BMP, WebP, TIFF...)"
        ) from None
    except DigitnetError:
        raise
    except Exception:  # a truncated or corrupt file: any error while decoding
        # Pillow's exceptions say little a person can act on ("OSError"); what it means:
        raise DigitnetError(
            f"{name}: not a readable image: its data is truncated or damaged"
        ) from None


def _check_size(size: tuple[int, int], name: str) -> None:
    """Refuse, from the header alone, a picture too big to decode safely."""
    width, height = size
    if width * height > MAX_PIXELS:
        raise DigitnetError(f"{name}: {width}x{height} pixels is more than {MAX_PIXELS:,} "
                            "(a decompression bomb?); scale it down first")  # fmt: skip
    if max(width, height) > MAX_SIDE:  # 1 x 49,000,000 passes the count, not the decoder
        raise DigitnetError(f"{name}: {width}x{height} pixels: a side is longer than "
                            f"{MAX_SIDE:,}; scale it down first")  # fmt: skip


def _upright(image: Any) -> Any:
    """The picture turned as its EXIF orientation says, shrunk to WORKING_SIDE; a broken
    EXIF block is ignored (the picture is then taken as stored)."""
    from PIL import ImageOps

    try:
        turned = ImageOps.exif_transpose(image)
    except Exception:  # broken EXIF: a stranger's bytes  # noqa: BLE001
        turned = image
    turned.thumbnail((WORKING_SIDE, WORKING_SIDE))  # before any conversion: less to convert
    return turned


def _grey_levels(image: Any) -> np.ndarray:
    """The picture as grey levels 0..255: a transparent background counts as white
    paper; 16-bit and floating-point greys are scaled, not clipped, to 0..255."""
    from PIL import Image

    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") else max(float(values.max()), 1.0)
        return np.clip(values / top * 255, 0, 255).astype(np.float32)
    if image.mode in ("RGBA", "LA", "P", "PA"):
        image = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", image.size, _paper(image)), image)
    return np.asarray(image.convert("L"), dtype=np.float32)


def _paper(image: Any) -> tuple[int, int, int, int]:
    """The colour a transparent background stands for: white paper, unless what is
    drawn on it (its opaque pixels) is light, as white ink on a transparent layer
    is: then black, or the digit would vanish into the paper."""
    rgba = np.asarray(image, dtype=np.float32)
    opaque = rgba[..., 3] > 127
    if opaque.all() or not opaque.any():
        return (255, 255, 255, 255)  # nothing drawn on a transparent layer
    red, green, blue = (rgba[..., channel][opaque] for channel in range(3))
    ink = float(np.mean(0.299 * red + 0.587 * green + 0.114 * blue))  # as "L" weighs them
    return (0, 0, 0, 255) if ink > 127 else (255, 255, 255, 255)


def _is_empty(source: str | os.PathLike[str] | bytes) -> bool:
    try:
        if isinstance(source, bytes):
            return len(source) == 0
        path = Path(source)  # a FIFO or device reports size 0 whatever it sends
        return path.is_file() and path.stat().st_size == 0
    except OSError:
        return False


def _name(source: str | os.PathLike[str] | bytes) -> str:
    return "image" if isinstance(source, bytes) else str(source)
