"""The drawing page as one self-contained HTML file: no server, no network, no library.

The file holds the page (page/standalone.html, .css), the drawing's preprocessing
(page/drawing.js, the drawing path of data/digit_photo.py, as drawing.py writes it in
Python), the network's forward pass (page/forward.js: the same layers again, in
digitnet's channels-last layout) and the weights, as base64 text of float32 numbers
inside a <script type="application/json"> block.  Opened from disk (file://), it
reads drawings as `digitnet serve` does; photos are left to `digitnet serve`.
"""

from __future__ import annotations

import base64
import html
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from digitnet.atomic import atomic_write
from digitnet.interfaces.export.layout import ACTIVATION_KINDS
from digitnet.model import Model, kept_dev_accuracy
from digitnet.network.batchnorm import BatchNorm
from digitnet.network.conv import Conv2D, MaxPool2D
from digitnet.network.im2col import same_padding
from digitnet.network.layers import Dense, Dropout, Flatten, LeakyReLU, ToImages
from digitnet.network.spec import output_shape

PAGE_FILES = ("standalone.html", "standalone.css", "drawing.js", "forward.js", "standalone.js")


def floats(array: np.ndarray) -> str:
    """An array as base64 text of its little-endian float32 numbers, in C order."""
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f4").tobytes()).decode("ascii")


def network_description(model: Model) -> dict[str, Any]:
    """What forward.js reads: each layer's kind, sizes and arrays (digitnet's layouts)."""
    network = model.network
    described = []
    shape: tuple[int, ...] = (network.inputs,)
    for spec, layer in zip(network.specs, network.layers):
        after = output_shape(spec, shape)
        described.append(_layer(spec.kind, layer, shape, after))
        shape = after
    accuracy = kept_dev_accuracy(model)
    return {
        "layers": described,
        "layer_spec": network.layer_spec,
        "divide_by": float(model.preprocessing.divide_by),
        "classes": list(model.class_names),
        "recipe": str(model.recipe.get("name", "unknown")),
        "data": str(model.info.get("data", "unknown")),
        "dev_accuracy": accuracy,
        "dev_size": model.info.get("dev_size"),
    }


def _layer(kind: str, layer: Any, before: tuple[int, ...], after: tuple[int, ...]) -> dict:
    if isinstance(layer, Dense):
        inputs, units = layer.weight.shape
        return {"kind": "dense", "inputs": inputs, "units": units,
                "arrays": {"weight": floats(layer.weight), "bias": floats(layer.bias)}}  # fmt: skip
    if isinstance(layer, Conv2D):
        kh, _, _, filters = layer.kernel.shape
        top = left = 0
        if layer.padding == "same":
            top = same_padding(before[0], kh, layer.stride)[0]
            left = same_padding(before[1], kh, layer.stride)[0]
        return {"kind": "conv", "filters": filters, "size": kh, "stride": layer.stride,
                "top": top, "left": left, "rows": after[0], "columns": after[1],
                "arrays": {"kernel": floats(layer.kernel), "bias": floats(layer.bias)}}  # fmt: skip
    if isinstance(layer, MaxPool2D):
        return {"kind": "pool", "size": layer.size, "stride": layer.stride,
                "rows": after[0], "columns": after[1]}  # fmt: skip
    if isinstance(layer, BatchNorm):
        arrays = {name: floats(getattr(layer, name))
                  for name in ("scale", "shift", "running_mean", "running_var")}  # fmt: skip
        return {"kind": "bn", "eps": float(layer.eps), "arrays": arrays}
    if isinstance(layer, ToImages):
        return {"kind": "image", "side": layer.side}
    if isinstance(layer, Flatten):
        return {"kind": "flatten"}
    if isinstance(layer, Dropout):
        return {"kind": "dropout", "rate": float(layer.rate)}
    if isinstance(layer, LeakyReLU):
        return {"kind": "leaky_relu", "slope": float(layer.slope)}
    for activation, name in ACTIVATION_KINDS.items():
        if isinstance(layer, activation):
            return {"kind": name}
    raise ValueError(f"layer {kind}: the page has no forward pass for it")


def _page_file(name: str) -> str:
    return (resources.files("digitnet.interfaces.export") / "page" / name).read_text("utf-8")


def _script(text: str) -> str:
    """Text safe inside a <script> element: it must not close the element early."""
    return text.replace("</", "<\\/")


def page_html(model: Model, title: str = "digitnet") -> str:
    """The whole page, as text."""
    description = json.dumps(network_description(model), separators=(",", ":"))
    scripts = "\n".join(_page_file(name) for name in ("drawing.js", "forward.js", "standalone.js"))
    replacements = {
        "{{title}}": html.escape(title),
        "{{layers}}": html.escape(model.network.layer_spec),
        "{{style}}": _page_file("standalone.css"),
        "{{model}}": _script(description),
        "{{script}}": _script(scripts),
    }
    # One pass, so that text put in (a class name, say) is never itself replaced.
    pattern = re.compile("|".join(re.escape(key) for key in replacements))
    return pattern.sub(lambda match: replacements[match.group(0)], _page_file("standalone.html"))


def write_page(model: Model, path: Path) -> None:
    text = page_html(model)
    with atomic_write(path, "w") as stream:
        stream.write(text)
