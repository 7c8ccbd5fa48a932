"""The Python API behind `import digitnet` (digitnet/__init__.py re-exports it)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from digitnet.data import Dataset, load_data
from digitnet.errors import DigitnetError, check_seed, check_type
from digitnet.interfaces.classifier import _labels
from digitnet.model import Model, pixel_rows
from digitnet.recipes import DEFAULT_RECIPE, RECIPES, Recipe, get_recipe, run
from digitnet.speed import using_threads
from digitnet.wording import count


def train(
    recipe: str | Recipe = DEFAULT_RECIPE,
    data: str | os.PathLike[str] | Dataset | tuple[Any, Any] = "sample",
    seed: int = 0,
    *,
    verbose: bool = True,
    threads: int | None = None,
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
    `threads`: how many cores training uses (None: every core this process may
    use; see digitnet.speed.workers); a count above that is lowered, with a warning.
    """
    names = ", ".join(RECIPES)
    check_type(recipe, (str, Recipe), "recipe", f"a recipe's name ({names}) or a Recipe")
    check_seed(seed)
    check_type(verbose, bool, "verbose", "True or False")
    if isinstance(data, np.ndarray | list):  # images without their labels
        raise DigitnetError("data: give images and labels together, as data=(images, labels), "
                            "or a Dataset, or a --data name or path")  # fmt: skip
    if log is not None and not callable(log):
        raise DigitnetError(f"log={log!r:.60}: must be a function taking each line, or None")
    if not verbose:
        log, progress = None, False
    chosen = get_recipe(recipe) if isinstance(recipe, str) else recipe
    if isinstance(data, tuple):  # (X, y) arrays, as DigitClassifier.fit takes them
        images = pixel_rows(data[0])
        labels = _labels(data[1], len(images))
        dataset = Dataset(images, labels, f"arrays ({count(len(images), 'image')})")
    else:
        dataset = data if isinstance(data, Dataset) else load_data(data)
    with using_threads(threads, say=_warn, named="threads="):
        return run(chosen.with_overrides(**overrides), dataset, seed, log=log, progress=progress)


def _warn(note: str) -> None:
    # the caller of train(), past _warn, using_threads and contextlib
    warnings.warn(note, stacklevel=5)
