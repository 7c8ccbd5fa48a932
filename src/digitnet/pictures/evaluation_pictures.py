"""How a trained model does on labelled data: where it is right, wrong, and how sure."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from digitnet.pictures.canvas import DIGIT_COLORS, new_figure, show_digit, tile_grid
from digitnet.training.metrics import calibration_bins, precision_recall


def confusion_heatmap(confusion: np.ndarray) -> Figure:
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
    axes.set_xticks(range(classes))
    axes.set_yticks(range(classes))
    axes.set_xlabel("predicted digit")
    axes.set_ylabel("true digit")
    right = np.trace(confusion) / max(confusion.sum(), 1)
    axes.set_title(f"Confusion matrix (accuracy {right:.2%}; colour: log count)")
    return figure


def precision_recall_bars(confusion: np.ndarray) -> Figure:
    """Per digit: precision (of the images called d, how many were d) and recall
    (of the images of d, how many were called d)."""
    precision, recall = precision_recall(confusion)
    classes = np.arange(confusion.shape[0])
    figure = new_figure(7, 3.6)
    axes = figure.add_subplot()
    axes.bar(classes - 0.2, precision, width=0.4, label="precision", color="#1f77b4")
    axes.bar(classes + 0.2, recall, width=0.4, label="recall", color="#ff7f0e")
    low = np.nanmin(np.concatenate([precision, recall, [1.0]]))
    axes.set_ylim(max(0.0, low - 0.05), 1.0)
    axes.set_xticks(classes)
    axes.set_xlabel("digit")
    axes.legend(loc="lower right")
    axes.set_title("Precision and recall per digit")
    return figure


def confident_mistakes(
    images: np.ndarray, labels: np.ndarray, probabilities: np.ndarray, count: int = 24
) -> Figure:
    """The wrong predictions the network was most sure of, most confident first."""
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    order = wrong[np.argsort(-probabilities[wrong, predicted[wrong]])][:count]
    figure, tiles = tile_grid(len(order), columns=8, cell=(1.1, 1.35))
    for axes, index in zip(tiles, order):
        confidence = probabilities[index, predicted[index]]
        show_digit(axes, images[index],
                   title=f"{labels[index]}→{predicted[index]} {confidence:.0%}")  # fmt: skip
    if len(order) == 0:
        tiles[0].axis("off")
        tiles[0].text(0, 0.5, "no mistakes", transform=tiles[0].transAxes)
    figure.suptitle("Most confident mistakes (true→predicted, confidence)")
    return figure


def reliability_diagram(probabilities: np.ndarray, labels: np.ndarray, bins: int = 10) -> Figure:
    """Accuracy against confidence: on the diagonal, the network is as sure as it is right."""
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
    for centre, acc, count in zip(centres[filled], accuracy[filled], counts[filled]):
        axes.text(centre, min(acc + 0.02, 1.02), str(count), ha="center", fontsize=7)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.06)
    axes.set_xlabel("confidence (top probability)")
    axes.set_ylabel("accuracy")
    axes.legend(loc="upper left", fontsize=8)
    axes.set_title("Reliability (numbers: predictions per bin)")
    return figure
