"""A recipe is a complete, named training configuration; `run` carries one out.

run(recipe, dataset, seed):
    shuffle the rows with `seed`; the first `dev_size` are the dev set
    pixels / 255
    build the network (its layer spec, init) from the same seed
    train it (training/trainer.py) and wrap it as a Model with its history
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np

from digitnet.data import splits
from digitnet.data.dataset import CLASSES, PIXELS, Dataset
from digitnet.data.preprocess import Preprocessing
from digitnet.data.recorded import data_checksum, recorded_name, shareable_source
from digitnet.errors import DigitnetError, check_seed
from digitnet.model import Model
from digitnet.network import Network
from digitnet.network.init import INITIALIZERS
from digitnet.network.spec import ACTIVATIONS, as_mlp, format_layers, mlp_layers, parse_layers
from digitnet.recipes.knobs import Knob, knob, speaks_flags
from digitnet.training import TrainingConfig, train
from digitnet.training.augment import augmentation_for
from digitnet.training.optimizer import OPTIMIZERS
from digitnet.training.schedule import SCHEDULES, Schedule
from digitnet.training.trainer import Watch
from digitnet.wording import count

MAX_EPOCHS = 100_000  # a longer history would outgrow the model file (MAX_METADATA_CHARS)


@dataclass(frozen=True)
class Recipe:
    """A named training configuration.  Every field but name, summary, for_clothes and
    given is a knob: declared here once, with its kind, range, default and help
    (recipes/knobs.py), and from that the command line's flags, the API's keywords,
    the checks and the table in docs/training.md.

    `for_clothes`: knobs this recipe sets otherwise when the images are clothes (a
    Dataset's kind), as (name, value) pairs, chosen on Fashion-MNIST's validation
    split.  `run` applies them (`adapted`), except to the knobs in `given`: those
    set by name through `with_overrides` (a flag, a keyword), which keep their value.
    """

    name: str
    summary: str
    layers: str = knob(
        "the network as a layer spec, e.g. 'conv32k5,relu,pool2,dense128,relu,dense10' "
        "(`digitnet recipes --layers` lists the tokens)",
        kind="text",
    )
    init: str = knob("initial weights", kind="choice", choices=tuple(sorted(INITIALIZERS)))
    learning_rate: float = knob("step size", kind="number", minimum=0, open_minimum=True)
    epochs: int = knob("epochs (iterations if full batch)", kind="count", maximum=MAX_EPOCHS)
    batch_size: int | None = knob("images per step", kind="count", none="full batch")
    optimizer: str = knob(
        "how steps are taken", kind="choice", default="sgd", choices=tuple(OPTIMIZERS)
    )
    momentum: float = knob(
        "momentum (sgd, nesterov)", kind="number", default=0.0, minimum=0, maximum=1
    )
    weight_decay: float = knob(
        "L2 (sgd, adam) or decoupled (adamw), weights only", kind="number", default=0.0, minimum=0
    )
    schedule: str = knob(
        "learning-rate schedule", kind="choice", default="constant", choices=tuple(SCHEDULES)
    )
    warmup: float = knob(
        "epochs of linear learning-rate warm-up", kind="number", default=0.0, minimum=0
    )
    step_every: float = knob(
        "step schedule: epochs between drops",
        kind="number",
        default=10.0,
        minimum=0,
        open_minimum=True,
    )
    step_gamma: float = knob(
        "step schedule: factor at each drop",
        kind="number",
        default=0.5,
        minimum=0,
        open_minimum=True,
    )
    augment: bool = knob(
        "distort training images, as fits the data (docs/training.md)", kind="switch", default=False
    )
    elastic: float = knob(
        "elastic distortion strength when augmenting (34: Simard's)",
        kind="number",
        default=0.0,
        minimum=0,
    )
    erase: float = knob(
        "when augmenting: the share of images given a random blank rectangle (random erasing)",
        kind="number",
        default=0.0,
        minimum=0,
        maximum=1,
    )
    crop: int = knob(
        "when augmenting: random crops moving each image by up to this many whole pixels",
        kind="whole",
        default=0,
        minimum=0,
        maximum=8,
    )
    label_smoothing: float = knob(
        "the share of each target spread evenly over all classes (docs/training.md)",
        kind="number",
        default=0.0,
        minimum=0,
        maximum=1,
    )
    ema: float = knob(
        "measure and keep a moving average of the weights, with this decay per step "
        "(0: off; 0.999 averages about the last 1,000 steps)",
        kind="number",
        default=0.0,
        minimum=0,
        maximum=1,
    )
    patience: int | None = knob(
        "early stopping: measurements without improvement", kind="count", default=None, none="off"
    )
    dev_size: float = knob(
        "rows held out to measure on: a count, or a fraction (0.1)",
        kind="number",
        default=1000,
        minimum=0,
    )
    split: str = knob(
        "how dev rows are chosen ('last' 10000: MNIST's standard)",
        kind="choice",
        default="stratified",
        choices=tuple(splits.SPLITS),
    )
    log_every: int = knob("epochs between measurements", kind="count", default=1)
    restore_best: bool = knob("end with the best dev epoch's weights", kind="switch", default=False)
    dtype: str = knob(
        "number type of the network",
        kind="choice",
        default="float32",
        choices=("float32", "float64"),
    )
    textbook: bool = knob(
        "train the textbook layers as written, without the speed step (digitnet.speed)",
        kind="switch",
        default=False,
    )
    for_clothes: tuple[tuple[str, Any], ...] = field(default=(), repr=False)
    given: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("name", "summary"):
            if not isinstance(getattr(self, name), str):
                raise DigitnetError(f"recipe setting '{name}' must be text")
        for each in RECIPE_KNOBS:  # widened or refused, one DigitnetError naming the flag
            object.__setattr__(self, each.name, each.check(getattr(self, each.name)))
        by_name = {each.name: each for each in RECIPE_KNOBS}
        clothes = []
        for name, value in self.for_clothes:  # knobs, each value in its knob's range
            if name not in by_name:
                raise DigitnetError(f"recipe '{self.name}': for_clothes sets '{name}', not a knob")
            checked = by_name[name].check(value)
            if name == "layers":  # in the complete form too, as `digitnet recipes` shows it
                checked = format_layers(parse_layers(checked, PIXELS, CLASSES))
            clothes.append((name, checked))
        object.__setattr__(self, "for_clothes", tuple(clothes))
        # One text for one network: the complete form that parse_layers reads back.
        complete = format_layers(parse_layers(self.layers, PIXELS, CLASSES))
        object.__setattr__(self, "layers", complete)

    def with_overrides(self, **overrides: Any) -> Recipe:
        """A copy with some knobs changed (checked); None values are ignored.

        Besides the fields, `full_batch=True` sets batch_size to None, and an
        MLP's layers can be changed by shorthand: `hidden` (hidden widths, e.g.
        (512, 256)), `activation` and `dropout` rewrite its layer spec.  A network
        that is not a plain MLP is changed by giving `layers` whole.
        """
        by_name = {each.name: each for each in KNOBS}
        unknown = set(overrides) - set(by_name)
        if unknown:
            near = {name: difflib.get_close_matches(name, by_name, n=1) for name in unknown}
            guesses = [f"{match[0]} (for {name})" for name, match in sorted(near.items()) if match]
            meant = f"; did you mean {', '.join(guesses)}?" if guesses else ""
            raise DigitnetError(
                f"unknown recipe setting(s): {', '.join(sorted(unknown))}{meant} "
                f"(known: {', '.join(sorted(by_name))})"
            )
        changes = {
            key: by_name[key].check(value) for key, value in overrides.items() if value is not None
        }
        size = changes.get("dev_size")
        if size is not None and (size == 1 or (size > 1 and size != int(size))):
            named = f"--dev-size {size:g}" if speaks_flags() else f"dev_size={size:g}"
            why = (  # 1.0 reads as "all of it", 1 as one row; 2.5 rows is no count
                "a count of rows is 2 or more"
                if size == 1
                else f"a count of rows is whole ({int(size)} or {int(size) + 1})"
            )
            raise DigitnetError(f"{named}: {why}, a fraction below 1 (0.1: a tenth)")
        if changes.pop("full_batch", False):
            if "batch_size" in changes:
                both = "--batch-size or --full-batch" if speaks_flags() else (
                    "batch_size or full_batch=True")  # fmt: skip
                raise DigitnetError(f"give {both}, not both")
            changes["batch_size"] = None
        shorthand = {each.name: changes.pop(each.name) for each in MLP_SHORTHAND
                     if each.name in changes}  # fmt: skip
        if shorthand:
            if "layers" in changes:
                both = ("--layers, or --hidden/--activation/--dropout" if speaks_flags()
                        else "layers, or hidden/activation/dropout")  # fmt: skip
                raise DigitnetError(f"give {both}, not both (they say the network twice)")
            changes["layers"] = self._mlp_with(**shorthand)
        given = self.given | {key for key in overrides if overrides[key] is not None}
        changed = replace(self, **changes, given=frozenset(given))
        unmeasured = [name for name in ("patience", "restore_best")
                      if name in given and getattr(changed, name)]  # fmt: skip
        if changed.dev_size == 0 and unmeasured:  # they act on dev measurements: none
            named = [f"--{n.replace('_', '-')}" if speaks_flags() else n for n in unmeasured]
            size = "--dev-size 0" if speaks_flags() else "dev_size=0"
            raise DigitnetError(
                f"{' and '.join(named)} {'act' if len(named) > 1 else 'acts'} on the dev "
                f"measurements, and {size} holds "
                "no rows out to measure on: give a dev size (1000, or 0.1) or leave them out"
            )
        return changed

    def kind_settings(self, kind: str) -> dict[str, Any]:
        """The knobs this recipe changes for images of `kind`, with their new values:
        for clothes, its `for_clothes` settings but the knobs given by name (see the
        class).  `adapted` applies them."""
        if kind != "clothes":
            return {}
        # batch_size given as `full_batch`, or layers as `hidden` (MLP shorthand), is given
        given = set(self.given)
        given |= {"batch_size"} if "full_batch" in given else set()
        given |= {"layers"} if given & {each.name for each in MLP_SHORTHAND} else set()
        return {name: value for name, value in self.for_clothes
                if name not in given and getattr(self, name) != value}  # fmt: skip

    def _mlp_with(self, hidden: Any = None, activation: Any = None, dropout: Any = None) -> str:
        mlp = as_mlp(self.layers)
        if mlp is None:
            given = (hidden, activation, dropout)
            names = ", ".join(k.flag if speaks_flags() else k.name
                              for k, v in zip(MLP_SHORTHAND, given) if v is not None)  # fmt: skip
            raise DigitnetError(
                f"{names}: recipe '{self.name}' is not a plain MLP ({self.layers}); "
                "change its layers by giving them whole "
                + ("(--layers)" if speaks_flags() else "(layers='dense128,relu,dense10')")
            )
        return mlp_layers(
            tuple(int(units) for units in hidden) if hidden is not None else mlp.hidden,
            activation if activation is not None else mlp.activation,
            float(dropout) if dropout is not None else mlp.dropout,
        )

    def settings(self) -> str:
        """The knobs in one line, as they are after any overrides."""
        batching = "full batch" if self.batch_size is None else f"batch {self.batch_size}"
        steps = "iteration" if self.batch_size is None else "epoch"
        steps += "" if self.epochs == 1 else "s"
        extras = [
            f"momentum {self.momentum:g}" if self.momentum else "",
            f"weight decay {self.weight_decay:g}" if self.weight_decay else "",
            f"{self.schedule} schedule" if self.schedule != "constant" else "",
            f"warm-up {self.warmup:g}" if self.warmup else "",
            ("augmented" + (f" (elastic {self.elastic:g})" if self.elastic else ""))
            if self.augment
            else "",
            f"random erasing {self.erase:g}" if self.augment and self.erase else "",
            f"random crops {self.crop}" if self.augment and self.crop else "",
            f"label smoothing {self.label_smoothing:g}" if self.label_smoothing else "",
            f"weights averaged (decay {self.ema:g})" if self.ema else "",
            f"patience {self.patience}" if self.patience else "",
        ]
        return ", ".join(
            [f"layers {self.layers}", f"{self.init} init", batching,
             f"{self.optimizer} learning rate {self.learning_rate:g}",
             *[extra for extra in extras if extra],
             f"{self.epochs} {steps}",
             f"dev {_dev_share(self.dev_size)} ({self.split})"]
        )  # fmt: skip

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Recipe:
        """The recipe saved in a model file (unknown keys from other versions ignored).

        The first model files (format 1) saved an MLP as hidden_sizes, activation and dropout."""
        known = {"name", "summary"} | {each.name for each in RECIPE_KNOBS}
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
        """Name, summary and knobs: what a model file saves (run saves the recipe as
        it trained, its settings for the data's kind applied)."""
        values = asdict(self)
        del values["for_clothes"], values["given"]
        return values


def _declared_knobs() -> tuple[Knob, ...]:
    """Recipe's knobs, in field order, each named after its field."""
    return tuple(replace(f.metadata["knob"], name=f.name) for f in fields(Recipe) if f.metadata)


RECIPE_KNOBS = _declared_knobs()
# Shorthand that rewrites a plain MLP's layers (not fields: the layers hold them).
MLP_SHORTHAND = (
    Knob("hidden", "sizes", "MLP shorthand: hidden layer sizes, e.g. 256 or 512,256"),
    Knob("activation", "choice", "MLP shorthand: activation", choices=ACTIVATIONS),
    Knob(
        "dropout",
        "number",
        "MLP shorthand: dropout rate after each hidden layer",
        minimum=0,
        maximum=1,
    ),  # fmt: skip
)
FULL_BATCH = Knob(
    "full_batch", "switch", "full-batch gradient descent (sets batch_size to none)",
    default=False, negatable=False,
)  # fmt: skip
KNOBS = RECIPE_KNOBS + MLP_SHORTHAND + (FULL_BATCH,)  # every name --flags and keywords accept


def run(
    recipe: Recipe,
    dataset: Dataset,
    seed: int = 0,
    *,
    log: Callable[[str], None] | None = print,
    progress: bool | None = None,
    start_from: Model | None = None,
    watch: Watch | None = None,
) -> Model:
    """Train a fresh network on `dataset` as `recipe` says; returns the Model.

    With `start_from`, training continues from that model's weights instead, for
    `recipe.epochs` more epochs, numbered on from the model's; the learning-rate
    schedule spans the whole run (the epochs done and these) and goes on from where
    they left it, as if the run had been that long from the start.  The model
    records the whole run's length as its recipe's epochs.  The optimizer's state
    (momentum) starts afresh.
    If training is interrupted (Ctrl-C), the model holds the best weights so far
    and `model.info["interrupted"]` is True.  `watch` is told where training is
    after every step (training/trainer.py: Progress).
    """
    seed = check_seed(seed)
    if len(dataset) == 0:
        raise DigitnetError(f"{dataset.source}: no images to train on")
    if start_from is None:  # a resumed run holds out the rows it held out before
        recipe = dev_size_fitted(recipe, len(dataset), log)
    _check(recipe, dataset)
    recipe = adapted(recipe, dataset.kind, log)
    rng = np.random.default_rng(seed)
    assert dataset.labels is not None
    train_rows, dev_rows = splits.split(dataset.labels, recipe.dev_size, recipe.split, rng)
    _note_batch_size(recipe, len(train_rows), log)
    dtype = np.dtype(recipe.dtype)
    preprocessing = Preprocessing()
    train_x = preprocessing.apply(dataset.images[train_rows], dtype)
    dev_x = preprocessing.apply(dataset.images[dev_rows], dtype)
    train_y, dev_y = dataset.labels[train_rows], dataset.labels[dev_rows]

    network = Network.build(recipe.layers, init=recipe.init, seed=rng, dtype=dtype)
    done = 0
    if start_from is not None:
        network = _continue_from(start_from, network)
        done = (start_from.history.get("epoch") or [0])[-1]
        if done + recipe.epochs > MAX_EPOCHS:  # the whole run is recorded
            raise DigitnetError(f"cannot resume for {recipe.epochs} more epochs: the model "
                                f"has {done}, and a run holds at most {MAX_EPOCHS}")  # fmt: skip
        log = _numbered_on(log, done, done + recipe.epochs)
    _note_warmup(recipe, done + recipe.epochs, log)
    augmentation = (
        augmentation_for(dataset.kind, recipe.elastic, recipe.erase, recipe.crop)
        if recipe.augment
        else None
    )
    if augmentation is not None and log is not None:
        log(f"augmentation for {dataset.kind}: {augmentation.describe()}")
    config = TrainingConfig(
        learning_rate=recipe.learning_rate,
        epochs=recipe.epochs,
        batch_size=recipe.batch_size,
        optimizer=recipe.optimizer,
        momentum=recipe.momentum,
        weight_decay=recipe.weight_decay,
        schedule=_ResumedSchedule(
            recipe.schedule,
            done + recipe.epochs,  # laid over the whole run, the epochs done included
            recipe.warmup,
            recipe.step_every,
            recipe.step_gamma,
            done,
        ),  # fmt: skip
        augmentation=augmentation,
        log_every=recipe.log_every,
        restore_best=recipe.restore_best,
        patience=recipe.patience,
        seed=int(rng.integers(2**31)),
        textbook=recipe.textbook,
        label_smoothing=recipe.label_smoothing,
        ema=recipe.ema,
    )
    result = train(network, train_x, train_y, dev_x, dev_y, config, log=log, progress=progress,
                   watch=watch)  # fmt: skip
    history, best_epoch = result.history, result.best_epoch
    if start_from is not None and start_from.history.get("epoch"):
        done, spent = start_from.history["epoch"][-1], start_from.history["seconds"][-1]
        best_epoch = None if best_epoch is None else best_epoch + done  # numbered on
        history["epoch"] = [epoch + done for epoch in history["epoch"]]
        history["seconds"] = [seconds + spent for seconds in history["seconds"]]
        history = {key: start_from.history.get(key, []) + values for key, values in history.items()}
    return Model(
        network=network,
        preprocessing=preprocessing,
        recipe=replace(recipe, epochs=done + recipe.epochs).to_dict(),  # the whole run
        history=history,
        info={
            # By name and checksum, never by where it lies (the file may be shared):
            # enough for `evaluate`, `report` and `--resume` to find it again.
            "data": shareable_source(dataset.source),
            "data_spec": recorded_name(dataset),
            "data_checksum": data_checksum(dataset),
            "data_fingerprint": dataset.fingerprint(),
            "classes": list(dataset.class_names),  # so pictures name what it predicts
            "seed": seed,
            "train_size": len(train_rows),
            "dev_size": len(dev_rows),
            "interrupted": result.interrupted,
            "stop_signal": result.stop_signal,
            "best_epoch": best_epoch,
            "training_seconds": round(result.seconds, 3),
            "stopped_early": result.stopped_early,
        },
    )


@dataclass(frozen=True)
class _ResumedSchedule(Schedule):
    """The run's schedule, picked up `done` epochs in: a resumed run goes on at the
    learning rate where it stopped (no second warm-up, no cosine from the top)."""

    done: float = 0.0

    def factor(self, epoch: float) -> float:
        return super().factor(epoch + self.done)


def _numbered_on(
    log: Callable[[str], None] | None, done: int, total: int
) -> Callable[[str], None] | None:
    """`log`, with the trainer's 'epoch 3/10' lines numbered as the whole run's
    ('epoch 23/30' for a model resumed after 20)."""
    if log is None:
        return None
    pattern = re.compile(r"^(epoch|iteration) +(\d+)/\d+")  # as training/trainer.py writes

    def numbered(line: str) -> None:
        found = pattern.match(line)
        if found:
            unit, epoch = found.group(1), int(found.group(2)) + done
            line = f"{unit} {epoch:>4}/{total}" + line[found.end() :]
        log(line)

    return numbered


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


def adapted(recipe: Recipe, kind: str, log: Callable[[str], None] | None = None) -> Recipe:
    """`recipe` as it trains on images of `kind` (its `kind_settings` applied), and a
    line to `log` saying what that changed."""
    changed = recipe.kind_settings(kind)
    if not changed:
        return recipe
    if log is not None:
        log(f"for {kind}, recipe {recipe.name} sets {as_settings(changed)} "
            "(a flag or keyword that sets one wins)")  # fmt: skip
    return replace(recipe, **changed, for_clothes=())


def as_settings(changed: dict[str, Any]) -> str:
    """{'epochs': 20, 'weight_decay': 0.002} as 'epochs 20, weight decay 0.002'."""
    return ", ".join(
        f"{name.replace('_', ' ')} {value:g}" if isinstance(value, float) else
        f"{name.replace('_', ' ')} {value}" for name, value in changed.items()
    )  # fmt: skip


def _dev_share(size: float) -> str:
    """A dev size in the recipe line: '1000 rows', or a fraction as '10% of the rows'."""
    if 0 < size < 1:
        return f"{size * 100:.4g}% of the rows"
    return count(int(size), "row")


SMALL_DATA_DEV_SHARE = 0.1  # of a file too small for the recipe's dev count


def dev_size_fitted(recipe: Recipe, rows: int, log: Callable[[str], None] | None) -> Recipe:
    """`recipe`, its dev set a tenth of the rows where its own count (1,000) would be
    half of them or more (a Kaggle CSV cut down to try things) and no dev size was
    given by name; a line to `log` says so.  (Not for a resumed run: it holds out
    the rows it held out before.)"""
    if "dev_size" in recipe.given or recipe.dev_size < 1 or 2 * recipe.dev_size < rows:
        return recipe
    if log is not None:
        held = splits.held_out_count(SMALL_DATA_DEV_SHARE, rows)
        flag = "--dev-size" if speaks_flags() else "dev_size"
        log(f"the data has {count(rows, 'row')}: {held or 'none'} held out for the dev set "
            f"(a tenth), not recipe {recipe.name}'s {splits.shown_size(recipe.dev_size)} "
            f"({flag} sets it)")  # fmt: skip
    return replace(recipe, dev_size=SMALL_DATA_DEV_SHARE)


def _check(recipe: Recipe, dataset: Dataset) -> None:
    if dataset.labels is None:
        raise DigitnetError(f"{dataset.source}: has no labels; training needs labelled data")
    try:  # raises if it leaves no training rows
        splits.held_out_count(recipe.dev_size, len(dataset))
    except DigitnetError as error:
        size = splits.shown_size(recipe.dev_size)
        named = f"--dev-size {size}" if speaks_flags() else f"dev_size={size}"
        problem = str(error).split(": ", 1)[-1]  # without its own "dev size N: "
        raise DigitnetError(f"{dataset.source}: {named}: {problem}") from None


def _note_warmup(recipe: Recipe, epochs: int, log: Callable[[str], None] | None) -> None:
    """A line to `log` when the warm-up lasts the whole run: the learning rate then never
    reaches the value asked for (a slip, such as --warmup 50 --epochs 1)."""
    if log is not None and recipe.warmup >= epochs:
        flag = "--warmup " if speaks_flags() else "warmup="
        log(f"{flag}{recipe.warmup:g} is the whole run of {count(epochs, 'epoch')} or more: the "
            f"learning rate never reaches {recipe.learning_rate:g}")  # fmt: skip


def _note_batch_size(recipe: Recipe, rows: int, log: Callable[[str], None] | None) -> None:
    """A line to `log` when a mini-batch would be larger than the training rows."""
    if log is not None and recipe.batch_size is not None and recipe.batch_size > rows:
        flag = "--batch-size " if speaks_flags() else "batch_size="
        log(f"{flag}{recipe.batch_size} is more than the {count(rows, 'training row')}: each epoch "
            "is one step on all of them")  # fmt: skip
