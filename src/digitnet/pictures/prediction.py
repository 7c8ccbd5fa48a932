"""One prediction, explained: the image, the guess, and how sure the network is."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from digitnet.pictures.canvas import new_figure, show_digit

SHADES = " ░▒▓█"  # from background to full ink


def prediction_figure(
    pixels: np.ndarray, probabilities: np.ndarray, true_label: int | None = None
) -> Figure:
    """The 28x28 image beside a bar chart of the ten class probabilities."""
    predicted = int(np.argmax(probabilities))
    figure = new_figure(8, 3.5)
    image_axes, bar_axes = figure.subplots(1, 2, width_ratios=[1, 1.6])
    title = f"predicted {predicted}" + ("" if true_label is None else f", true {true_label}")
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
    bar_axes.set_xticks(range(len(probabilities)))
    bar_axes.set_ylim(0, 1.08)
    bar_axes.set_xlabel("digit")
    bar_axes.set_ylabel("probability")
    bar_axes.set_title("What the network thinks")
    return figure


def terminal_digit(pixels: np.ndarray) -> list[str]:
    """The digit as 28 lines of Unicode shade blocks, two characters per pixel."""
    image = np.asarray(pixels, dtype=np.float64).reshape(28, 28)
    levels = np.minimum((image / 256 * len(SHADES)).astype(int), len(SHADES) - 1)
    return ["".join(SHADES[level] * 2 for level in row) for row in levels]


def terminal_prediction(
    pixels: np.ndarray, probabilities: np.ndarray, true_label: int | None = None
) -> str:
    """The digit drawn in the terminal, with the top three guesses beside it."""
    drawing = terminal_digit(pixels)
    order = np.argsort(probabilities)[::-1][:3]
    notes = ["" for _ in drawing]
    notes[2] = "top guesses:"
    for rank, digit in enumerate(order):
        bar = "█" * int(round(probabilities[digit] * 20))
        notes[4 + 2 * rank] = f"  {digit}  {probabilities[digit]:6.1%}  {bar}"
    if true_label is not None:
        verdict = "right" if order[0] == true_label else "wrong"
        notes[11] = f"true label: {true_label} ({verdict})"
    border = "+" + "-" * 56 + "+"
    lines = [border] + [f"|{row}|   {note}" for row, note in zip(drawing, notes)] + [border]
    return "\n".join(line.rstrip() for line in lines)
