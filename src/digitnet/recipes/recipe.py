"""A recipe is a complete, named training configuration; `run` carries one out.

run(recipe, dataset, seed):
    shuffle the rows with `seed`; the first `dev_size` are the dev set
    pixels / 255
    build the network (its layer spec, init) from the same seed
    train it (training/trainer.py) and wrap it as a Model with its history
"""

from __future__ import annotations

import math
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
from digitnet.network.init import INITIALIZERS
from digitnet.network.spec import as_mlp, format_layers, mlp_layers, parse_layers
from digitnet.training import TrainingConfig, train
from digitnet.training.augment import augmentation_for
from digitnet.training.optimizer import OPTIMIZERS
from digitnet.training.schedule import SCHEDULES, Schedule

MLP_SHORTHAND = ("hidden", "activation", "dropout")  # knobs that rewrite an MLP's layers


@dataclass(frozen=True)
class Recipe:
    name: str
    summary: str
    layers: str  # the network as a layer spec (network/spec.py): "dense256,relu,dense10"
    init: str
    learning_rate: float
    epochs: int  # for full-batch training, an epoch is one iteration
    batch_size: int | None  # None: full-batch gradient descent
    optimizer: str = "sgd"  # gd/sgd (momentum below), nesterov, adam, adamw
    momentum: float = 0.0
    weight_decay: float = 0.0  # L2 (sgd, adam) or decoupled (adamw), weights only
    schedule: str = "constant"  # constant, step, cosine
    warmup: float = 0.0  # epochs of linear learning-rate warm-up
    step_every: float = 10.0  # step schedule: epochs between drops
    step_gamma: float = 0.5  # step schedule: factor at each drop
    augment: bool = False  # distort training images, as fits the data (training/augment.py)
    elastic: float = 0.0  # elastic distortion strength when augmenting (Simard: 34)
    patience: int | None = None  # early stopping: measurements without improvement
    dev_size: float = 1000  # rows held out to measure on: a count, or a fraction (0.1)
    split: str = "stratified"  # how they are chosen: see data/splits.py
    log_every: int = 1
    restore_best: bool = False
    dtype: str = "float32"

    def __post_init__(self) -> None:
        for name in ("name", "summary", "layers", "optimizer", "schedule", "split", "init",
                     "dtype"):  # fmt: skip
            if not isinstance(getattr(self, name), str):
                raise DigitnetError(f"recipe setting '{name}' must be text")
        for name in ("augment", "restore_best"):
            if not isinstance(getattr(self, name), bool):
                raise DigitnetError(f"recipe setting '{name}' must be true or false")
        # One text for one network: the complete form that parse_layers reads back.
        complete = format_layers(parse_layers(self.layers, PIXELS, CLASSES))
        object.__setattr__(self, "layers", complete)
        _check_knobs(self)

    def with_overrides(self, **overrides: Any) -> Recipe:
        """A copy with some knobs changed; None values are ignored.

        Besides the fields, an MLP's layers can be changed by shorthand:
        `hidden` (hidden widths, e.g. (512, 256)), `activation` and `dropout`
        rewrite its layer spec.  A network that is not a plain MLP is changed
        by giving `layers` whole.
        """
        known = {f.name for f in fields(self)} | set(MLP_SHORTHAND)
        unknown = set(overrides) - known
        if unknown:
            raise DigitnetError(
                f"unknown recipe setting(s): {', '.join(sorted(unknown))} "
                f"(known: {', '.join(sorted(known))})"
            )
        changes = {key: value for key, value in overrides.items() if value is not None}
        shorthand = {key: changes.pop(key) for key in MLP_SHORTHAND if key in changes}
        if shorthand:
            if "layers" in changes:
                raise DigitnetError("give the layers whole, or hidden/activation/dropout, not both")
            changes["layers"] = self._mlp_with(**shorthand)
        return replace(self, **changes)

    def _mlp_with(self, hidden: Any = None, activation: Any = None, dropout: Any = None) -> str:
        mlp = as_mlp(self.layers)
        if mlp is None:
            given = (hidden, activation, dropout)
            names = ", ".join(n for n, v in zip(MLP_SHORTHAND, given) if v is not None)
            raise DigitnetError(
                f"{names}: recipe '{self.name}' is not a plain MLP ({self.layers}); "
                "change its layers by giving them whole (--layers)"
            )
        return mlp_layers(
            tuple(int(units) for units in hidden) if hidden is not None else mlp.hidden,
            activation if activation is not None else mlp.activation,
            float(dropout) if dropout is not None else mlp.dropout,
        )

    def settings(self) -> str:
        """The knobs in one line, as they are after any overrides."""
        batching = "full batch" if self.batch_size is None else f"batch {self.batch_size}"
        steps = "iterations" if self.batch_size is None else "epochs"
        extras = [
            f"momentum {self.momentum:g}" if self.momentum else "",
            f"weight decay {self.weight_decay:g}" if self.weight_decay else "",
            f"{self.schedule} schedule" if self.schedule != "constant" else "",
            f"warm-up {self.warmup:g}" if self.warmup else "",
            ("augmented" + (f" (elastic {self.elastic:g})" if self.elastic else ""))
            if self.augment
            else "",
            f"patience {self.patience}" if self.patience else "",
        ]
        return ", ".join(
            [f"layers {self.layers}", f"{self.init} init", batching,
             f"{self.optimizer} learning rate {self.learning_rate:g}",
             *[extra for extra in extras if extra],
             f"{self.epochs} {steps}", f"dev {self.dev_size:g} rows ({self.split})"]
        )  # fmt: skip

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Recipe:
        """The recipe saved in a model file (unknown keys from other versions ignored).

        digitnet 0.1 saved an MLP as hidden_sizes, activation and dropout."""
        known = {f.name for f in fields(cls)}
        kept = {key: value for key, value in values.items() if key in known}
        try:
            if "layers" not in kept and "hidden_sizes" in values:
                kept["layers"] = mlp_layers(tuple(int(n) for n in values["hidden_sizes"]),
                                            str(values.get("activation", "relu")),
                                            float(values.get("dropout", 0.0)))  # fmt: skip
            return cls(**kept)
        except (TypeError, ValueError) as error:  # a missing field, a list for a number...
            raise DigitnetError(f"not a valid recipe ({error})") from None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run(
    recipe: Recipe,
    dataset: Dataset,
    seed: int = 0,
    *,
    log: Callable[[str], None] | None = print,
    progress: bool | None = None,
    start_from: Model | None = None,
) -> Model:
    """Train a fresh network on `dataset` as `recipe` says; returns the Model.

    With `start_from`, training continues from that model's weights instead, and
    its history is extended (the optimizer's state, e.g. momentum, starts afresh).
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

    network = Network.build(recipe.layers, init=recipe.init, seed=rng, dtype=dtype)
    if start_from is not None:
        network = _continue_from(start_from, network)
    augmentation = augmentation_for(dataset.kind, recipe.elastic) if recipe.augment else None
    if augmentation is not None and log is not None:
        log(f"augmentation for {dataset.kind}: {augmentation.describe()}")
    config = TrainingConfig(
        learning_rate=recipe.learning_rate,
        epochs=recipe.epochs,
        batch_size=recipe.batch_size,
        optimizer=recipe.optimizer,
        momentum=recipe.momentum,
        weight_decay=recipe.weight_decay,
        schedule=Schedule(
            recipe.schedule, recipe.epochs, recipe.warmup, recipe.step_every, recipe.step_gamma
        ),  # fmt: skip
        augmentation=augmentation,
        log_every=recipe.log_every,
        restore_best=recipe.restore_best,
        patience=recipe.patience,
        seed=int(rng.integers(2**31)),
    )
    result = train(network, train_x, train_y, dev_x, dev_y, config, log=log, progress=progress)
    history = result.history
    if start_from is not None and start_from.history.get("epoch"):
        done, spent = start_from.history["epoch"][-1], start_from.history["seconds"][-1]
        history["epoch"] = [epoch + done for epoch in history["epoch"]]
        history["seconds"] = [seconds + spent for seconds in history["seconds"]]
        history = {key: start_from.history.get(key, []) + values for key, values in history.items()}
    return Model(
        network=network,
        preprocessing=preprocessing,
        recipe=recipe.to_dict(),
        history=history,
        info={
            "data": dataset.source,
            "data_spec": dataset.spec,  # to find it again: `digitnet evaluate MODEL`
            "data_fingerprint": dataset.fingerprint(),
            "classes": list(dataset.class_names),  # so pictures name what it predicts
            "seed": seed,
            "train_size": len(train_rows),
            "dev_size": len(dev_rows),
            "interrupted": result.interrupted,
            "stop_signal": result.stop_signal,
            "best_epoch": result.best_epoch,
            "training_seconds": round(result.seconds, 3),
            "stopped_early": result.stopped_early,
        },
    )


def held_out_rows(model: Model, dataset: Dataset) -> np.ndarray:
    """The rows of `dataset` that `model` held out as its dev set when it was trained.

    The split is rebuilt as `run` made it, from the recipe's dev size and split
    method and the model's seed; `dataset` must be the data it was trained on.
    """
    info = model.info
    trained_rows = info.get("train_size", 0) + info.get("dev_size", 0)
    same_labels = info.get("data_fingerprint") in (None, dataset.fingerprint())
    if dataset.labels is None or not same_labels or trained_rows != len(dataset):
        raise DigitnetError(
            f"{dataset.source}: is not the data this model was trained on "
            f"({info.get('data', 'unknown')}), so its held-out rows cannot be rebuilt"
        )
    recipe = Recipe.from_dict(model.recipe)
    seed = info.get("seed", 0)
    return splits.split(dataset.labels, recipe.dev_size, recipe.split, np.random.default_rng(seed))[
        1
    ]


def _continue_from(model: Model, fresh: Network) -> Network:
    """`fresh` (built as the recipe says) holding `model`'s weights, after checking shapes."""
    if model.network.layer_spec != fresh.layer_spec:
        raise DigitnetError(
            f"cannot resume: the model's layers {model.network.layer_spec} differ from the "
            f"recipe's {fresh.layer_spec}"
        )
    fresh.set_arrays(model.network.arrays())
    return fresh


