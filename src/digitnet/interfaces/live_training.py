"""One training run inside `digitnet serve`, watched as it happens.

The run is `recipes.run` on a thread of its own, so the server's event loop never
waits for numpy.  The trainer calls `watch` between steps (training/trainer.py:
Progress); there, on the training thread, the one moment the weights are not
being written, this module

- copies the weights into a snapshot model every SNAPSHOT_SECONDS and after every
  epoch: the drawing pad reads with it, a save writes it, and the page's pictures
  (the first layer's weights, the confusion matrix on the dev rows) come from it;
- pauses, by not returning until it is resumed or stopped;
- stops, by returning True: the trainer stops as Ctrl-C makes it (the best weights kept).

Everything the page shows is one JSON-ready dict, `state()`, with a `version`
that grows at every change: the event stream sends it whenever that grows, so a
page that (re)connects gets the whole picture at once.

The thread is named "digitnet-training" so that the speed step runs its pieces on
this thread alone (speed/workers.py): training keeps to one core and the pieces of
the drawing pad's requests never queue behind a training step.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from digitnet.data import splits
from digitnet.data.dataset import CLASSES, PIXELS, Dataset
from digitnet.data.preprocess import Preprocessing
from digitnet.data.recorded import recorded_name, shareable_source
from digitnet.errors import DigitnetError
from digitnet.model import Model
from digitnet.network import Network
from digitnet.network.conv import Conv2D
from digitnet.network.layers import Dense
from digitnet.network.spec import count_parameters, output_shape, parse_layers
from digitnet.recipes.catalog import RECIPES, get_recipe
from digitnet.recipes.recipe import Recipe, dev_size_fitted, run
from digitnet.training.bookkeeping import HISTORY_KEYS
from digitnet.training.trainer import Progress
from digitnet.wording import count

# The caps: a request over one is refused (docs/serve.md lists them).
MAX_EPOCHS = 50
MAX_PARAMETERS = 5_000_000
MAX_MEMORY_BYTES = 1 << 30  # the estimate of `memory_estimate`, 1 GiB
MAX_ROWS = 60_000  # rows of training data (MNIST's training set)

EDITABLE = ("layers", "epochs", "learning_rate", "optimizer", "batch_size")  # the page's knobs
SNAPSHOT_SECONDS = 2.0  # a fresh snapshot (weights, confusion, model) at least this often
PUBLISH_SECONDS = 0.5  # progress (batch, time left) at most this often
UNITS_SHOWN = 32  # first-layer units or filters drawn
ACTIVE = ("running", "pausing", "paused", "stopping")


class TrainingRefused(DigitnetError):
    """A request the training view says no to: an HTTP status, and the field at fault."""

    def __init__(self, message: str, status: int = 422, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.field = status, field


@dataclass(frozen=True)
class Plan:
    """What to train, checked: the recipe with the page's overrides, and the data."""

    recipe: Recipe
    dataset: Dataset
    data_name: str
    seed: int
    parameters: int
    memory_bytes: int

    def describe(self) -> dict[str, Any]:
        recipe = self.recipe
        return {
            "recipe": recipe.name,
            "layers": recipe.layers,
            "epochs": recipe.epochs,
            "learning_rate": recipe.learning_rate,
            "optimizer": recipe.optimizer,
            "batch_size": recipe.batch_size,
            "data": self.data_name,
            "data_source": self.dataset.source,
            "rows": len(self.dataset),
            "seed": self.seed,
            "parameters": self.parameters,
            "memory_estimate": self.memory_bytes,
        }


