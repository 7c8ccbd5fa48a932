"""One prediction, explained: the image, the guess, and how sure the network is."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from digitnet.data.dataset import DIGITS, class_noun
from digitnet.pictures.canvas import new_figure, show_digit
from digitnet.pictures.data_pictures import tick_labels
from digitnet.pictures.inputs import class_index, one_image, probability_table

SHADES = " ░▒▓█"  # from background to full ink


def prediction_figure(
    pixels: np.ndarray,
    probabilities: np.ndarray,
    true_label: int | None = None,
    class_names: tuple[str, ...] = DIGITS,
) -> Figure:
    """The 28x28 image beside a bar chart of the ten class probabilities.

    `class_names` name the bars and the guess ('predicted Trouser'); a model's
    own names are `Model.class_names`.  `pixels` may be anything `Model.predict`
    reads (0..255, or 0..1 floats; (784,), (28, 28) or a batch of one), and
    `probabilities` the (1, 10) that `predict_proba` gives for it.
    """
    pixels = one_image(pixels)
    probabilities = probability_table(probabilities, 1, len(class_names))[0]
    true_label = class_index(true_label, class_names, "true_label")
    predicted = int(np.argmax(probabilities))
    figure = new_figure(8, 3.5)
    image_axes, bar_axes = figure.subplots(1, 2, width_ratios=[1, 1.6])
    title = f"predicted {class_names[predicted]}"
    title += "" if true_label is None else f", true {class_names[true_label]}"
    show_digit(image_axes, pixels, title=title)
    colors = ["#9e9e9e"] * len(probabilities)
    if true_label is not None:
        colors[true_label] = "#2ca02c"  # green: the right answer
    if true_label is not None and predicted != true_label:
        colors[predicted] = "#d62728"  # red: a wrong guess
    elif true_label is None:
        colors[predicted] = "#1f77b4"
    bars = bar_axes.bar(range(len(probabilities)), probabilities, color=colors)
    bar_axes.bar_label(bars, labels=[f"{p:.0%}" if p >= 0.01 else "" for p in probabilities],
                       fontsize=8)  # fmt: skip
    tick_labels(bar_axes, class_names)
    bar_axes.set_ylim(0, 1.08)
    bar_axes.set_xlabel(class_noun(class_names))
    bar_axes.set_ylabel("probability")
    bar_axes.set_title("What the network thinks")
    return figure


def terminal_digit(pixels: np.ndarray) -> list[str]:
    """The digit as 28 lines of Unicode shade blocks, two characters per pixel."""
    image = one_image(pixels).astype(np.float64).reshape(28, 28)
    levels = np.minimum((image / 256 * len(SHADES)).astype(int), len(SHADES) - 1)
    return ["".join(SHADES[level] * 2 for level in row) for row in levels]


def terminal_prediction(
    pixels: np.ndarray,
    probabilities: np.ndarray,
    true_label: int | None = None,
    class_names: tuple[str, ...] = DIGITS,
) -> str:
    """The image drawn in the terminal, with the top three guesses beside it, by name.

    Names are padded to a common width so the percentages line up in a column;
    for digits that reproduces the plain '  7   93.1%' layout.  The inputs are
    read as `prediction_figure` reads them.
    """
    probabilities = probability_table(probabilities, 1, len(class_names))[0]
    true_label = class_index(true_label, class_names, "true_label")
    drawing = terminal_digit(pixels)
    order = np.argsort(probabilities)[::-1][:3]
    width = max(map(len, class_names))
    notes = ["" for _ in drawing]
    notes[2] = "top guesses:"
    for rank, label in enumerate(order):
        bar = "█" * int(round(probabilities[label] * 20))
        name = class_names[label].ljust(width)
        notes[4 + 2 * rank] = f"  {name}  {probabilities[label]:6.1%}  {bar}"
    if true_label is not None:
        verdict = "right" if order[0] == true_label else "wrong"
        notes[11] = f"true label: {class_names[true_label]} ({verdict})"
    border = "+" + "-" * 56 + "+"
    lines = [border] + [f"|{row}|   {note}" for row, note in zip(drawing, notes)] + [border]
    return "\n".join(line.rstrip() for line in lines)
