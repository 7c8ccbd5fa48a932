"""The checks every array of grey levels passes, wherever it comes from: rows handed
to `Model.predict` (model.py: pixel_rows) and pictures handed to `read_digit_image`
as arrays (image_file.py).  One place, so that both refuse the same things in the
same words, and both read True/False ink masks alike.
"""

from __future__ import annotations

import numpy as np

from digitnet.errors import DigitnetError


def checked_levels(array: np.ndarray, name: str, variable: str = "images"
                   ) -> tuple[np.ndarray, float, float]:  # fmt: skip
    """`array` (an ink mask made 0/255 uint8), and its lowest and highest values,
    after refusing what cannot be grey levels: no numbers, NaN or infinity, or values
    outside 0..255.  Which scale 0..255 values are on is the caller's to decide.
    `name` begins each message; `variable` is what the np.clip hint calls the array."""
    if array.dtype == np.bool_:
        array = array.astype(np.uint8) * np.uint8(255)
    if array.dtype.kind not in "iuf":
        raise DigitnetError(f"{name}: values of type {array.dtype}; expected numbers")
    if array.size and not np.all(np.isfinite(array)):
        raise DigitnetError(f"{name}: holds NaN or infinite values")
    low, high = (array.min().item(), array.max().item()) if array.size else (0, 0)
    if low < 0 or high > 255:
        raise DigitnetError(
            f"{name}: values from {low!r} to {high!r}; expected 0..255 (or 0..1): "
            f"np.clip({variable}, 0, 255) if the excess is noise"
        )
    return array, float(low), float(high)
