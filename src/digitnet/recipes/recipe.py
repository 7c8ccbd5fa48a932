"""A recipe is a complete, named training configuration; `run` carries one out.

run(recipe, dataset, seed):
    shuffle the rows with `seed`; the first `dev_size` are the dev set
    pixels / 255
    build the network (layer sizes, init) from the same seed
    train it (training/trainer.py) and wrap it as a Model with its history
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np

from digitnet.data import splits
from digitnet.data.dataset import CLASSES, PIXELS, Dataset
from digitnet.data.preprocess import Preprocessing
from digitnet.errors import DigitnetError
from digitnet.model import Model
from digitnet.network import Network
from digitnet.training import TrainingConfig, train


@dataclass(frozen=True)
class Recipe:
    name: str
    summary: str
    hidden_sizes: tuple[int, ...]
    init: str
    learning_rate: float
    epochs: int  # for full-batch training, an epoch is one iteration
    batch_size: int | None  # None: full-batch gradient descent
    momentum: float = 0.0
    activation: str = "relu"
    dev_size: float = 1000  # rows held out to measure on: a count, or a fraction (0.1)
    split: str = "stratified"  # how they are chosen: see data/splits.py
    log_every: int = 1
    restore_best: bool = False
    dtype: str = "float32"

    def with_overrides(self, **overrides: Any) -> Recipe:
        """A copy with some knobs changed; None values are ignored."""
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise DigitnetError(f"unknown recipe setting(s): {', '.join(sorted(unknown))}")
        changes = {key: value for key, value in overrides.items() if value is not None}
        if "hidden_sizes" in changes:
            changes["hidden_sizes"] = tuple(changes["hidden_sizes"])
        return replace(self, **changes)

    def settings(self) -> str:
        """The knobs in one line, as they are after any overrides."""
        sizes = "-".join(str(size) for size in (PIXELS, *self.hidden_sizes, CLASSES))
        batching = "full batch" if self.batch_size is None else f"batch {self.batch_size}"
        steps = "iterations" if self.batch_size is None else "epochs"
        momentum = f", momentum {self.momentum:g}" if self.momentum else ""
        return (
            f"{sizes} {self.activation}, {self.init} init, {batching}, "
            f"learning rate {self.learning_rate:g}{momentum}, {self.epochs} {steps}, "
            f"dev {self.dev_size:g} rows ({self.split})"
        )

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["hidden_sizes"] = list(self.hidden_sizes)
        return values


def run(
    recipe: Recipe,
    dataset: Dataset,
    seed: int = 0,
    *,
    log: Callable[[str], None] | None = print,
    progress: bool | None = None,
) -> Model:
    """Train a fresh network on `dataset` as `recipe` says; returns the Model.

    If training is interrupted (Ctrl-C), the model holds the best weights so far
    and `model.info["interrupted"]` is True.
    """
    _check(recipe, dataset)
    rng = np.random.default_rng(seed)
    assert dataset.labels is not None
    train_rows, dev_rows = splits.split(dataset.labels, recipe.dev_size, recipe.split, rng)
    dtype = np.dtype(recipe.dtype)
    preprocessing = Preprocessing()
    train_x = preprocessing.apply(dataset.images[train_rows], dtype)
    dev_x = preprocessing.apply(dataset.images[dev_rows], dtype)
    train_y, dev_y = dataset.labels[train_rows], dataset.labels[dev_rows]

    network = Network.build(
        [PIXELS, *recipe.hidden_sizes, CLASSES],
        activation=recipe.activation,
        init=recipe.init,
        seed=rng,
        dtype=dtype,
    )
    config = TrainingConfig(
        learning_rate=recipe.learning_rate,
        epochs=recipe.epochs,
        batch_size=recipe.batch_size,
        momentum=recipe.momentum,
        log_every=recipe.log_every,
        restore_best=recipe.restore_best,
        seed=int(rng.integers(2**31)),
    )
    result = train(network, train_x, train_y, dev_x, dev_y, config, log=log, progress=progress)
    return Model(
        network=network,
        preprocessing=preprocessing,
        recipe=recipe.to_dict(),
        history=result.history,
        info={
            "data": dataset.source,
            "seed": seed,
            "train_size": len(train_rows),
            "dev_size": len(dev_rows),
            "interrupted": result.interrupted,
            "best_epoch": result.best_epoch,
            "training_seconds": round(result.seconds, 3),
        },
    )


def _check(recipe: Recipe, dataset: Dataset) -> None:
    if dataset.labels is None:
        raise DigitnetError(f"{dataset.source}: has no labels; training needs labelled data")
    if recipe.epochs < 1 or recipe.learning_rate <= 0 or recipe.log_every < 1:
        raise DigitnetError("epochs, learning rate and log interval must be positive")
    if recipe.batch_size is not None and recipe.batch_size < 1:
        raise DigitnetError("batch size must be at least 1")
    if any(size < 1 for size in recipe.hidden_sizes):
        raise DigitnetError(f"hidden layer sizes must be at least 1, got {recipe.hidden_sizes}")
    splits.held_out_count(recipe.dev_size, len(dataset))  # raises if it leaves no training rows
