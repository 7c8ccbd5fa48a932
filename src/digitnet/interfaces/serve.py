"""`digitnet serve`: a page to draw a digit on and watch the network read it, and a JSON API.

Built on Starlette (routing, requests, responses) run by uvicorn (the HTTP server):
the optional extra `pip install "digitnet[serve]"`.  docs/serve.md says why, and
documents the API:

    GET  /                 the page (interfaces/page/: no CDN, works offline)
    GET  /page/{file}      its script and style sheet
    GET  /api/models       the models served: name, recipe, layers, accuracy
    POST /api/predict      a picture (PNG, JPEG... bytes) or JSON {"pixels": [784 numbers]}
                           -> the guess, the ten probabilities, the 28x28 input the
                              network saw, and what its hidden layers computed
    /api/training...       the training view: train from the page and watch it learn
                           (interfaces/training_view.py)

A picture goes through the same preprocessing as `digitnet show --image`
(data/digit_photo.py).  Every error is JSON {"error": "..."} with a 4xx status (503
with Retry-After when the server is busy); the numpy work runs in a worker thread, so a
slow request does not hold up the others.  What the server holds at once and how long
it waits for a slow client: serve_limits.py (the application's share) and serve_guard.py
(the connections').
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Protocol

import anyio
import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from digitnet.data.dataset import PIXELS
from digitnet.data.image_file import read_digit_image
from digitnet.errors import DigitnetError
from digitnet.interfaces.json_body import JSONResponse
from digitnet.interfaces.serve_limits import BodyBudget, BodyShare, PictureQueue, ServeLimits
from digitnet.interfaces.serve_origin import SameSiteOnly
from digitnet.model import Model, kept_dev_accuracy, pixel_rows
from digitnet.network.loss import softmax
from digitnet.network.spec import ACTIVATIONS

MAX_BODY_BYTES = 10 * 1024 * 1024  # a phone photo is 2 to 5 MB
MAX_JSON_BYTES = 64 * 1024  # 784 numbers, even written long, fit in 16 KB
MAPS_SHOWN = 16  # feature maps per convolution layer sent to the page
PAGE_FILES = {"page.js": "text/javascript", "page.css": "text/css",
              "train.js": "text/javascript", "train.css": "text/css"}  # fmt: skip


@dataclass(frozen=True)
class ServedModel:
    """A model as the page lists it.  `lock`: one forward pass at a time, since the
    layers keep what they computed for their backward pass (the preprocessing, most
    of a request's work, runs in parallel)."""

    name: str
    model: Model
    lock: threading.Lock = field(default_factory=threading.Lock, compare=False)

    def describe(self) -> dict[str, Any]:
        info = self.model.info
        accuracy = kept_dev_accuracy(self.model)
        return {
            "name": self.name,
            "recipe": self.model.recipe.get("name", "?"),
            "layers": self.model.network.layer_spec,
            "dev_accuracy": None if accuracy is None or math.isnan(accuracy) else accuracy,
            "dev_size": info.get("dev_size"),
            "data": info.get("data", "unknown"),
            "classes": list(self.model.class_names),
        }


class AddedView(Protocol):
    """What the app needs of the training view (interfaces/training_view.py): its
    routes, the models it adds to the list, and a way to stop when the server does."""

    def routes(self) -> list[Route]: ...
    def served(self, name: str) -> ServedModel | None: ...
    def listed(self) -> list[dict[str, Any]]: ...
    def reserve(self, names: Iterable[str]) -> None: ...
    def end(self) -> None: ...


def create_app(
    models: list[ServedModel],
    max_body_bytes: int = MAX_BODY_BYTES,
    limits: ServeLimits | None = None,
    training: AddedView | None = None,
    hosts: frozenset[str] | None = None,
) -> Starlette:
    """The web application serving `models` (the first is the default), keeping the
    body deadline, the picture queue and the body budget of `limits`, refusing other
    sites' requests (and, given `hosts`, requests for any other Host), and the
    training view's routes and models if `training` is given."""
    if not models:
        raise DigitnetError("serve: no model to serve")
    limits = limits or ServeLimits()
    by_name = {served.name: served for served in models}
    if training is not None:
        training.reserve(by_name)
    pictures = PictureQueue(limits)
    bodies = BodyBudget(limits)

    def find(name: str) -> ServedModel | None:
        found = by_name.get(name)
        return found if found is not None or training is None else training.served(name)

    async def page(request: Request) -> Response:
        return Response(_page_file("index.html"), media_type="text/html; charset=utf-8")

    async def page_file(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in PAGE_FILES:
            raise HTTPException(404, f"no page file '{name}'")
        return Response(_page_file(name), media_type=f"{PAGE_FILES[name]}; charset=utf-8")

    async def list_models(request: Request) -> JSONResponse:
        added = training.listed() if training is not None else []
        return JSONResponse({"models": [served.describe() for served in models] + added})

    async def predict(request: Request) -> JSONResponse:
        with bodies.share() as share:  # the body stays in memory until the answer is made
            return await answer(request, share)

    async def answer(request: Request, share: BodyShare) -> JSONResponse:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        name = request.query_params.get("model")
        if kind == "application/json":  # 784 numbers: a few kilobytes, never megabytes
            fields = _json_object(await _read_body(request, MAX_JSON_BYTES, limits, share))
            name = fields.get("model", name)
            pixels, preprocess = _json_pixels(fields), False
        elif kind.startswith("image/") or kind == "application/octet-stream":
            pixels, preprocess = await _read_body(request, max_body_bytes, limits, share), True
        else:  # refused before reading what may be megabytes of body
            raise HTTPException(415, "send the picture's own bytes as the body, with "
                                "Content-Type image/png, image/jpeg...; or JSON pixels "
                                "(a form upload is not read)")  # fmt: skip
        served = find(name) if name is not None else models[0]
        if served is None:
            raise HTTPException(404, f"no model '{name}' (serving: {', '.join(by_name)})")
        async with pictures.turn():  # a few at once: each holds a decoded picture in memory
            return JSONResponse(await run_in_threadpool(_answer, served, pixels, preprocess))

    async def error(request: Request, exception: Exception) -> JSONResponse:
        if isinstance(exception, HTTPException):
            return JSONResponse({"error": exception.detail}, status_code=exception.status_code,
                                headers=exception.headers)  # fmt: skip
        return JSONResponse({"error": "internal error"}, status_code=500)  # never a traceback

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if training is not None:  # stop the run (after its step) before the server ends
            await run_in_threadpool(training.end)

    return Starlette(
        routes=[
            Route("/", page),
            Route("/page/{name}", page_file),
            Route("/api/models", list_models),
            Route("/api/predict", predict, methods=["POST"]),
            *(training.routes() if training is not None else []),
        ],
        exception_handlers={HTTPException: error, Exception: error},
        lifespan=lifespan,
        middleware=[Middleware(SameSiteOnly, hosts=hosts)],  # other sites: serve_origin.py
    )


def _answer(served: ServedModel, pixels: Any, preprocess: bool) -> dict[str, Any]:
    """The model's reading of one picture (bytes) or one row of pixels (run in a thread)."""
    try:
        row = read_digit_image(pixels, name="the picture") if preprocess else pixel_rows(pixels)
    except DigitnetError as problem:
        raise HTTPException(422, str(problem)) from None
    model = served.model
    inputs = model.preprocessing.apply(row.reshape(1, -1), model.network.dtype)
    with served.lock:  # copied: the next request's pass may write into the same buffers
        outputs = [output.copy() for output in model.network.outputs(inputs)]
    probabilities = softmax(outputs[-1])[0]
    guess = int(np.argmax(probabilities))
    return {
        "model": served.name,
        "prediction": guess,
        "label": model.class_names[guess],
        "probabilities": [round(float(p), 6) for p in probabilities],
        "input": row.reshape(-1).tolist(),  # the 28x28 the network saw, row by row
        "inside": _inside(model, outputs),
    }


def _inside(model: Model, outputs: list[np.ndarray]) -> list[dict[str, Any]]:
    """What each activation layer computed for one input: a hidden layer's units
    (0..1 of its largest), or a convolution's first feature maps (0..255 each)."""
    network = model.network
    shown = []
    source = ""
    for spec, output in zip(network.specs, outputs):
        if spec.kind not in ACTIVATIONS:
            if spec.kind in ("dense", "conv"):
                source = str(spec)
            continue
        values = output[0]
        title = f"{source}, {spec}" if source else str(spec)
        if values.ndim == 1:
            top = float(values.max()) or 1.0
            shown.append({"layer": title, "kind": "units", "shape": list(values.shape),
                          "values": [round(float(v) / top, 3) for v in values]})  # fmt: skip
        else:
            height, width, count = values.shape
            maps = []
            for index in range(min(count, MAPS_SHOWN)):
                plane = values[:, :, index]
                low, high = float(plane.min()), float(plane.max())
                scaled = (plane - low) / (high - low) * 255 if high > low else plane * 0
                maps.append(np.rint(scaled).astype(int).ravel().tolist())
            shown.append({"layer": title, "kind": "maps", "shape": [height, width, count],
                          "values": maps})  # fmt: skip
    return shown


async def _read_body(request: Request, limit: int, limits: ServeLimits, share: BodyShare) -> bytes:
    """The request's body, refused with 413 as soon as it is known to exceed `limit`,
    with 408 if it arrives too slowly, with 503 if the memory for bodies is taken.

    Its deadline: `body_grace_seconds`, plus a second for every `body_bytes_per_second`
    bytes received, counted from now.  A slow but real upload keeps extending it; a client
    that sends a byte now and then is cut off after the grace."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise HTTPException(400, "Content-Length is not a number")
        if int(declared) > limit:
            raise HTTPException(413, f"the body is over {limit:,} bytes")
    chunks, size = [], 0
    started = anyio.current_time()
    more = True
    while more:
        deadline = started + limits.body_grace_seconds + size / limits.body_bytes_per_second
        with anyio.move_on_after(deadline - anyio.current_time()) as wait:
            message = await request.receive()
        if wait.cancelled_caught:
            raise HTTPException(408, f"the body did not arrive in time (after "
                                f"{limits.body_grace_seconds:g} s it must come at "
                                f"{limits.body_bytes_per_second // 1024} KB/s or more)",
                                headers={"Connection": "close"})  # fmt: skip
        if message["type"] == "http.disconnect":
            raise HTTPException(400, "the connection closed before the whole body arrived")
        chunk, more = message.get("body", b""), message.get("more_body", False)
        size += len(chunk)
        if size > limit:  # chunked uploads declare no length: count as they arrive
            raise HTTPException(413, f"the body is over {limit:,} bytes")
        share.grow_to(size)
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body:
        raise HTTPException(400, "the body is empty")
    return body


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        fields = json.loads(body)
    except (ValueError, RecursionError):  # also bad UTF-8
        raise HTTPException(400, "the body is not valid JSON") from None
    if not isinstance(fields, dict):
        raise HTTPException(400, 'expected a JSON object: {"pixels": [...]}')
    if "model" in fields and not isinstance(fields["model"], str):
        raise HTTPException(400, '"model" must be a model\'s name')
    return fields


def _json_pixels(fields: dict[str, Any]) -> np.ndarray:
    """ "pixels": 784 numbers 0..255 (or 0..1), flat or as 28 rows of 28."""
    pixels = fields.get("pixels")
    if not isinstance(pixels, list):
        raise HTTPException(400, f'expected "pixels": a list of {PIXELS} numbers 0..255')
    side = round(PIXELS**0.5)
    rows = pixels if pixels and all(isinstance(row, list) for row in pixels) else [pixels]
    if len(rows) > 1 and (len(rows) != side or any(len(row) != side for row in rows)):
        raise HTTPException(422, f'"pixels" as rows must be {side} rows of {side} numbers')
    flat = [value for row in rows for value in row]
    if len(flat) != PIXELS:
        raise HTTPException(422, f'"pixels" must hold {PIXELS} numbers ({side} rows of {side}); '
                            f"it holds {len(flat)}")  # fmt: skip
    other = next((v for v in flat if not isinstance(v, int | float) or isinstance(v, bool)), None)
    if other is not None or any(v is None for v in flat):  # true, "3", null: not numbers
        shown = json.dumps(other)[:20]
        raise HTTPException(422, f'"pixels" must all be numbers 0..255 (or 0..1); it holds '
                            f"{shown}")  # fmt: skip
    if not all(0 <= value <= 255 for value in flat):  # also NaN, and 1e400 as an int
        raise HTTPException(422, '"pixels" must lie in 0..255 (or 0..1)')
    if max(flat) > 1 and any(value != int(value) for value in flat):
        raise HTTPException(422, '"pixels" mix fractions with values above 1: send whole '
                            "numbers 0..255, or fractions 0..1")  # fmt: skip
    if not any(flat):
        raise HTTPException(422, '"pixels" are all 0: no digit to read')
    return np.asarray(flat, dtype=np.float64)


def _page_file(name: str) -> bytes:
    return resources.files("digitnet.interfaces.page").joinpath(name).read_bytes()
