"""A trained model: the network plus everything needed to use and explain it.

A Model is not safe to call from two threads at once: its layers keep what they
computed for the backward pass (`digitnet serve` takes a lock around each forward
pass).  Reading and writing model files is model_file.py's job (`digitnet.save_model`,
`digitnet.load_model`); this module does not know about files.
"""

from __future__ import annotations

import functools
import math
import os
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from tqdm import tqdm

from digitnet.data.dataset import DIGITS
from digitnet.data.levels import checked_levels
from digitnet.data.preprocess import Preprocessing
from digitnet.errors import DigitnetError, check_type
from digitnet.network import Network
from digitnet.speed import accelerate, using_threads
from digitnet.wording import count


@dataclass
class Model:
    """network: the weights; preprocessing: how raw pixels become inputs;
    recipe: the settings it was trained with; history: its training curve;
    info: where it came from (data, seed, split, timing, interruption)."""

    network: Network
    preprocessing: Preprocessing = field(default_factory=Preprocessing)
    recipe: dict[str, Any] = field(default_factory=dict)
    history: dict[str, list] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_type(self.network, Network, "network", "a digitnet Network (Network.build)")

    def __repr__(self) -> str:
        """One line: the network, where it came from, how it did (the full record is in
        .recipe, .history and .info)."""
        parts = [repr(self.network)]
        if self.recipe.get("name"):
            parts.append(f"recipe {self.recipe['name']!r}")
        epochs = self.history.get("epoch", [])
        if epochs:
            parts.append(count(len(epochs), "epoch"))
        accuracy = kept_dev_accuracy(self)
        if accuracy is not None:
            parts.append(f"dev accuracy {accuracy:.4f}")
        if self.class_names != DIGITS:
            parts.append(f"classes {', '.join(self.class_names)}")
        return f"Model({', '.join(parts)})"

    @property
    def class_names(self) -> tuple[str, ...]:
        """What each of the ten outputs stands for, as recorded from the training data.

        Models saved before names were recorded, or whose record is damaged (not
        ten strings), are taken to be digit models: the names are then '0'..'9'.
        """
        names = self.info.get("classes")
        valid = (
            isinstance(names, list | tuple)
            and len(names) == len(DIGITS)
            and all(isinstance(name, str) for name in names)
        )
        return tuple(names) if valid else DIGITS

    def predict_proba(
        self, images: ArrayLike, progress: bool | None = False, threads: int | None = None
    ) -> np.ndarray:
        """Probabilities (m, 10) for `images` (see `pixel_rows` for what they may be).

        `progress=None` shows a progress bar when there are many images and stderr is
        a terminal (a log file gets no bar); True always, False never.  `threads=N`
        predicts on N cores (capped to the cores, with a warning), as `digitnet.train`'s
        `threads=` trains; None keeps the setting around the call (one worker, unless
        inside `digitnet.speed.using_threads` or the command line's --threads).
        """
        if threads is not None:
            with using_threads(threads, say=_warn, named="threads="):
                return self.predict_proba(images, progress)
        rows = pixel_rows(images, self.network.inputs)
        show = len(rows) > 40_000 if progress is None else progress
        # disable=None: tqdm's own test, "stderr is not a terminal".
        on_terminal_only = None if progress is None else False
        bar = (
            functools.partial(tqdm, desc="predicting", unit="batch", disable=on_terminal_only)
            if show
            else None
        )
        prepare = functools.partial(self.preprocessing.apply, dtype=self.network.dtype)
        # Weights that are finite but enormous (a model from elsewhere) overflow: one
        # error below says so, instead of numpy's warnings and NaN probabilities.
        with np.errstate(over="ignore", invalid="ignore"):
            probabilities = self.fast_network().predict_proba(rows, prepare=prepare, progress=bar)
        if not np.isfinite(probabilities).all():
            raise DigitnetError(
                "the model's outputs overflow to infinity or NaN for these images: its "
                "weights are far too large to be a trained network"
            )
        return probabilities

    def fast_network(self) -> Network:
        """The network after the speed step (digitnet.speed): the same weights, the
        same predictions to rounding, computed faster and on every allowed thread."""
        cached = self.__dict__.get("_fast")
        if cached is None or cached[0] is not self.network:
            cached = (self.network, accelerate(self.network))
            self.__dict__["_fast"] = cached
        return cached[1]

    def predict(
        self, images: ArrayLike, progress: bool | None = False, threads: int | None = None
    ) -> np.ndarray:
        """The predicted class of each image (see `pixel_rows` for what they may be, and
        `predict_proba` for `progress` and `threads`)."""
        return self.predict_proba(images, progress, threads).argmax(axis=1)


