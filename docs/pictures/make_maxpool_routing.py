"""Draw docs/pictures/maxpool_routing.png: max pooling routes each window's gradient to
the input that held its maximum; where windows overlap, a pixel sums what it receives.

Every number is computed by digitnet's own MaxPool2D (src/digitnet/network/conv.py).

    PYTHONPATH=src python docs/pictures/make_maxpool_routing.py [OUT.png]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from digitnet.network import MaxPool2D

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grids import COLORS, PALE, arrow, grid, outline  # noqa: E402

OUT = Path(__file__).resolve().parent / "maxpool_routing.png"
WINNER = "#fff3c4"


def _panel(ax, bottom: float, x: np.ndarray, size: int, stride: int, a_grad: np.ndarray,
           title: str, note: str) -> None:  # fmt: skip
    """One row: x with its windows, a = maxpool(x), da, and x_grad = backward(da)."""
    pool = MaxPool2D(size, stride)
    a = pool.forward(x[None, :, :, None])[0, :, :, 0]
    x_grad = pool.backward(a_grad[None, :, :, None])[0, :, :, 0]
    side = a.shape[0]
    top = bottom + x.shape[0]
    winners = np.zeros(x.shape, dtype=bool)
    for i in range(side):
        for j in range(side):
            window = x[stride * i : stride * i + size, stride * j : stride * j + size]
            dy, dx = np.unravel_index(np.argmax(window), window.shape)  # the first maximum
            winners[stride * i + dy, stride * j + dx] = True

    ax.text(0.5, top + 1.9, title, fontsize=14, weight="bold", va="top")
    ax.text(0.5, top + 0.6, f"x, windows of {size}x{size}, stride {stride}", fontsize=11)
    grid(ax, 0.5, top, x, fill=lambda r, c: WINNER if winners[r, c] else "white")
    for w in range(side * side):
        i, j = divmod(w, side)
        outline(ax, 0.5, top, stride * i, stride * j, size, COLORS[w], inset=0.06 + 0.07 * w)
    left_a = 7.0
    ax.text(left_a, top + 0.6, "a = max of each window", fontsize=11)
    grid(ax, left_a, top, a, fill=lambda r, c: PALE[r * side + c])
    arrow(ax, (0.8 + x.shape[1], top - 1), (left_a - 0.3, top - 1), "max")

    left_da = 12.5
    ax.text(left_da, top + 0.6, "da, from the layer above", fontsize=11, color="#c62828")
    grid(ax, left_da, top, a_grad, fill=lambda r, c: PALE[r * side + c])
    left_g = 18.5
    ax.text(left_g, top + 0.6, "x_grad: da routed to each maximum", fontsize=11,
            color="#c62828")  # fmt: skip
    grid(ax, left_g, top, x_grad, fill=lambda r, c: WINNER if winners[r, c] else "white")
    arrow(ax, (left_da + side + 0.3, top - 1), (left_g - 0.3, top - 1), "route")
    ax.text(left_g + x.shape[1] + 0.4, top - 0.2, note, fontsize=10.5, va="top")


def main(out: Path = OUT) -> None:
    fig = Figure(figsize=(15, 8.2))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 30)
    ax.set_ylim(0.8, 17.2)
    ax.axis("off")
    x = np.array([[1, 3, 2, 0], [4, 2, 1, 5], [0, 1, 7, 2], [6, 2, 3, 3]], dtype=np.float64)
    _panel(ax, 10.5, x, 2, 2, np.array([[0.1, -0.2], [0.3, 0.4]]),
           "Max pooling, 2x2 windows, stride 2: max routes",
           "Each window sends its gradient\nto the one input that won\n(yellow); the other three "
           "get 0.\nMoving a loser a little does\nnot move the maximum.")  # fmt: skip
    overlapping = np.array([[1, 2, 0], [3, 9, 1], [0, 2, 4]], dtype=np.float64)
    _panel(ax, 1.5, overlapping, 2, 1, np.array([[0.1, -0.2], [0.3, 0.4]]),
           "Overlapping windows, 2x2, stride 1: a pixel sums what it receives",
           "9 is the maximum of all four\nwindows, so it receives all four\ngradients: "
           "0.1 - 0.2 + 0.3 + 0.4\n= 0.6 (the code's +=).")  # fmt: skip
    fig.savefig(out, dpi=100)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
