"""digitnet: a handwritten-digit neural network in plain numpy.

From a notebook:

    import digitnet
    model = digitnet.train("fast", data="sample")      # or a Kaggle train.csv
    model = digitnet.train("fast", epochs=5, verbose=False)  # quietly
    digitnet.save_model(model, "model.npz")
    test = digitnet.load_data("test.csv", need_labels=False)
    digitnet.write_submission("submission.csv", model.predict(test.images))
    model.predict(digitnet.read_digit_image("photo.jpg"))  # a photo or a drawing
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from digitnet.data import Dataset, load_data, read_kaggle_csv, write_submission
from digitnet.data.image_file import read_digit_image
from digitnet.errors import DigitnetError
from digitnet.interfaces.classifier import DigitClassifier, _labels
from digitnet.model import Model, pixel_rows
from digitnet.model_file import load_model, save_model
from digitnet.network import Network
from digitnet.recipes import DEFAULT_RECIPE, RECIPES, Recipe, get_recipe, run
from digitnet.threads import DEFAULT_THREADS, blas_threads

__version__ = "0.1.0"


def train(
    recipe: str | Recipe = DEFAULT_RECIPE,
    data: str | os.PathLike[str] | Dataset | tuple[Any, Any] = "sample",
    seed: int = 0,
    *,
    verbose: bool = True,
    threads: int | None = DEFAULT_THREADS,
    log: Callable[[str], None] | None = print,
    progress: bool | None = None,
    **overrides: Any,
) -> Model:
    """Train a model with a named recipe (or a Recipe) on `data`: a `--data` name
    or path, a Dataset, or an (X, y) pair of arrays (images and labels).

    `overrides` change any recipe knob, e.g. `epochs=5, hidden=(128,)` or
    `layers="conv32k5,relu,pool2,dense10"`.
    `verbose=False` trains quietly: no line per epoch, no progress bar (as
    scikit-learn's `verbose`; the curve is in `model.history` either way).
    `log` receives each line instead of `print` (a logger's `info`, say);
    `progress` True or False forces the progress bar on or off (None: on a terminal).
    `threads` caps the BLAS threads (see digitnet.threads).
    """
    if not verbose:
        log, progress = None, False
    chosen = get_recipe(recipe) if isinstance(recipe, str) else recipe
    if isinstance(data, tuple):  # (X, y) arrays, as DigitClassifier.fit takes them
        images = pixel_rows(data[0])
        labels = _labels(data[1], len(images))
        dataset = Dataset(images, labels, f"arrays ({len(images)} images)")
    else:
        dataset = data if isinstance(data, Dataset) else load_data(data)
    with blas_threads(threads):
        return run(chosen.with_overrides(**overrides), dataset, seed, log=log, progress=progress)


__all__ = [
    "DEFAULT_RECIPE",
    "Dataset",
    "DigitClassifier",
    "DigitnetError",
    "Model",
    "Network",
    "RECIPES",
    "Recipe",
    "load_data",
    "load_model",
    "read_digit_image",
    "read_kaggle_csv",
    "save_model",
    "train",
    "write_submission",
]
