"""Pictures of every stage: the data, one prediction, training, evaluation, the inside.

Each function returns a matplotlib Figure (in Jupyter, shown inline after
`%matplotlib inline`); `save_png` writes one to a file.
`digitnet.pictures.report.build_report` writes them all plus a self-contained
index.html.
"""

from __future__ import annotations

import os
from pathlib import Path

from digitnet.atomic import output_folder
from digitnet.data.dataset import Dataset
from digitnet.model import Model
from digitnet.pictures.canvas import save_png
from digitnet.pictures.data_pictures import (
    average_digits,
    class_counts,
    examples_grid,
    pixel_histogram,
)
from digitnet.pictures.evaluation_pictures import (
    confident_mistakes,
    confusion_heatmap,
    precision_recall_bars,
    reliability_diagram,
)
from digitnet.pictures.inside_pictures import (
    feature_maps_figure,
    first_layer_filters,
    first_layer_weights,
    hidden_activations_figure,
    hidden_map,
)
from digitnet.pictures.pca import PCA, fit_pca
from digitnet.pictures.prediction import prediction_figure, terminal_prediction
from digitnet.pictures.training_pictures import training_curves


def write_data_pictures(dataset: Dataset, folder: str | os.PathLike[str]) -> list[Path]:
    """examples.png, class_counts.png, average_digits.png, pixel_histogram.png in `folder`."""
    existed = Path(folder).is_dir()
    out = _folder(folder)
    drawings = {
        "examples.png": examples_grid,
        "class_counts.png": class_counts,
        "average_digits.png": average_digits,
        "pixel_histogram.png": pixel_histogram,
    }
    paths = []
    try:
        for name, draw in drawings.items():
            save_png(draw(dataset), out / name)
            paths.append(out / name)
    except BaseException:
        if not existed and not any(out.iterdir()):
            out.rmdir()  # made for these pictures, still empty: not left behind
        raise
    return paths


def save_training_curves(model: Model, folder: str | os.PathLike[str]) -> Path:
    """training_curves.png in `folder`, from the model's history."""
    path = _folder(folder) / "training_curves.png"
    save_png(training_curves(model.history, model.recipe.get("batch_size", 0) is None), path)
    return path


def _folder(folder: str | os.PathLike[str]) -> Path:
    return output_folder(folder)


__all__ = [
    "PCA",
    "average_digits",
    "class_counts",
    "confident_mistakes",
    "confusion_heatmap",
    "examples_grid",
    "feature_maps_figure",
    "first_layer_filters",
    "first_layer_weights",
    "fit_pca",
    "hidden_activations_figure",
    "hidden_map",
    "pixel_histogram",
    "precision_recall_bars",
    "prediction_figure",
    "reliability_diagram",
    "save_png",
    "save_training_curves",
    "terminal_prediction",
    "training_curves",
    "write_data_pictures",
]