def plan_training(request: dict[str, Any], datasets: dict[str, Dataset]) -> Plan:
    """The run a start request asks for, checked as the command line checks its flags
    (Recipe.with_overrides), then against the caps; TrainingRefused names the field."""
    allowed = {"recipe", "data", "seed", *EDITABLE}
    unknown = sorted(set(request) - allowed)
    if unknown:
        raise TrainingRefused(
            f"unknown field(s): {', '.join(unknown)} (known: {', '.join(sorted(allowed))})", 400
        )
    name = request.get("recipe", "fast")
    if not isinstance(name, str) or name not in RECIPES:
        raise TrainingRefused(
            f"unknown recipe {name!r} (choose from {', '.join(RECIPES)})", field="recipe"
        )
    recipe = get_recipe(name)
    overrides = {key: request[key] for key in EDITABLE if key in request}
    if "batch_size" in overrides and overrides["batch_size"] is None:
        del overrides["batch_size"]
        overrides["full_batch"] = True  # with_overrides reads None as "not given"
    for key, value in overrides.items():  # one at a time first: the error names its field
        try:
            recipe.with_overrides(**{key: value})
        except DigitnetError as error:
            at_fault = "batch_size" if key == "full_batch" else key
            raise TrainingRefused(str(error), field=at_fault) from None
    try:
        recipe = recipe.with_overrides(**overrides)
    except DigitnetError as error:  # knobs that are fine alone but not together
        raise TrainingRefused(str(error), field="layers") from None
    data_name = request.get("data", "sample")
    if not isinstance(data_name, str) or data_name not in datasets:
        raise TrainingRefused(
            f"unknown data {data_name!r} (this server has: {', '.join(datasets)})", field="data"
        )
    dataset = datasets[data_name]
    seed = request.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31:
        raise TrainingRefused("seed: must be a whole number 0..2**31-1", field="seed")
    parameters, memory = memory_estimate(recipe, len(dataset))
    if recipe.epochs > MAX_EPOCHS:
        raise TrainingRefused(
            f"epochs {recipe.epochs}: over this server's cap of {MAX_EPOCHS}", field="epochs"
        )
    if parameters > MAX_PARAMETERS:
        raise TrainingRefused(
            f"{parameters:,} parameters: over this server's cap of {MAX_PARAMETERS:,}",
            field="layers",
        )
    if memory > MAX_MEMORY_BYTES:
        raise TrainingRefused(
            f"about {memory / 2**20:,.0f} MiB to train: over this server's cap "
            f"of {MAX_MEMORY_BYTES / 2**20:,.0f} MiB (a smaller batch or "
            "network needs less)",
            field="batch_size",
        )
    check_rows(dataset)
    if dataset.labels is None:
        raise TrainingRefused(f"{dataset.source}: has no labels to train on", field="data")
    recipe = dev_size_fitted(recipe, len(dataset), None)  # as run() holds them out
    try:
        splits.held_out_count(recipe.dev_size, len(dataset))
    except DigitnetError as error:  # the recipe's dev rows would leave none to train on
        raise TrainingRefused(f"{dataset.source}: too few rows for recipe {recipe.name}, which "
                              f"holds out {recipe.dev_size:g} to measure on ({error})",
                              field="data") from None  # fmt: skip
    return Plan(recipe, dataset, data_name, seed, parameters, memory)


def check_rows(dataset: Dataset) -> None:
    if len(dataset) > MAX_ROWS:
        raise TrainingRefused(
            f"{dataset.source}: {len(dataset):,} rows, over this server's cap of {MAX_ROWS:,}",
            413,
            "data",
        )


def memory_estimate(recipe: Recipe, rows: int) -> tuple[int, int]:
    """(parameters, bytes): the network's parameter count, and a rough estimate of
    the memory training needs, without building anything:

        numbers = 4 x parameters              (weights, gradients, two optimizer states)
                + 3 x batch x activations     (outputs kept for the backward pass, their
                                               gradients, and a convolution's patches)
                + rows x 784                  (the preprocessed pixels)
    """
    batch = rows if recipe.batch_size is None else recipe.batch_size
    shape: tuple[int, ...] = (PIXELS,)
    specs = parse_layers(recipe.layers, PIXELS, CLASSES)
    parameters, activations = count_parameters(specs, PIXELS), 0
    for spec in specs:
        before = shape
        shape = output_shape(spec, shape)
        if spec.kind == "conv":
            activations += shape[0] * shape[1] * spec.kernel * spec.kernel * before[2]  # patches
        activations += math.prod(shape)
    size = np.dtype(recipe.dtype).itemsize
    return parameters, size * (4 * parameters + 3 * batch * activations + rows * PIXELS)


@dataclass
class Snapshot:
    """A copy of the weights at one moment, with what the page draws from it."""

    model: Model
    epoch: int
    batch: int
    weights: dict[str, Any]
    confusion: list[list[int]]


