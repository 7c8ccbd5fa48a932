"""The training view's API in `digitnet serve`: train from the page, watch it learn.

    GET  /api/training          what can be trained (recipes, data, caps) and the run's state
    POST /api/training          start: {"recipe": "fast", "layers": ..., "epochs": ...,
                                "learning_rate": ..., "optimizer": ..., "batch_size": ...,
                                "data": "sample"}  (all but recipe optional)
    POST /api/training/pause    pause after the current step; /resume, /stop likewise
    POST /api/training/save     {"name": "mine.npz"} (optional): the weights now, saved
                                atomically in the server's save folder; then listed
                                in /api/models and read by /api/predict
    GET  /api/training/events   server-sent events: the whole state at once on connecting,
                                then each change (progress at most twice a second; the
                                pictures every few seconds and every epoch)

While a run has weights, /api/models lists it as "in training" and /api/predict
reads with its latest snapshot.  The run lives in the server, not in a page: a
closed tab leaves it running to its last epoch (capped), and any page opened on
the server shows it and can pause, stop or save it.  Errors are JSON
{"error": "...", "field": "layers"} (the field at fault, where there is one).
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from digitnet.data.dataset import Dataset
from digitnet.errors import DigitnetError
from digitnet.interfaces import live_training
from digitnet.interfaces.json_body import JSONResponse
from digitnet.interfaces.live_training import LiveTraining, TrainingRefused, check_rows
from digitnet.interfaces.serve import ServedModel
from digitnet.model_file import load_model, save_model
from digitnet.recipes.catalog import DEFAULT_RECIPE, RECIPES
from digitnet.training.optimizer import OPTIMIZERS

LIVE_MODEL = "in training"  # the name /api/models and /api/predict give the run's snapshot
MAX_REQUEST_BYTES = 16 * 1024
STREAM_POLL_SECONDS = 0.25
STREAM_HEARTBEAT_SECONDS = 15.0  # a comment line, so proxies and browsers keep the stream
SAVE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")


class TrainingView:
    """The training part of one server: its run, its saved models, its routes.

    `enabled=False` (a server listening beyond this machine, without the flag that
    allows it) refuses every training request with `refusal` as the reason."""

    def __init__(
        self,
        datasets: dict[str, Dataset],
        save_dir: str | Path = ".",
        enabled: bool = True,
        refusal: str = "",
    ) -> None:
        for dataset in datasets.values():
            check_rows(dataset)
        self.datasets = datasets
        self.live = LiveTraining(datasets)
        self.save_dir = Path(save_dir)
        self.enabled, self.refusal = enabled, refusal
        self.saved: list[ServedModel] = []
        self.closing = threading.Event()  # the server is stopping: streams end
        self._lock = threading.Lock()
        self._live_served: ServedModel | None = None
        self.reserved: frozenset[str] = frozenset({LIVE_MODEL})  # names a save may not take
        self._sent: tuple[int, str] = (-1, "")

    # --- the models it adds to the page's list ----------------------------------

    def served(self, name: str) -> ServedModel | None:
        """The model called `name`: the run's latest snapshot, or one saved from it."""
        if name == LIVE_MODEL:
            found = self.live.model()
            if found is None:
                return None
            with self._lock:  # one ServedModel (one lock) per snapshot
                if self._live_served is None or self._live_served.model is not found[0]:
                    self._live_served = ServedModel(LIVE_MODEL, found[0])
                return self._live_served
        return next((served for served in self.saved if served.name == name), None)

    def reserve(self, names: Iterable[str]) -> None:
        """The names the server already serves models under: a save may not take one
        (two models of one name, and the second could never be chosen)."""
        self.reserved = self.reserved | frozenset(names)

    def listed(self) -> list[dict[str, Any]]:
        live = self.served(LIVE_MODEL)
        shown = [{**live.describe(), "live": True}] if live is not None else []
        return shown + [served.describe() for served in self.saved]

    def end(self) -> None:
        """The server is stopping: end the event streams, stop the run and wait for it."""
        self.closing.set()
        self.live.close()

    # --- requests --------------------------------------------------------------

    def routes(self) -> list[Route]:
        return [
            Route("/api/training", self._overview, methods=["GET"]),
            Route("/api/training", self._start, methods=["POST"]),
            Route("/api/training/events", self._events, methods=["GET"]),
            Route("/api/training/save", self._save, methods=["POST"]),
            Route("/api/training/{action}", self._control, methods=["POST"]),
        ]

    async def _overview(self, request: Request) -> JSONResponse:
        recipes = {
            name: {
                "summary": recipe.summary,
                "layers": recipe.layers,
                "epochs": recipe.epochs,
                "learning_rate": recipe.learning_rate,
                "optimizer": recipe.optimizer,
                "batch_size": recipe.batch_size,
            }
            for name, recipe in RECIPES.items()
        }
        caps = {
            "epochs": live_training.MAX_EPOCHS,
            "parameters": live_training.MAX_PARAMETERS,
            "memory_bytes": live_training.MAX_MEMORY_BYTES,
            "rows": live_training.MAX_ROWS,
        }
        return JSONResponse(
            {
                "enabled": self.enabled,
                "refusal": self.refusal,
                "recipes": recipes,
                "default_recipe": DEFAULT_RECIPE,
                "optimizers": list(OPTIMIZERS),
                "data": {name: dataset.source for name, dataset in self.datasets.items()},
                "caps": caps,
                "state": self.live.state(),
            }
        )

    async def _start(self, request: Request) -> JSONResponse:
        def start(fields: dict[str, Any]) -> dict[str, Any]:
            return self.live.start(fields)

        return await self._act(request, start, status=202)

    async def _control(self, request: Request) -> JSONResponse:
        action = request.path_params["action"]
        actions = {"pause": self.live.pause, "resume": self.live.resume, "stop": self.live.stop}
        if action not in actions:
            return _refused(TrainingRefused(f"no training action '{action}'", 404))
        return await self._act(request, lambda _fields: actions[action]())

    async def _save(self, request: Request) -> JSONResponse:
        return await self._act(request, self._save_now)

    async def _act(
        self, request: Request, act: Callable[[dict[str, Any]], dict[str, Any]], status: int = 200
    ) -> JSONResponse:
        """`act(fields)` in a worker thread, if training is allowed here; errors as JSON."""
        try:
            if not self.enabled:
                raise TrainingRefused(self.refusal or "training is turned off here", 403)
            fields = _json_fields(await request.body())
            return JSONResponse(await run_in_threadpool(act, fields), status_code=status)
        except TrainingRefused as refused:
            return _refused(refused)
        except DigitnetError as error:  # a save that could not be written, say
            return _refused(TrainingRefused(str(error), 500))

    def _save_now(self, fields: dict[str, Any]) -> dict[str, Any]:
        found = self.live.model()
        if found is None:
            raise TrainingRefused("nothing to save yet: start a training first", 409)
        model, when = found
        name = fields.get("name")
        if name is None:
            name, count = f"{when}.npz", 1
            while (self.save_dir / name).exists() or self.served(name) or name in self.reserved:
                count += 1
                name = f"{when}-{count}.npz"
        elif not isinstance(name, str) or not SAVE_NAME.fullmatch(name):
            raise TrainingRefused(
                "name: letters, digits, '.', '_' and '-' only (a letter or digit first), at "
                "most 80, such as mine.npz",
                field="name",
            )
        else:
            name = name if name.endswith(".npz") else f"{name}.npz"
            if name in self.reserved:
                raise TrainingRefused(f"{name}: a model this server serves has that name; "
                                      "choose another", 409, "name")  # fmt: skip
            if (self.save_dir / name).exists():
                raise TrainingRefused(
                    f"{name}: already exists in {self.save_dir}; choose "
                    "another name (nothing is overwritten)",
                    409,
                    "name",
                )
        path = self.save_dir / name
        save_model(model, path)  # atomically: a good file, or none
        served = ServedModel(name, load_model(path))  # its own copy, read back as saved
        with self._lock:
            self.saved = [each for each in self.saved if each.name != name] + [served]
        return {
            "saved": name,
            "path": str(path.resolve()),
            "epoch": model.history.get("epoch", [0])[-1] if model.history.get("epoch") else 0,
        }

    async def _events(self, request: Request) -> Response:
        if not self.enabled:
            return _refused(TrainingRefused(self.refusal or "training is turned off here", 403))
        return StreamingResponse(
            self._stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def _stream(self) -> AsyncIterator[str]:
        """The state whenever it changes; the pictures only when they are new."""
        sent_version, sent_snapshot, quiet = -1, None, 0.0
        yield "retry: 1000\n\n"  # a dropped stream is reopened after a second
        while not self.closing.is_set():
            if self.live.version != sent_version:
                state = self.live.state()
                sent_version = state["version"]
                snapshot = state["snapshot"]
                key = None if snapshot is None else snapshot["number"]
                if key == sent_snapshot:
                    state = {**state, "snapshot": "same"}  # the page keeps the one it has
                sent_snapshot = key
                yield f"data: {json.dumps(state)}\n\n"
                quiet = 0.0
            elif quiet >= STREAM_HEARTBEAT_SECONDS:
                yield ": still here\n\n"
                quiet = 0.0
            await anyio.sleep(STREAM_POLL_SECONDS)
            quiet += STREAM_POLL_SECONDS


def _json_fields(body: bytes) -> dict[str, Any]:
    if len(body) > MAX_REQUEST_BYTES:
        raise TrainingRefused(f"the body is over {MAX_REQUEST_BYTES:,} bytes", 413)
    if not body.strip():
        return {}
    try:
        fields = json.loads(body)
    except (ValueError, RecursionError):
        raise TrainingRefused("the body is not valid JSON", 400) from None
    if not isinstance(fields, dict):
        raise TrainingRefused("expected a JSON object", 400)
    return fields


def _refused(refused: TrainingRefused) -> JSONResponse:
    return JSONResponse({"error": str(refused), "field": refused.field}, status_code=refused.status)


def training_view_for(
    train_data: str | None, save_dir: str, listens_beyond: str | None, allow_remote: bool
) -> TrainingView:
    """The training view `digitnet serve` starts with: the bundled sample, plus the
    data given with --train-data; turned off when the server listens beyond this
    machine (`listens_beyond`: its address) unless --allow-remote-training."""
    from digitnet.data.sources import load_data

    # By name, as `--data sample` loads it: a model saved from the page records the
    # sample so that evaluate, report and --resume find it again.
    datasets = {"sample": load_data("sample", progress=False)}
    if train_data is not None:  # named as given: POST {"data": "train.csv"} trains on it
        datasets[train_data] = load_data(train_data, progress=False)
    folder = Path(save_dir)
    if not folder.is_dir():
        raise DigitnetError(f"--save-dir {save_dir}: not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):  # refused at start, not at the first save
        raise DigitnetError(f"--save-dir {save_dir}: cannot write in this folder")
    refusal = ""
    if listens_beyond is not None and not allow_remote:
        refusal = (f"training is off: this server listens on {listens_beyond}, beyond this "
                   "machine; start it with --allow-remote-training to allow it")  # fmt: skip
    return TrainingView(datasets, folder, enabled=not refusal, refusal=refusal)


def end_with(server: Any, view: TrainingView) -> None:
    """Make Ctrl-C (or SIGTERM) on `server` (a uvicorn.Server) also end the event
    streams and ask the run to stop after its step: uvicorn's graceful shutdown
    waits for every open response, and an event stream never ends by itself."""
    handle_exit = server.handle_exit

    def on_exit(signal_number: int, frame: Any) -> None:
        view.closing.set()
        view.live.close(wait=0)  # asked now; the app's shutdown waits for the thread
        handle_exit(signal_number, frame)

    server.handle_exit = on_exit
