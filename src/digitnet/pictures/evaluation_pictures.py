"""How a trained model does on labelled data: where it is right, wrong, and how sure.

The pictures that name classes take `class_names` (default the digits '0'..'9';
`Dataset.class_names` or `Model.class_names` for other data) and then speak of
'classes' rather than 'digits'.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from digitnet.data.dataset import DIGITS, class_noun
from digitnet.metrics import calibration_bins, precision_recall
from digitnet.model import pixel_rows
from digitnet.pictures.canvas import DIGIT_COLORS, new_figure, show_digit, tile_grid
from digitnet.pictures.data_pictures import LONG_NAME, tick_labels
from digitnet.pictures.inputs import label_array, probability_table

COUNT_ROW = 1.05  # the height, in accuracy units, of the reliability diagram's row of counts


def confusion_heatmap(confusion: np.ndarray, class_names: tuple[str, ...] = DIGITS) -> Figure:
    """counts[true, predicted] as a heatmap with the count written in each cell."""
    figure = new_figure(6.5, 5.5)
    axes = figure.add_subplot()
    image = axes.imshow(np.log1p(confusion), cmap="Blues")
    classes = confusion.shape[0]
    for true in range(classes):
        for predicted in range(classes):
            count = confusion[true, predicted]
            dark = image.norm(np.log1p(count)) > 0.6
            axes.text(predicted, true, str(count), ha="center", va="center", fontsize=8,
                      color="white" if dark else "black")  # fmt: skip
    tick_labels(axes, class_names)
    tick_labels(axes, class_names, axis="y")
    noun = class_noun(class_names)
    axes.set_xlabel(f"predicted {noun}")
    axes.set_ylabel(f"true {noun}")
    right = np.trace(confusion) / max(confusion.sum(), 1)
    axes.set_title(f"Confusion matrix (accuracy {right:.2%}; colour: log count)")
    return figure


def precision_recall_bars(confusion: np.ndarray, class_names: tuple[str, ...] = DIGITS) -> Figure:
    """Per class: precision (of the images called c, how many were c) and recall
    (of the images of c, how many were called c)."""
    precision, recall = precision_recall(confusion)
    classes = np.arange(confusion.shape[0])
    figure = new_figure(7, 3.6)
    axes = figure.add_subplot()
    axes.bar(classes - 0.2, precision, width=0.4, label="precision", color="#1f77b4")
    axes.bar(classes + 0.2, recall, width=0.4, label="recall", color="#ff7f0e")
    low = np.nanmin(np.concatenate([precision, recall, [1.0]]))
    axes.set_ylim(max(0.0, low - 0.05), 1.0)
    tick_labels(axes, class_names)
    noun = class_noun(class_names)
    axes.set_xlabel(noun)
    axes.legend(loc="lower right")
    axes.set_title(f"Precision and recall per {noun}")
    return figure


def confident_mistakes(
    images: np.ndarray,
    labels: np.ndarray,
    probabilities: np.ndarray,
    count: int = 24,
    class_names: tuple[str, ...] = DIGITS,
) -> Figure:
    """The wrong predictions the network was most sure of, most confident first.

    Each tile is titled 'true→predicted confidence', by class name; long names
    ('T-shirt/top→' over 'Shirt') take two lines so they stay within their tile.
    `images` are read as `Model.predict` reads them (0..255, or 0..1 floats).
    """
    images = pixel_rows(images)
    labels = label_array(labels, len(images), class_names)
    probabilities = probability_table(probabilities, len(images), len(class_names))
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    order = wrong[np.argsort(-probabilities[wrong, predicted[wrong]])][:count]
    long = max(map(len, class_names)) > LONG_NAME
    figure, tiles = tile_grid(len(order), columns=8, cell=(1.1, 1.6 if long else 1.35))
    for axes, index in zip(tiles, order):
        confidence = probabilities[index, predicted[index]]
        true, guess = class_names[labels[index]], class_names[predicted[index]]
        arrow = "→\n" if long else "→"
        show_digit(axes, images[index], title=f"{true}{arrow}{guess} {confidence:.0%}")
    if len(order) == 0:
        tiles[0].axis("off")
        tiles[0].text(0, 0.5, "no mistakes", transform=tiles[0].transAxes)
    figure.suptitle("Most confident mistakes (true→predicted, confidence)")
    return figure


def reliability_diagram(probabilities: np.ndarray, labels: np.ndarray, bins: int = 10) -> Figure:
    """Accuracy against confidence: on the diagonal, the network is as sure as it is right.

    The numbers in the row along the top count the predictions in each bin: a bar
    built on a handful of predictions says little.
    """
    confidence, accuracy, counts = calibration_bins(probabilities, labels, bins)
    edges = np.linspace(0, 1, bins + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    figure = new_figure(5.5, 5)
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], linestyle="--", color="#888888", label="perfectly calibrated")
    filled = counts > 0
    axes.bar(centres[filled], accuracy[filled], width=1 / bins, edgecolor="black",
             color=DIGIT_COLORS[0], alpha=0.7, label="accuracy in bin")  # fmt: skip
    axes.plot(confidence[filled], accuracy[filled], marker="o", color="#d62728",
              label="mean confidence vs accuracy")  # fmt: skip
    # The counts get a row of their own above accuracy 1: written on the bars they
    # collided with the red line, which passes through the same heights.
    axes.axhline(1.0, color="#cccccc", linewidth=0.8)
    for centre, count in zip(centres[filled], counts[filled]):
        axes.text(centre, COUNT_ROW, str(count), ha="center", va="center", fontsize=7)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, COUNT_ROW + 0.05)
    axes.set_yticks(np.linspace(0, 1, 6))  # no tick in the counts' row: it is not an accuracy
    axes.set_xlabel("confidence (top probability)")
    axes.set_ylabel("accuracy")
    # upper left as before, but hung from accuracy 1 so it stays below the counts
    axes.legend(loc="upper left", bbox_to_anchor=(0, 1.0),
                bbox_transform=axes.get_yaxis_transform(), fontsize=8)  # fmt: skip
    axes.set_title("Reliability (top row: predictions per bin)")
    return figure