@dataclass
class LiveTraining:
    """The one training run of a server (see the module docstring).  Methods are
    called from the server's threads; `_watch` from the training thread."""

    datasets: dict[str, Dataset]
    version: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _status: str = "idle"
    _message: str = "No training yet."
    _plan: Plan | None = None
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _resume: threading.Event = field(default_factory=threading.Event)
    _pause: bool = False
    _rows: dict[str, list] = field(default_factory=lambda: _empty_rows())
    _progress: dict[str, Any] = field(default_factory=dict)
    _snapshot: Snapshot | None = None
    _dev: tuple[np.ndarray, np.ndarray] | None = None
    _clock: float = 0.0  # training seconds so far, pauses left out
    _ticked: float = 0.0
    _snapshot_at: float = 0.0
    _snapshots: int = 0  # taken since the server started
    _initial: np.ndarray | None = None  # the first layer's weights before training
    _published: float = 0.0
    _fingerprint: str = ""

    # --- requests (server threads) ---------------------------------------------

    def start(self, request: dict[str, Any]) -> dict[str, Any]:
        """Start the run `request` asks for; TrainingRefused if one is under way."""
        plan = plan_training(request, self.datasets)
        with self._lock:
            if self._status in ACTIVE:
                raise TrainingRefused(
                    f"a training is already {self._status} ({self._summary()}); "
                    "one at a time: stop it first",
                    409,
                )
            self._plan, self._status, self._message = plan, "running", "Starting…"
            self._stop.clear()
            self._resume.set()
            self._pause = False
            self._rows = _empty_rows()
            self._progress = {"epoch": 0, "batch": 0, "batches": 0, "learning_rate": None}
            self._snapshot, self._clock, self._dev = None, 0.0, None
            self._thread = threading.Thread(
                target=self._run, args=(plan,), name="digitnet-training", daemon=True
            )
            self._changed()
        self._thread.start()
        return self.state()

    def pause(self) -> dict[str, Any]:
        """Ask the run to pause after its current step: the reply says "pausing", and
        the state turns "paused" when the training thread has stopped at that step."""
        with self._lock:
            if self._status != "running":
                raise TrainingRefused(f"nothing to pause: the training is {self._status}", 409)
            self._pause = True
            self._resume.clear()
            self._status, self._message = "pausing", "Pausing after this step…"
            self._changed()
        return self.state()

    def resume(self) -> dict[str, Any]:
        """Let a paused (or pausing) run go on; the reply says "running"."""
        with self._lock:
            if self._status not in ("paused", "pausing"):
                raise TrainingRefused(f"nothing to resume: the training is {self._status}", 409)
            self._pause = False
            self._resume.set()
            self._status, self._message = "running", "Training…"
            self._changed()
        return self.state()

    def stop(self) -> dict[str, Any]:
        """Ask the run to stop after its current step (the best weights are kept)."""
        with self._lock:
            if self._status not in ACTIVE:
                raise TrainingRefused(f"nothing to stop: the training is {self._status}", 409)
            self._stop.set()
            self._resume.set()  # a paused run wakes to stop
            self._status, self._message = "stopping", "Stopping after this step…"
            self._changed()
        return self.state()

    def close(self, wait: float = 60.0) -> None:
        """Stop any run and wait for its thread (the server is shutting down)."""
        self._stop.set()
        self._resume.set()
        thread = self._thread
        if thread is not None:
            thread.join(wait)

    def model(self) -> tuple[Model, str] | None:
        """The latest snapshot model and a name for it saying when it was taken."""
        snapshot = self._snapshot
        if snapshot is None:
            return None
        return snapshot.model, f"{snapshot.model.recipe.get('name', 'live')}-epoch{snapshot.epoch}"

    def state(self) -> dict[str, Any]:
        """Everything the page shows, ready for JSON (no NaN: null)."""
        with self._lock:
            plan, snapshot = self._plan, self._snapshot
            shown = {
                "version": self.version,
                "status": self._status,
                "message": self._message,
                "plan": plan.describe() if plan else None,
                **self._progress,
                "seconds": round(self._clock, 2),
                **self._timing(),
                "history": {
                    key: [_number(v) for v in values] for key, values in self._rows.items()
                },
                "snapshot": None
                if snapshot is None
                else {
                    "number": self._snapshots,  # never the same for two snapshots
                    "epoch": snapshot.epoch,
                    "batch": snapshot.batch,
                    "weights": snapshot.weights,
                    "confusion": snapshot.confusion,
                },
            }
        return shown

    # --- the training thread ---------------------------------------------------

    def _run(self, plan: Plan) -> None:
        try:
            recipe, dataset = plan.recipe, plan.dataset
            assert dataset.labels is not None
            rng = np.random.default_rng(plan.seed)  # the split run() makes from this seed
            dev_rows = splits.split(dataset.labels, recipe.dev_size, recipe.split, rng)[1]
            self._dev = dataset.images[dev_rows], dataset.labels[dev_rows]
            # ... and the very network it then builds: the weights before the first step.
            start = Network.build(recipe.layers, init=recipe.init, seed=rng, dtype=recipe.dtype)
            self._initial = first_layer_weights(start)
            self._fingerprint = dataset.fingerprint()
            self._ticked = time.monotonic()
            model = run(recipe, dataset, plan.seed, log=None, progress=False, watch=self._watch)
        except Exception as error:  # shown on the page; the server goes on
            with self._lock:
                self._status, self._message = "failed", f"Training failed: {error}"
                self._changed()
            return
        epoch = model.history["epoch"][-1] if model.history.get("epoch") else 0
        final = Snapshot(model, epoch, self._progress.get("batch", 0), *self._pictures(model))
        with self._lock:
            self._snapshot, self._snapshots = final, self._snapshots + 1
            stopped = bool(model.info.get("interrupted"))
            self._status = "stopped" if stopped else "finished"
            kept = model.info.get("best_epoch")
            self._message = (
                f"Stopped; the model holds epoch {kept}'s weights (the best on the dev rows)."
                if stopped and kept
                else "Stopped before the first epoch ended."
                if stopped
                else f"Finished {count(epoch, 'epoch')}."
            )
            self._changed()

    def _watch(self, progress: Progress) -> bool:
        now = time.monotonic()
        self._clock += now - self._ticked
        self._ticked = now
        epoch_ended = len(progress.history["epoch"]) > len(self._rows["epoch"])
        with self._lock:
            self._progress = {
                "epoch": progress.epoch,
                "batch": progress.batch,
                "batches": progress.batches,
                "learning_rate": float(f"{progress.learning_rate:.4g}"),
            }
            if epoch_ended:
                for key, values in progress.history.items():
                    if key != "seconds":  # the page's clock leaves pauses out
                        self._rows[key].append(values[-1])
                self._rows["learning_rate"].append(float(progress.learning_rate))
                self._rows["seconds"].append(round(self._clock, 3))
            if self._status == "running":
                self._message = "Training…"
        stale = self._snapshot is None or now - self._snapshot_at >= SNAPSHOT_SECONDS
        if epoch_ended or stale:
            self._take_snapshot(progress)
        if epoch_ended or stale or now - self._published >= PUBLISH_SECONDS:
            with self._lock:
                self._changed()
        if self._pause and not self._stop.is_set():
            self._take_snapshot(progress)  # a save while paused keeps these very weights
            with self._lock:
                if self._status == "pausing":  # not if resumed or stopped meanwhile
                    self._status, self._message = "paused", "Paused."
                    self._changed()
            self._resume.wait()
            self._ticked = time.monotonic()  # the pause is not training time
        return self._stop.is_set()

    def _take_snapshot(self, progress: Progress) -> None:
        plan = self._plan
        assert plan is not None
        network = Network.build(progress.network.layer_spec, dtype=progress.network.dtype)
        network.set_arrays({name: a.copy() for name, a in progress.network.arrays().items()})
        dataset = plan.dataset
        model = Model(
            network=network,
            preprocessing=Preprocessing(),
            recipe=plan.recipe.to_dict(),
            history={key: list(values) for key, values in progress.history.items()},
            info={
                "data": shareable_source(dataset.source),  # no absolute paths (recorded.py)
                "data_spec": recorded_name(dataset),
                "data_fingerprint": self._fingerprint,
                "classes": list(dataset.class_names),
                "seed": plan.seed,
                "train_size": len(dataset) - len(self._dev[1]) if self._dev else None,
                "dev_size": len(self._dev[1]) if self._dev else 0,
                "interrupted": False,
                "best_epoch": None,
                # The weights of this step; the history's last row is the last epoch's end.
                "training": f"a snapshot taken by digitnet serve at epoch {progress.epoch}, "
                f"step {progress.batch} of {progress.batches}",
            },
        )
        snapshot = Snapshot(model, progress.epoch, progress.batch, *self._pictures(model))
        with self._lock:
            self._snapshot, self._snapshots = snapshot, self._snapshots + 1
        self._snapshot_at = time.monotonic()

    def _pictures(self, model: Model) -> tuple[dict[str, Any], list[list[int]]]:
        confusion = np.zeros((CLASSES, CLASSES), dtype=int)
        if self._dev is not None and len(self._dev[1]):
            images, labels = self._dev
            guesses = model.predict(images)
            np.add.at(confusion, (labels, guesses), 1)
        return first_layer_pictures(model.network, self._initial), confusion.tolist()

    # --- helpers (called with the lock held) -----------------------------------

    def _changed(self) -> None:
        self.version += 1
        self._published = time.monotonic()

    def _summary(self) -> str:
        plan, progress = self._plan, self._progress
        if plan is None:
            return ""
        return f"recipe {plan.recipe.name}, epoch {progress.get('epoch', 0)}/{plan.recipe.epochs}"

    def _timing(self) -> dict[str, Any]:
        """Seconds per epoch and seconds left, from the training time so far."""
        plan, progress = self._plan, self._progress
        if plan is None or not progress.get("batches"):
            return {"seconds_per_epoch": None, "seconds_left": None}
        done = progress["epoch"] - 1 + progress["batch"] / progress["batches"]
        if done <= 0:
            return {"seconds_per_epoch": None, "seconds_left": None}
        per_epoch = self._clock / done
        left = 0.0 if self._status not in ACTIVE else per_epoch * (plan.recipe.epochs - done)
        return {"seconds_per_epoch": round(per_epoch, 3), "seconds_left": round(left, 1)}