def _check(recipe: Recipe, dataset: Dataset) -> None:
    if dataset.labels is None:
        raise DigitnetError(f"{dataset.source}: has no labels; training needs labelled data")
    splits.held_out_count(recipe.dev_size, len(dataset))  # raises if it leaves no training rows


# Each number knob: (lowest, highest, whether the lowest itself is allowed).
_RANGES: dict[str, tuple[float, float, bool]] = {
    "learning_rate": (0.0, math.inf, False),
    "momentum": (0.0, 1.0, True),
    "weight_decay": (0.0, math.inf, True),
    "warmup": (0.0, math.inf, True),
    "step_every": (0.0, math.inf, False),
    "step_gamma": (0.0, math.inf, False),
    "elastic": (0.0, math.inf, True),
    "dev_size": (0.0, math.inf, True),
}
_COUNTS = ("epochs", "log_every", "batch_size", "patience")  # whole numbers >= 1 (or None)


def _check_knobs(recipe: Recipe) -> None:
    """Every knob has a type and range that makes sense: one DigitnetError, naming it."""
    for name, (low, high, low_allowed) in _RANGES.items():
        value = getattr(recipe, name)
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise DigitnetError(f"{flag} {value!r}: must be a number")
        if (
            not math.isfinite(value)
            or value > high
            or value < low
            or (value == low and not low_allowed)
        ):
            bound = f">= {low:g}" if low_allowed else f"> {low:g}"
            upper = f" and < {high:g}" if math.isfinite(high) else ""
            raise DigitnetError(f"{flag} {value}: must be a finite number {bound}{upper}")
    if recipe.momentum >= 1:
        raise DigitnetError(f"--momentum {recipe.momentum}: must be below 1")
    for name in _COUNTS:
        value = getattr(recipe, name)
        if value is None and name in ("batch_size", "patience"):
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise DigitnetError(
                f"--{name.replace('_', '-')} {value!r}: must be a whole number >= 1"
            )
    if recipe.optimizer not in OPTIMIZERS:
        raise DigitnetError(f"unknown optimizer '{recipe.optimizer}' ({', '.join(OPTIMIZERS)})")
    if recipe.schedule not in SCHEDULES:
        raise DigitnetError(f"unknown schedule '{recipe.schedule}' ({', '.join(SCHEDULES)})")
    if recipe.split not in splits.SPLITS:
        raise DigitnetError(f"unknown split '{recipe.split}' ({', '.join(splits.SPLITS)})")
    if recipe.init not in INITIALIZERS:
        raise DigitnetError(f"unknown init '{recipe.init}' ({', '.join(INITIALIZERS)})")
    if recipe.dtype not in ("float32", "float64"):
        raise DigitnetError(f"dtype '{recipe.dtype}': float32 or float64")
