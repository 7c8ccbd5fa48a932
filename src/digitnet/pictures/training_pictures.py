"""The training curve, from the history every model file keeps."""

from __future__ import annotations

from matplotlib.figure import Figure

from digitnet.pictures.canvas import new_figure


def training_curves(history: dict[str, list], full_batch: bool = False) -> Figure:
    """Loss and accuracy, train and dev, at each measurement (epoch or iteration)."""
    steps = history.get("epoch", [])
    figure = new_figure(9, 3.6)
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    has_dev = any(value == value for value in history.get("dev_loss", []))  # not all nan
    for axes, key, name in ((loss_axes, "loss", "loss"), (accuracy_axes, "accuracy", "accuracy")):
        axes.plot(steps, history.get(f"train_{key}", []), marker=".", label="train")
        if has_dev:
            axes.plot(steps, history[f"dev_{key}"], marker=".", label="dev")
        axes.set_xlabel("iteration" if full_batch else "epoch")
        axes.set_ylabel(name)
        axes.grid(alpha=0.3)
        axes.legend()
    loss_axes.set_title("Loss (cross-entropy): lower is better")
    accuracy_axes.set_title("Accuracy: higher is better")
    if not steps:
        loss_axes.text(0.5, 0.5, "no measurements", ha="center", transform=loss_axes.transAxes)
    return figure
