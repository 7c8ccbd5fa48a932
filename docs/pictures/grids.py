"""Drawing helpers for the pictures in docs/pictures: arrays as grids of numbered cells."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import FancyArrowPatch, Rectangle

COLORS = ("#e4572e", "#2e86ab", "#76b041", "#a66dd4")  # one per window
PALE = ("#fbd9cf", "#cfe6f2", "#dcefcb", "#eadcf6")


def grid(
    ax: Axes,
    left: float,
    top: float,
    values: np.ndarray,
    cell: float = 1.0,
    fill: Callable[[int, int], str] | None = None,
    text: Callable[[float], str] = lambda v: f"{v + 0.0:g}",  # + 0.0: no "-0"
    fontsize: float = 11,
) -> None:
    """Draw a 2-D array with its top-left corner at (left, top), one cell per entry.
    `fill(row, col)` colours a cell; `text(value)` writes it."""
    rows, cols = values.shape
    for r in range(rows):
        for c in range(cols):
            colour = fill(r, c) if fill else "white"
            ax.add_patch(Rectangle((left + c * cell, top - (r + 1) * cell), cell, cell,
                                   fc=colour, ec="#555", lw=0.8))  # fmt: skip
            ax.text(left + (c + 0.5) * cell, top - (r + 0.5) * cell, text(values[r, c]),
                    ha="center", va="center", fontsize=fontsize)  # fmt: skip


def outline(ax: Axes, left: float, top: float, row: int, col: int, size: int, colour: str,
            inset: float = 0.0, cell: float = 1.0, lw: float = 2.5) -> None:  # fmt: skip
    """A coloured frame around a size x size block of a grid drawn by `grid`."""
    ax.add_patch(Rectangle((left + col * cell + inset, top - (row + size) * cell + inset),
                           size * cell - 2 * inset, size * cell - 2 * inset, fill=False,
                           ec=colour, lw=lw))  # fmt: skip


def arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float], label: str = "",
          colour: str = "#333", rad: float = 0.0) -> None:  # fmt: skip
    """An arrow from start to end, its label above the middle."""
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=16, lw=1.5,
                                 color=colour, connectionstyle=f"arc3,rad={rad}"))  # fmt: skip
    if label:
        middle = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + 0.25)
        ax.text(*middle, label, ha="center", va="bottom", fontsize=10, color=colour)
