"""Pictures of the data itself: what the images look like before any learning.

Each picture names the classes the way the data does: digits by their digit,
Fashion-MNIST by 'Trouser', 'Bag'..., KMNIST by its characters' readings
(`Dataset.class_names`), and titles say 'digit' only for digits (`Dataset.noun`).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from digitnet.data.dataset import CLASSES, Dataset
from digitnet.pictures.canvas import DIGIT_COLORS, new_figure, show_digit

LONG_NAME = 3  # characters: class names longer than this are tilted so neighbours do not overlap


def examples_grid(dataset: Dataset, per_class: int = 10) -> Figure:
    """One row per class: its first `per_class` images in the data."""
    labels = _labels(dataset)
    figure = new_figure(per_class * 0.8, CLASSES * 0.8 + 0.4)
    grid = figure.subplots(CLASSES, per_class, squeeze=False)
    for label in range(CLASSES):
        rows = np.flatnonzero(labels == label)[:per_class]
        for column in range(per_class):
            axes = grid[label, column]
            if column < len(rows):
                show_digit(axes, dataset.images[rows[column]])
            else:
                axes.axis("off")
            if column == 0:
                axes.set_ylabel(dataset.class_names[label], rotation=0, ha="right",
                                va="center", labelpad=6, fontsize=11)  # fmt: skip
    figure.suptitle(f"Examples of each {dataset.noun}")
    return figure


def class_counts(dataset: Dataset) -> Figure:
    """A bar per class: how many images of it the data holds."""
    counts = np.bincount(_labels(dataset), minlength=CLASSES)
    figure = new_figure(6, 3.5)
    axes = figure.add_subplot()
    bars = axes.bar(range(CLASSES), counts, color=DIGIT_COLORS)
    axes.bar_label(bars, fontsize=8)
    tick_labels(axes, dataset.class_names)
    axes.set_xlabel(dataset.noun)
    axes.set_ylabel("images")
    axes.set_title(f"Images per {dataset.noun} ({len(dataset)} in all)")
    return figure


def average_digits(dataset: Dataset) -> Figure:
    """The mean image of each class: where its ink usually falls."""
    labels = _labels(dataset)
    figure = new_figure(10, 1.6)
    grid = figure.subplots(1, CLASSES)
    for label, axes in enumerate(grid):
        members = dataset.images[labels == label]
        mean = members.mean(axis=0) if len(members) else np.zeros(dataset.images.shape[1])
        name = dataset.class_names[label]
        between = " " if len(name) <= LONG_NAME else "\n"  # a long name over its count fits
        show_digit(axes, mean, title=f"{name}{between}(n={len(members)})")
    digits = dataset.noun == "digit"  # "the average T-shirt/top..." reads oddly as a title
    figure.suptitle("The average digit" if digits else "The average image of each class")
    return figure


def tick_labels(axes, names: tuple[str, ...], axis: str = "x") -> None:
    """Label ticks 0, 1, ... of `axes` by class name; long names along x are tilted.

    Digits fit under their bars upright, but 'T-shirt/top' beside 'Trouser' would
    run into it, so long names are turned 45 degrees and anchored at their end,
    which keeps each one pointing at its own tick.
    """
    ticks = range(len(names))
    if axis == "y":
        axes.set_yticks(ticks, names)
        return
    if max(map(len, names), default=0) <= LONG_NAME:
        axes.set_xticks(ticks, names)
    else:
        axes.set_xticks(ticks, names, rotation=45, ha="right", rotation_mode="anchor")


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
        return np.zeros(len(dataset), dtype=np.int64) - 1  # no class matches
    return dataset.labels
