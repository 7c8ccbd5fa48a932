"""Pictures of the data itself: what the digits look like before any learning."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from digitnet.data.dataset import CLASSES, Dataset
from digitnet.pictures.canvas import DIGIT_COLORS, new_figure, show_digit


def examples_grid(dataset: Dataset, per_class: int = 10) -> Figure:
    """One row per digit: its first `per_class` images in the data."""
    labels = _labels(dataset)
    figure = new_figure(per_class * 0.8, CLASSES * 0.8 + 0.4)
    grid = figure.subplots(CLASSES, per_class, squeeze=False)
    for digit in range(CLASSES):
        rows = np.flatnonzero(labels == digit)[:per_class]
        for column in range(per_class):
            axes = grid[digit, column]
            if column < len(rows):
                show_digit(axes, dataset.images[rows[column]])
            else:
                axes.axis("off")
            if column == 0:
                axes.set_ylabel(str(digit), rotation=0, labelpad=10, fontsize=11)
    figure.suptitle("Examples of each digit")
    return figure


def class_counts(dataset: Dataset) -> Figure:
    """A bar per digit: how many images of it the data holds."""
    counts = np.bincount(_labels(dataset), minlength=CLASSES)
    figure = new_figure(6, 3.5)
    axes = figure.add_subplot()
    bars = axes.bar(range(CLASSES), counts, color=DIGIT_COLORS)
    axes.bar_label(bars, fontsize=8)
    axes.set_xticks(range(CLASSES))
    axes.set_xlabel("digit")
    axes.set_ylabel("images")
    axes.set_title(f"Images per digit ({len(dataset)} in all)")
    return figure


def average_digits(dataset: Dataset) -> Figure:
    """The mean image of each digit: where its ink usually falls."""
    labels = _labels(dataset)
    figure = new_figure(10, 1.6)
    grid = figure.subplots(1, CLASSES)
    for digit, axes in enumerate(grid):
        members = dataset.images[labels == digit]
        mean = members.mean(axis=0) if len(members) else np.zeros(dataset.images.shape[1])
        show_digit(axes, mean, title=f"{digit} (n={len(members)})")
    figure.suptitle("The average digit")
    return figure


def pixel_histogram(dataset: Dataset) -> Figure:
    """How often each pixel value 0..255 occurs (log scale: 0 dominates)."""
    counts = np.bincount(dataset.images.ravel(), minlength=256)
    figure = new_figure(6, 3.5)
    axes = figure.add_subplot()
    axes.bar(np.arange(256), counts, width=1.0, color="#444444")
    axes.set_yscale("log")
    axes.set_xlim(-1, 256)
    axes.set_xlabel("pixel value (0 = background, 255 = full ink)")
    axes.set_ylabel("pixels (log scale)")
    blank = counts[0] / counts.sum()
    axes.set_title(f"Pixel values: {blank:.0%} are blank background")
    return figure


def _labels(dataset: Dataset) -> np.ndarray:
    if dataset.labels is None:
        return np.zeros(len(dataset), dtype=np.int64) - 1  # no digit matches
    return dataset.labels