def first_layer_weights(network: Network) -> np.ndarray | None:
    """The first layer's weights, one row per picture: a dense layer on the pixels, a
    unit's 784 weights; a convolution, a filter's size x size (averaged over channels)."""
    for layer in network.layers:
        if isinstance(layer, Dense) and layer.weight.shape[0] == PIXELS:
            return np.array(layer.weight.T, dtype=np.float64)
        if isinstance(layer, Conv2D):
            size, _, _, filters = layer.kernel.shape
            return layer.kernel.mean(axis=2).reshape(size * size, filters).T.astype(np.float64)
    return None


def first_layer_pictures(network: Network, initial: np.ndarray | None = None) -> dict[str, Any]:
    """The first layer's weights as pictures (`first_layer_weights`, the first
    UNITS_SHOWN), and with `initial` their change since then: values 0..255 with 128
    for 0, each picture scaled by its largest |value|.  Trained from random weights,
    the weights stay speckled with their start; the change shows what was learned."""
    weights = first_layer_weights(network)
    if weights is None:
        return {"kind": "none", "side": 0, "count": 0, "values": [], "change": []}
    shown = weights[:UNITS_SHOWN]
    moved = shown - initial[:UNITS_SHOWN] if initial is not None else np.zeros_like(shown)
    return {
        "kind": "units" if weights.shape[1] == PIXELS else "filters",
        "side": round(weights.shape[1] ** 0.5),
        "count": len(weights),
        "values": _grey_levels(shown),
        "change": _grey_levels(moved),
    }


def _grey_levels(pictures: np.ndarray) -> list[list[int]]:
    largest = np.abs(pictures).max(axis=1, keepdims=True)
    return np.rint(128 + 127 * pictures / np.where(largest > 0, largest, 1)).astype(int).tolist()


def _empty_rows() -> dict[str, list]:
    """The page's history: the trainer's rows, with the learning rate, timed without pauses."""
    return {key: [] for key in (*HISTORY_KEYS, "learning_rate")}


def _number(value: float) -> float | int | None:
    """A history value for JSON: epochs stay whole, NaN (no dev rows) becomes null."""
    if isinstance(value, int | np.integer):
        return int(value)
    return None if value is None or not math.isfinite(value) else round(float(value), 5)
