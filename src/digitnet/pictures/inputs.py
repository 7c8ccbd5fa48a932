"""What the picture functions accept, read by the rules `Model.predict` uses.

A notebook hands a picture whatever it just computed: `images[i] / 255`, one
image as (1, 784) or (28, 28), `predict_proba(x)` of one image as (1, 10), a
label from a list.  Each picture reads its inputs here first, so that 0..1
floats are drawn as ink (not as near-white 0..255), a batch of one draws its
image, and a label or a table of the wrong size gives one DigitnetError that
says what it got, not an IndexError from inside matplotlib.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from digitnet.errors import DigitnetError
from digitnet.model import pixel_rows


def one_image(pixels: ArrayLike, pixels_per_image: int = 784) -> np.ndarray:
    """One image as a flat uint8 row of 0..255 (`pixel_rows`' rules), from (784,),
    (28, 28), (1, 784) or (1, 28, 28)."""
    rows = pixel_rows(pixels, pixels_per_image)
    if len(rows) != 1:
        raise DigitnetError(f"pixels: {len(rows)} images; this picture draws one (give images[i])")
    return rows[0]


def probability_table(probabilities: ArrayLike, images: int, classes: int) -> np.ndarray:
    """Probabilities as (images, classes) floats: one row per image, finite, in 0..1."""
    table = np.asarray(probabilities, dtype=np.float64)
    given = table.shape
    if table.shape == (classes,) and images == 1:
        table = table.reshape(1, classes)
    if table.shape != (images, classes):
        raise DigitnetError(
            f"probabilities: shape {given}; expected ({images}, {classes}): one "
            f"row of {classes} per image (what predict_proba gives)"
        )
    if not (np.isfinite(table).all() and table.min(initial=0) >= 0 and table.max(initial=0) <= 1):
        raise DigitnetError("probabilities: must be finite numbers in 0..1")
    return table


def class_index(label: object, class_names: tuple[str, ...], name: str = "label") -> int | None:
    """A class label as an int in 0..len(class_names)-1, or None for none given."""
    if label is None:
        return None
    whole = isinstance(label, int | np.integer) and not isinstance(label, bool | np.bool_)
    if not whole or not 0 <= int(label) < len(class_names):
        raise DigitnetError(
            f"{name}={label!r:.40}: must be a class number 0..{len(class_names) - 1}"
        )
    return int(label)


def label_array(labels: ArrayLike, images: int, class_names: tuple[str, ...]) -> np.ndarray:
    """One whole-number label in 0..len(class_names)-1 per image."""
    array = np.asarray(labels)
    if array.shape != (images,):
        raise DigitnetError(f"labels: shape {array.shape}; expected ({images},): one per image")
    if images and (array.dtype.kind not in "iu" or array.min() < 0):
        raise DigitnetError(f"labels: must be class numbers 0..{len(class_names) - 1}")
    if images and array.max() >= len(class_names):
        raise DigitnetError(f"labels: must be class numbers 0..{len(class_names) - 1}")
    return array.astype(np.int64)
