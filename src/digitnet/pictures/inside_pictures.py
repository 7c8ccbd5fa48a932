"""Inside the network: what the first layer looks for, and how hidden layers see the data."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from digitnet.data.dataset import CLASSES, class_noun
from digitnet.model import Model, pixel_rows
from digitnet.network.conv import Conv2D
from digitnet.network.layers import Dense
from digitnet.pictures.canvas import DIGIT_COLORS, new_figure, show_digit, tile_grid
from digitnet.pictures.data_pictures import tick_labels
from digitnet.pictures.inputs import class_index, label_array, one_image
from digitnet.pictures.pca import fit_pca
from digitnet.wording import count


def first_layer_weights(model: Model, units: int = 64, inked: np.ndarray | None = None) -> Figure:
    """Each first-layer unit's 784 incoming weights as a 28x28 image, or for a
    CNN each first-layer filter's kernel (see `first_layer_filters`).

    Red pixels push the unit's input up when inked, blue pull it down: the unit
    responds to ink where its image is red and no ink where it is blue.  For wide
    layers, the `units` with the largest weights are shown.

    `inked` (784 booleans, e.g. `dataset.images.any(axis=0)`) marks the pixels
    that hold ink in some training image.  A pixel that is always 0 feeds 0 into
    every unit, so its weights get no gradient and keep their random starting
    values (only shrunk by weight decay, if any): noise that says nothing about
    what was learned.  Those pixels are drawn white (0), and each unit's colour
    scale is set by its inked pixels only, so the noise cannot wash them out.
    """
    first = model.network.layers[model.network.first_learning]
    if isinstance(first, Conv2D):
        return first_layer_filters(first)
    assert isinstance(first, Dense)
    weight = first.weight  # (784, hidden)
    norms = np.linalg.norm(weight, axis=0)
    shown = np.sort(np.argsort(-norms)[:units])
    columns = min(len(shown), 10 if len(shown) <= 10 else 8)
    figure, tiles = tile_grid(len(shown), columns, cell=(1.2, 1.3))
    learned = np.ones(weight.shape[0], bool) if inked is None else np.asarray(inked, bool).ravel()
    for axes, unit in zip(tiles, shown):
        drawn = np.where(learned, weight[:, unit], 0.0)
        limit = np.abs(drawn).max() or 1.0
        axes.imshow(drawn.reshape(28, 28), cmap="RdBu_r", vmin=-limit, vmax=limit)
        axes.set_xticks([])
        axes.set_yticks([])
        axes.set_title(f"unit {unit}", fontsize=8)
    total = weight.shape[1]
    which = "all" if len(shown) == total else f"the {len(shown)} strongest of"
    figure.suptitle(f"First-layer weights: {which} {total} units (red +, blue -)")
    return figure


def first_layer_filters(conv: Conv2D) -> Figure:
    """Each first-layer convolution filter's kernel, drawn as a small image.

    The filter slides over the digit and responds where the ink under it looks
    like its red pixels (and unlike its blue ones): edges at one angle, the end
    of a stroke, a bright blob.
    """
    kernel = conv.kernel.sum(axis=2)  # (kh, kw, filters): one gray input channel
    filters = kernel.shape[-1]
    figure, tiles = tile_grid(filters, min(filters, 8), cell=(1.0, 1.1))
    for axes, index in zip(tiles, range(filters)):
        limit = np.abs(kernel[:, :, index]).max() or 1.0
        axes.imshow(kernel[:, :, index], cmap="RdBu_r", vmin=-limit, vmax=limit)
        axes.set_xticks([])
        axes.set_yticks([])
        axes.set_title(f"filter {index}", fontsize=8)
    size = f"{kernel.shape[0]}x{kernel.shape[1]}"
    figure.suptitle(f"First-layer filters: {filters} kernels of {size} (red +, blue -)")
    return figure


def feature_maps_figure(
    model: Model, pixels: np.ndarray, label: int | None = None, per_layer: int = 8
) -> Figure:
    """One digit, and what each convolution layer's filters see in it.

    Each row is one convolution layer (after its activation): the first
    `per_layer` of its feature maps.  Bright is where the filter found its
    pattern.  Deeper layers have smaller maps that respond to larger parts.
    `pixels` is one image in any form `Model.predict` reads.
    """
    pixels = one_image(pixels, model.network.inputs)
    label = class_index(label, model.class_names)
    inputs = model.preprocessing.apply(pixels.reshape(1, -1), model.network.dtype)
    maps = [a[0] for a in model.network.hidden_activations(inputs) if a.ndim == 4]
    if not maps:
        raise ValueError("the network has no convolution layer")
    figure = new_figure(1.2 * (per_layer + 1), 1.4 * len(maps) + 0.6)
    grid = figure.subplots(len(maps), per_layer + 1, squeeze=False)
    for row, layer_maps in enumerate(maps):
        show_digit(grid[row, 0], pixels, title="input" if row == 0 else "")
        if row:
            grid[row, 0].axis("off")
        for column in range(per_layer):
            axes = grid[row, column + 1]
            axes.set_xticks([])
            axes.set_yticks([])
            if column < layer_maps.shape[-1]:
                axes.imshow(layer_maps[:, :, column], cmap="magma")
                axes.set_title(f"map {column}", fontsize=7)
            else:
                axes.axis("off")
        height, width, channels = layer_maps.shape
        grid[row, 1].set_ylabel(f"conv {row + 1}\n{height}x{width}x{channels}", fontsize=8)
    suffix = "" if label is None else f" (label {label})"
    figure.suptitle(f"Feature maps of one image{suffix}: what each convolution layer sees")
    return figure


def hidden_activations_figure(
    model: Model,
    pixels: np.ndarray,
    label: int | None = None,
    class_names: tuple[str, ...] | None = None,
) -> Figure:
    """One input, and the activation of every unit of every hidden Dense layer for it.

    The output bars are named by `class_names`, by default the model's own
    (`Model.class_names`: the digits unless it was trained on other classes).
    `pixels` is one image in any form `Model.predict` reads.
    """
    names = model.class_names if class_names is None else tuple(class_names)
    pixels = one_image(pixels, model.network.inputs)
    label = class_index(label, names)
    inputs = model.preprocessing.apply(pixels.reshape(1, -1), model.network.dtype)
    layers = [a for a in model.network.hidden_activations(inputs) if a.ndim == 2]
    probabilities = model.network.predict_proba(inputs)[0]
    figure = new_figure(9, 1.8 + 1.6 * (len(layers) + 1))
    grid = figure.subplots(len(layers) + 1, 2, width_ratios=[1, 5], squeeze=False)
    show_digit(grid[0, 0], pixels, title="input" + ("" if label is None else f" ({names[label]})"))
    grid[0, 1].bar(range(CLASSES), probabilities, color=DIGIT_COLORS)
    tick_labels(grid[0, 1], names)
    predicted = names[int(np.argmax(probabilities))]
    grid[0, 1].set_title(f"output: probabilities (predicted {predicted})")
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


def hidden_map(
    model: Model,
    images: np.ndarray,
    labels: np.ndarray,
    layer: int = -1,
    class_names: tuple[str, ...] | None = None,
) -> Figure:
    """A 2-D map (PCA) of one hidden layer's representations, coloured by label.

    If the classes form separate clusters here, the layer has made them easy for
    the output layer to tell apart.  The legend names them by `class_names`, by
    default the model's own (`Model.class_names`).  `images` are read as
    `Model.predict` reads them ((m, 784) or (m, 28, 28), 0..255 or 0..1).
    """
    names = model.class_names if class_names is None else tuple(class_names)
    images = pixel_rows(images, model.network.inputs)
    labels = label_array(labels, len(images), names)
    inputs = model.preprocessing.apply(images, model.network.dtype)
    hidden = [a for a in model.network.hidden_activations(inputs) if a.ndim == 2]
    if not hidden:
        raise ValueError("the network has no hidden layer")
    representation = hidden[layer]
    pca = fit_pca(representation, components=2)
    points = pca.project(representation)
    ddof = 1 if len(representation) > 1 else 0  # as fit_pca divides: one image has no spread
    share = pca.explained_variance / max(np.var(representation, axis=0, ddof=ddof).sum(), 1e-12)
    figure = new_figure(6.5, 6)
    axes = figure.add_subplot()
    for label in range(CLASSES):
        members = labels == label
        axes.scatter(points[members, 0], points[members, 1], s=4, alpha=0.6,
                     color=DIGIT_COLORS[label], label=names[label])  # fmt: skip
    axes.legend(markerscale=3, fontsize=8, title=class_noun(names), loc="best")
    axes.set_xlabel(f"component 1 ({share[0]:.0%} of variance)")
    axes.set_ylabel(f"component 2 ({share[1]:.0%} of variance)")
    number = len(hidden) if layer == -1 else layer % len(hidden) + 1
    axes.set_title(
        f"Hidden layer {number} ({representation.shape[1]} units), PCA of "
        f"{count(len(images), 'image')}"
    )
    return figure
