"""The numbers of docs/worked_example.md: read from the page, and computed by digitnet.

`read_arrays(text)` finds every line `NAME = [...]` (or `NAME = number`) of the page's
```text blocks; `forward_backward(arrays)` runs the page's inputs through digitnet's own
layers.  tests/test_worked_example.py holds the two equal, and
make_worked_example_graph.py draws the second.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np

from digitnet.network import Dense, ReLU, SoftmaxCrossEntropy, softmax

PAGE = Path(__file__).resolve().parent.parent / "worked_example.md"
INPUTS = ("x", "y", "W1", "b1", "W2", "b2")
RESULTS = ("z1", "a1", "z2", "p", "L", "dz2", "dW2", "db2", "da1", "dz1", "dW1", "db1", "dx")
_BLOCK = re.compile(r"^```text\n(.*?)^```", re.MULTILINE | re.DOTALL)
_LINE = re.compile(r"^(?P<name>[A-Za-z]\w*)\s*=\s*(?P<value>\S.*)$")


def read_arrays(text: str) -> dict[str, np.ndarray]:
    """Every `NAME = value` line in the page's ```text blocks, as float arrays
    (y as ints).  A name given twice is an error: the page must say one thing."""
    found: dict[str, np.ndarray] = {}
    for block in _BLOCK.findall(text):
        for line in block.splitlines():
            match = _LINE.match(line.strip())
            if not match:
                continue
            name = match.group("name")
            if name in found:
                raise ValueError(f"{name} is given twice on the page")
            value = np.array(ast.literal_eval(match.group("value")))
            found[name] = value.astype(np.int64 if name == "y" else np.float64)
    return found


_STEP = re.compile(r"^ {4}(?P<name>[A-Za-z]\w*)\[(?P<index>[\d, ]+)\] = .*= *(?P<value>[^=]+)$")


def read_steps(text: str) -> list[tuple[str, tuple[int, ...], np.ndarray]]:
    """The worked steps of the page, such as `    dW2[0, 0] = 2(0.476287) + ... = 0.857751`:
    (name, index, the value after the last '=') for each indented line of that form."""
    steps = []
    for line in text.splitlines():
        match = _STEP.match(line)
        if match:
            index = tuple(int(part) for part in match.group("index").split(","))
            value = np.array(ast.literal_eval(match.group("value").strip()), dtype=np.float64)
            steps.append((match.group("name"), index, value))
    return steps


def read_page(path: Path = PAGE) -> dict[str, np.ndarray]:
    return read_arrays(path.read_text(encoding="utf-8"))


def forward_backward(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One forward and one backward pass of Dense, ReLU, Dense and the loss on the
    page's inputs, in float64; every intermediate array, named as on the page."""
    hidden = Dense(arrays["W1"].copy(), arrays["b1"].copy())
    relu = ReLU()
    output = Dense(arrays["W2"].copy(), arrays["b2"].copy())
    x, y = arrays["x"], arrays["y"]
    z1 = hidden.forward(x)
    a1 = relu.forward(z1)
    z2 = output.forward(a1)
    dz2 = SoftmaxCrossEntropy.delta(z2, y)
    da1 = output.backward(dz2)
    dz1 = relu.backward(da1)
    dx = hidden.backward(dz1, input_grad=True)
    return {
        "z1": z1,
        "a1": a1,
        "z2": z2,
        "p": softmax(z2),
        "L": np.array(SoftmaxCrossEntropy.fn(z2, y)),
        "dz2": dz2,
        "dW2": output.weight_grad.copy(),
        "db2": output.bias_grad.copy(),
        "da1": da1,
        "dz1": dz1,
        "dW1": hidden.weight_grad.copy(),
        "db1": hidden.bias_grad.copy(),
        "dx": dx,
    }
