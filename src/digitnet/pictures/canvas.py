"""Figures without pyplot: work on a server, in a terminal, and in Jupyter alike.

Every picture function in this package returns a `matplotlib.figure.Figure`
built directly (not through pyplot), so no GUI backend or display is ever
needed; in Jupyter, after `%matplotlib inline`, a cell that ends with one shows it
(without that line, a kernel that never imported pyplot shows only its text form,
`<Figure size ...>`). `save_png` writes
one atomically at a fixed size: width x height inches at DPI dots per inch.
"""

from __future__ import annotations

import io
import os

import numpy as np
from matplotlib.figure import Figure

from digitnet.atomic import atomic_write

DPI = 100
DIGIT_COLORS = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
]  # fmt: skip


def new_figure(width: float, height: float) -> Figure:
    """A blank figure of width x height inches (x DPI pixels)."""
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def png_bytes(figure: Figure) -> bytes:
    """The figure encoded as PNG, at its own size (no tight cropping)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def save_png(figure: Figure, path: str | os.PathLike[str]) -> None:
    """Write the figure as a PNG file, atomically."""
    data = png_bytes(figure)
    with atomic_write(path) as stream:
        stream.write(data)


def as_image(pixels: np.ndarray) -> np.ndarray:
    """A flat 784-pixel row (or a 28x28 array) as a 28x28 array for imshow."""
    return np.asarray(pixels).reshape(28, 28)


def show_digit(axes, pixels: np.ndarray, title: str | None = None, **kwargs) -> None:
    """Draw one digit as ink on paper: 255 black, 0 white, no axes."""
    axes.imshow(as_image(pixels), cmap="gray_r", vmin=0, vmax=kwargs.pop("vmax", 255), **kwargs)
    axes.set_xticks([])
    axes.set_yticks([])
    if title is not None:
        axes.set_title(title, fontsize=9)


def tile_grid(count: int, columns: int, cell: tuple[float, float]) -> tuple[Figure, list]:
    """A figure with `count` small axes in rows of `columns` (cell: inches per tile),
    plus room for a title; tiles beyond `count` are hidden.  Returns (figure, tiles)."""
    rows = max(1, -(-count // columns))
    figure = new_figure(columns * cell[0], rows * cell[1] + 0.45)
    tiles = list(figure.subplots(rows, columns, squeeze=False).ravel())
    for spare in tiles[count:]:
        spare.axis("off")
    return figure, tiles[:count] or tiles[:1]
