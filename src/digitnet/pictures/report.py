"""One report: every picture as a PNG, plus a self-contained index.html.

The HTML embeds each picture as base64 data, so the one file opens in any
browser, offline, with nothing else beside it; each picture has a caption that
says what to look for.
"""

from __future__ import annotations

import base64
import html
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from tqdm import tqdm

from digitnet.atomic import atomic_write, output_folder
from digitnet.data.dataset import Dataset
from digitnet.data.recorded import data_checksum
from digitnet.errors import DigitnetError
from digitnet.metrics import confusion_matrix
from digitnet.model import Model
from digitnet.pictures import data_pictures, evaluation_pictures, inside_pictures
from digitnet.pictures.canvas import png_bytes
from digitnet.pictures.prediction import prediction_figure
from digitnet.pictures.training_pictures import training_curves

MAP_IMAGES = 2000  # points in the hidden-layer map: enough to see clusters, few enough to read


@dataclass(frozen=True)
class Picture:
    file: str
    section: str
    title: str
    caption: str
    draw: Callable[[], Figure]


def build_report(
    model: Model,
    dataset: Dataset,
    out: str | os.PathLike[str],
    progress: bool | None = None,
    warning: str | None = None,
) -> list[Path]:
    """Write every picture of `model` on labelled `dataset` into folder `out`, plus index.html.

    `warning` is shown under the accuracy: that the images include ones the model
    trained on, for instance (`digitnet report` checks image by image; see
    interfaces/training_data.py).  None: the report says so itself when `dataset`
    is the very data the model was trained on.

    Returns the paths written, index.html last.
    """
    if dataset.labels is None:
        raise DigitnetError(f"{dataset.source}: has no labels; a report needs labelled data")
    existed = Path(out).is_dir()
    folder = output_folder(out)
    staging: Path | None = None
    try:
        # Every picture is drawn before any file is written: stopped while drawing (the
        # long part), the folder keeps what it held, an earlier report whole.
        pictures, accuracy = _pictures(model, dataset, progress)
        quiet = None if progress is None else not progress
        drawn = [(picture, png_bytes(picture.draw()))
                 for picture in tqdm(pictures, desc="report", disable=quiet)]  # fmt: skip
        embedded = [(picture, base64.b64encode(data).decode("ascii")) for picture, data in drawn]
        files = [(picture.file, data) for picture, data in drawn]
        page = _html(model, dataset, accuracy, embedded, warning)
        # as atomic_write writes text: a file name's own bytes (surrogates) kept as they are
        files.append(("index.html", page.encode("utf-8", "surrogateescape")))
        # Then every file is written in full beside the report (a full disk stops here,
        # the report as it was), and only then moved in, the page last: moving a file
        # within a folder needs no room on the disk.
        staging = Path(tempfile.mkdtemp(prefix=".digitnet-report-", dir=folder))
        for name, data in files:
            with atomic_write(staging / name) as stream:
                stream.write(data)
    except BaseException:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        if not existed and not any(folder.iterdir()):
            folder.rmdir()  # made for this report, still empty: not left behind
        raise
    try:
        for name, _ in files:
            os.replace(staging / name, folder / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [folder / name for name, _ in files]


def _pictures(model: Model, dataset: Dataset, progress: bool | None) -> tuple[list[Picture], float]:
    """The pictures to draw (drawn later, one by one), and the accuracy on `dataset`."""
    images, labels = dataset.images, dataset.labels
    assert labels is not None
    probabilities = model.predict_proba(images, progress=progress)
    predicted = probabilities.argmax(axis=1)
    confusion = confusion_matrix(predicted, labels)
    sample = np.random.default_rng(0).permutation(len(images))[:MAP_IMAGES]
    example = int(sample[0])
    full_batch = model.recipe.get("batch_size", 0) is None
    hidden = model.network.hidden_activations(
        model.preprocessing.apply(images[:1], model.network.dtype)
    )
    has_hidden = any(activation.ndim == 2 for activation in hidden)
    names, noun = dataset.class_names, dataset.noun
    # Captions are written for digits; for other data (clothes, characters) the
    # digit-specific asides are dropped and "digit" becomes "class".
    digits = noun == "digit"
    nouns = "digits" if digits else "classes"
    pictures = [
        Picture("examples.png", "The data", f"Examples of each {noun}",
                f"Ten images of every {noun} as the network sees them (28x28 pixels). "
                + ("Look at how differently people write the same digit." if digits else
                   "Look at how different the images of one class can be."),
                lambda: data_pictures.examples_grid(dataset)),
        Picture("class_counts.png", "The data", f"Images per {noun}",
                f"How many images of each {noun} the data holds. Roughly equal bars mean no "
                f"{noun} is favoured just by being common.",
                lambda: data_pictures.class_counts(dataset)),
        Picture("average_digits.png", "The data",
                "The average digit" if digits else "The average image of each class",
                f"Each {noun}'s images averaged pixel by pixel. Dark is where that {noun}'s ink "
                "usually falls; blur shows how much "
                + ("the handwriting varies." if digits else "its images vary."),
                lambda: data_pictures.average_digits(dataset)),
        Picture("pixel_histogram.png", "The data", "Pixel values",
                "How often each brightness occurs. Most pixels are blank background (0); ink "
                "piles up near 255 with soft edges in between.",
                lambda: data_pictures.pixel_histogram(dataset)),
        Picture("training_curves.png", "Training", "Training curves",
                "Loss and accuracy during training, on the training rows and the held-out dev "
                "rows. A dev curve that flattens or turns up while train keeps improving means "
                "the network has started memorising.",
                lambda: training_curves(model.history, full_batch)),
        Picture("confusion_matrix.png", "Evaluation", "Confusion matrix",
                f"Row: the true {noun}; column: what the network said. The diagonal is right; "
                f"large numbers off it show which {nouns} get mixed up"
                + (" (4 and 9, 3 and 5...)." if digits else "."),
                lambda: evaluation_pictures.confusion_heatmap(confusion, names)),
        Picture("precision_recall.png", "Evaluation", f"Precision and recall per {noun}",
                f"Recall: of the images of a {noun}, the share recognised. Precision: of the "
                f"images called that {noun}, the share that were. The lowest bars are the "
                "network's weak spots.",
                lambda: evaluation_pictures.precision_recall_bars(confusion, names)),
        Picture("confident_mistakes.png", "Evaluation", "Most confident mistakes",
                "Wrong answers the network was surest of. Some are genuinely ambiguous or "
                "mislabelled; others show what the network has not understood.",
                lambda: evaluation_pictures.confident_mistakes(
                    images, labels, probabilities, class_names=names)),
        Picture("reliability.png", "Evaluation", "Reliability",
                "Predictions grouped by confidence; the top row counts the predictions in "
                "each group. On the diagonal the network is right as often as it is sure; "
                "below it, overconfident.",
                lambda: evaluation_pictures.reliability_diagram(probabilities, labels)),
        Picture("prediction.png", "One prediction", f"Image {example}, explained",
                f"One image with the probability the network gives each {noun}. A tall single "
                "bar is a confident answer; several medium bars mean it hesitates.",
                lambda: prediction_figure(images[example], probabilities[example],
                                          int(labels[example]), model.class_names)),
    ]  # fmt: skip
    if model.network.is_convolutional:
        pictures += [
            Picture("first_layer_filters.png", "Inside the network", "First-layer filters",
                    "Each small image is one filter of the first convolution layer. It slides "
                    "over the image and responds where the ink under it matches its red pixels "
                    "and avoids its blue ones: edges at an angle, ends of strokes.",
                    lambda: inside_pictures.first_layer_weights(model)),
            Picture("feature_maps.png", "Inside the network", "Feature maps",
                    "The image above as each convolution layer sees it: one small map per "
                    "filter, bright where the filter found its pattern. Deeper layers have "
                    "smaller maps that respond to larger parts of the image.",
                    lambda: inside_pictures.feature_maps_figure(
                        model, images[example], int(labels[example]))),
        ]  # fmt: skip
    else:
        inked = images.any(axis=0)  # pixels with ink in some image: the only ones learned
        pictures.append(
            Picture("first_layer_weights.png", "Inside the network", "First-layer weights",
                    "Each small image is one first-layer unit's 784 weights laid out as the "
                    "image. Red pixels excite the unit when inked, blue ones inhibit it: these "
                    f"are the {'strokes' if digits else 'shapes'} the unit looks for. Pixels "
                    "blank in every image are left white: no image inks them, so training "
                    "never changed their weights (they keep their random start, at most "
                    "shrunk by weight decay) and their colours would be noise.",
                    lambda: inside_pictures.first_layer_weights(model, inked=inked)),
        )  # fmt: skip
    if has_hidden:
        pictures += [
            Picture("hidden_activations.png", "Inside the network", "Hidden activations",
                    "Every hidden unit's output for the image above. Units at 0 are silent "
                    "(ReLU); the pattern of active ones is what the next layer reads.",
                    lambda: inside_pictures.hidden_activations_figure(
                        model, images[example], int(labels[example]), names)),
            Picture("hidden_map.png", "Inside the network", "Hidden-layer map",
                    "The last hidden layer's outputs for up to 2,000 images, flattened to 2-D "
                    f"with PCA and coloured by true {noun}. Separate clusters mean the layer "
                    f"has made the {nouns} easy to tell apart.",
                    lambda: inside_pictures.hidden_map(model, images[sample], labels[sample],
                                                       class_names=names)),
        ]  # fmt: skip
    return pictures, float(np.mean(predicted == labels))


def _html(
    model: Model,
    dataset: Dataset,
    accuracy: float,
    sections: list[tuple[Picture, str]],
    warning: str | None = None,
) -> str:
    if warning is None:
        recorded = model.info.get("data_checksum")
        same = (recorded == data_checksum(dataset) if isinstance(recorded, str)
                else model.info.get("data_fingerprint") == dataset.fingerprint())  # fmt: skip
        warning = ("Note: these images include the ones the model was trained on, so this "
                   "accuracy is optimistic; digitnet report MODEL (or evaluate MODEL) "
                   "measures the rows it held out." if same else "")  # fmt: skip
    shown_warning = f"<p><b>{html.escape(warning)}</b></p>" if warning else ""
    dev = model.history.get("dev_accuracy", [])
    dev_text = f"{dev[-1]:.4f}" if dev and dev[-1] == dev[-1] else "none"  # nan: no dev set
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>digitnet report</title>",
        "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;"
        "color:#222}img{max-width:100%;border:1px solid #ddd}figure{margin:2em 0}"
        "figcaption{color:#444;margin-top:.5em}h2{border-bottom:1px solid #ccc}</style>",
        "</head><body>",
        "<h1>digitnet report</h1>",
        f"<p><b>Accuracy {accuracy:.4f}</b> on {html.escape(dataset.source)}, "
        "measured for this report.</p>",
        shown_warning,
        f"<p>Model: recipe <b>{html.escape(str(model.recipe.get('name', '?')))}</b>, "
        f"layers {html.escape(model.network.layer_spec)}; trained on "
        f"{html.escape(str(model.info.get('data', '?')))}, where its last dev accuracy "
        f"(on rows held out of training) was {dev_text}.</p>",
    ]
    section = None
    for picture, encoded in sections:
        if picture.section != section:
            section = picture.section
            parts.append(f"<h2>{html.escape(section)}</h2>")
        parts.append(
            f'<figure><img alt="{html.escape(picture.title)}" '
            f'src="data:image/png;base64,{encoded}">'
            f"<figcaption><b>{html.escape(picture.title)}.</b> "
            f"{html.escape(picture.caption)}</figcaption></figure>"
        )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
