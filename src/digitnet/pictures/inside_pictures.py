"""Inside the network: what the first layer looks for, and how hidden layers see the data."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from digitnet.data.dataset import CLASSES
from digitnet.model import Model
from digitnet.pictures.canvas import DIGIT_COLORS, new_figure, show_digit, tile_grid
from digitnet.pictures.pca import fit_pca


def first_layer_weights(model: Model, units: int = 64) -> Figure:
    """Each first-layer unit's 784 incoming weights as a 28x28 image.

    Red pixels push the unit's input up when inked, blue pull it down: the unit
    responds to ink where its image is red and no ink where it is blue.  For wide
    layers, the `units` with the largest weights are shown.
    """
    weight = model.network.dense_layers[0].weight  # (784, hidden)
    norms = np.linalg.norm(weight, axis=0)
    shown = np.sort(np.argsort(-norms)[:units])
    columns = min(len(shown), 10 if len(shown) <= 10 else 8)
    figure, tiles = tile_grid(len(shown), columns, cell=(1.2, 1.3))
    for axes, unit in zip(tiles, shown):
        limit = np.abs(weight[:, unit]).max() or 1.0
        axes.imshow(weight[:, unit].reshape(28, 28), cmap="RdBu_r", vmin=-limit, vmax=limit)
        axes.set_xticks([])
        axes.set_yticks([])
        axes.set_title(f"unit {unit}", fontsize=8)
    total = weight.shape[1]
    which = "all" if len(shown) == total else f"the {len(shown)} strongest of"
    figure.suptitle(f"First-layer weights: {which} {total} units (red +, blue -)")
    return figure


def hidden_activations_figure(model: Model, pixels: np.ndarray, label: int | None = None) -> Figure:
    """One input, and the activation of every unit of every hidden layer for it."""
    inputs = model.preprocessing.apply(pixels.reshape(1, -1), model.network.dtype)
    layers = model.network.hidden_activations(inputs)
    probabilities = model.network.predict_proba(inputs)[0]
    figure = new_figure(9, 1.8 + 1.6 * (len(layers) + 1))
    grid = figure.subplots(len(layers) + 1, 2, width_ratios=[1, 5], squeeze=False)
    show_digit(grid[0, 0], pixels, title="input" + ("" if label is None else f" ({label})"))
    grid[0, 1].bar(range(CLASSES), probabilities, color=DIGIT_COLORS)
    grid[0, 1].set_xticks(range(CLASSES))
    grid[0, 1].set_title(f"output: probabilities (predicted {int(np.argmax(probabilities))})")
    for index, activation in enumerate(layers, start=1):
        grid[index, 0].axis("off")
        values = activation[0]
        grid[index, 1].bar(range(len(values)), values, width=1.0, color="#444444")
        active = np.count_nonzero(values > 0)
        grid[index, 1].set_title(
            f"hidden layer {index}: {len(values)} units, {active} active (> 0)", fontsize=9
        )
        grid[index, 1].set_xlim(-0.5, len(values) - 0.5)
    return figure


def hidden_map(model: Model, images: np.ndarray, labels: np.ndarray, layer: int = -1) -> Figure:
    """A 2-D map (PCA) of one hidden layer's representations, coloured by label.

    If the digits form separate clusters here, the layer has made them easy for
    the output layer to tell apart.
    """
    inputs = model.preprocessing.apply(images, model.network.dtype)
    hidden = model.network.hidden_activations(inputs)
    if not hidden:
        raise ValueError("the network has no hidden layer")
    representation = hidden[layer]
    pca = fit_pca(representation, components=2)
    points = pca.project(representation)
    share = pca.explained_variance / max(np.var(representation, axis=0, ddof=1).sum(), 1e-12)
    figure = new_figure(6.5, 6)
    axes = figure.add_subplot()
    for digit in range(CLASSES):
        members = labels == digit
        axes.scatter(points[members, 0], points[members, 1], s=4, alpha=0.6,
                     color=DIGIT_COLORS[digit], label=str(digit))  # fmt: skip
    axes.legend(markerscale=3, fontsize=8, title="digit", loc="best")
    axes.set_xlabel(f"component 1 ({share[0]:.0%} of variance)")
    axes.set_ylabel(f"component 2 ({share[1]:.0%} of variance)")
    number = len(hidden) if layer == -1 else layer % len(hidden) + 1
    axes.set_title(
        f"Hidden layer {number} ({representation.shape[1]} units), PCA of {len(images)} images"
    )
    return figure