def _warn(note: str) -> None:
    # the caller of predict: past _warn, using_threads, contextlib and predict_proba
    warnings.warn(note, stacklevel=5)


def kept_row(model: Model) -> int | None:
    """The row of `model.history` that describes the weights the model holds: its best
    epoch's where training put those back (interrupted, out of patience, or
    restore_best: as training/bookkeeping.py decides), else the last; None if the
    history is empty."""
    history, info = model.history, model.info
    epochs = history.get("epoch", [])
    if not epochs:
        return None
    restored = (
        info.get("interrupted") or info.get("stopped_early") or model.recipe.get("restore_best")
    )
    best = info.get("best_epoch")
    return epochs.index(best) if restored and best in epochs else len(epochs) - 1


def kept_dev_accuracy(model: Model) -> float | None:
    """The dev accuracy of the weights the model holds (None if never measured: no
    epoch, or no dev set, whose epochs record NaN)."""
    row = kept_row(model)
    accuracies = model.history.get("dev_accuracy", [])
    accuracy = accuracies[row] if row is not None and row < len(accuracies) else None
    return None if accuracy is None or math.isnan(accuracy) else accuracy


def pixel_rows(images: ArrayLike, pixels: int = 784) -> np.ndarray:
    """`images` as uint8 rows of `pixels` values in 0..255, the form models read.

    Accepted: a numpy array or nested lists; one image or many; rows (m, 784) or
    squares (m, 28, 28) (or one (784,) or (28, 28)); integers in 0..255; floats
    in 0..1 when none exceeds 1 (scaled to 0..255: what `images / 255` and most
    image libraries give), or whole-valued floats in 0..255 (an 8-bit image made
    float: `images.astype(float)`); True/False ink masks.

    Values that never exceed 1 are read as 0..1 whatever their type: integers 0
    and 1 are an ink mask (a thresholded image), not 0..255 ink too faint to
    see, and the server reads the same JSON numbers the same way.

    Floats that fit neither convention are refused, not guessed: values up to 2
    (`image * 2`) or 0..255 with fractions (after resizing) could mean either
    scale, and reading 0..2 as 0..255 would predict a blank image with
    confidence.  The error says how to make them one or the other.  Anything else
    (another size, negative values, NaN, text) raises DigitnetError saying what it
    got.  An all-blank image is read (the network answers something for it, as
    for any input); `read_digit_image` and the server refuse blank pictures.
    """
    try:
        array = np.asarray(images)
    except (ValueError, TypeError) as error:  # ragged lists
        raise DigitnetError(f"images: not an array of numbers ({error})") from None
    side = round(pixels**0.5)
    if array.ndim == 0:  # "hello", None, 3: not an image at all, whatever its shape says
        named = isinstance(images, str | os.PathLike)  # a picture's file name, most likely
        hint = "; for a picture file, digitnet.read_digit_image(path) gives one" if named else ""
        raise DigitnetError(
            f"images: got {type(images).__name__} {images!r:.40}; expected rows of {pixels} "
            f"pixels (m, {pixels}) or {side}x{side} images (m, {side}, {side}){hint}"
        )
    if array.ndim in (1, 2) and array.shape[-1] == pixels:
        array = array.reshape(-1, pixels)
    elif array.ndim in (2, 3) and array.shape[-2:] == (side, side):
        array = array.reshape(-1, pixels)
    else:
        raise DigitnetError(
            f"images: shape {array.shape}; expected rows of {pixels} pixels (m, {pixels}) "
            f"or {side}x{side} images (m, {side}, {side})"
        )
    array, low, high = checked_levels(array, "images")
    if high <= 1:
        return np.rint(array * 255.0).astype(np.uint8)  # intensities in 0..1
    if array.dtype == np.uint8:
        return array
    if array.dtype.kind == "f" and not np.array_equal(array, np.rint(array)):
        if high <= 1.05:  # 0..1, overshot a little by resizing or blurring
            fix = "np.clip(images, 0, 1) makes them 0..1"
        elif high < 32:  # another scale: image * 2, or 0..10 from a calculation
            fix = "images / images.max() makes them 0..1 (np.rint(images) if they are 0..255)"
        else:  # 0..255 with fractions: after resizing
            fix = "np.rint(images) makes them whole numbers 0..255 (images / images.max() 0..1)"
        raise DigitnetError(
            f"images: floats from {low!r} to {high!r} with fractions: neither "
            "0..1 (images / 255) nor whole numbers 0..255 (an 8-bit image as floats); "
            f"{fix}"
        )
    return np.rint(array).astype(np.uint8)
