"""Pictures: written, valid, the right size, not blank; and the numbers drawn are the numbers."""

from __future__ import annotations

import base64
import dataclasses
import io
import re

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from digitnet.data import Dataset, load_data, load_sample, sources
from digitnet.data.dataset import DIGITS
from digitnet.data.dataset_table import FASHION_MNIST
from digitnet.data.digit_photo import centre_of_mass, prepare_digit
from digitnet.data.image_file import read_digit_image
from digitnet.errors import DigitnetError
from digitnet.interfaces.cli import main
from digitnet.metrics import confusion_matrix, precision_recall
from digitnet.model_file import load_model, save_model
from digitnet.pictures import (
    average_digits,
    class_counts,
    confident_mistakes,
    confusion_heatmap,
    examples_grid,
    first_layer_weights,
    fit_pca,
    hidden_activations_figure,
    hidden_map,
    precision_recall_bars,
    prediction_figure,
    reliability_diagram,
    terminal_prediction,
)
from digitnet.pictures.canvas import DPI, png_bytes
from digitnet.pictures.report import _pictures, build_report
from digitnet.recipes import FAST, run
from test_idx import idx_bytes


@pytest.fixture(scope="module")
def small_data(sample):
    return Dataset(sample.images[:1500], sample.labels[:1500], "first 1500 of the sample")


@pytest.fixture(scope="module")
def model(small_data):
    return run(FAST.with_overrides(epochs=3, hidden=(32,), dev_size=300), small_data,
               log=None, progress=False)  # fmt: skip


@pytest.fixture(scope="module")
def report(tmp_path_factory, model, small_data):
    folder = tmp_path_factory.mktemp("report")
    return folder, build_report(model, small_data, folder, progress=False)


def _png(path_or_bytes) -> np.ndarray:
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else path_or_bytes.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(io.BytesIO(data)) as image:
        image.verify()
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("L"))


def test_every_report_picture_is_a_valid_nonblank_png_of_its_size(report, model, small_data):
    folder, paths = report
    pictures, _ = _pictures(model, small_data, progress=False)
    assert [path.name for path in paths[:-1]] == [picture.file for picture in pictures]
    assert len(pictures) == 13
    for picture, path in zip(pictures, paths):
        width, height = picture.draw().get_size_inches() * DPI
        pixels = _png(path)
        assert pixels.shape == (round(height), round(width)), picture.file
        assert pixels.var() > 0, f"{picture.file} is blank"


def test_html_report_embeds_every_picture_and_nothing_external(report):
    folder, paths = report
    page = (folder / "index.html").read_text()
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert [base64.b64decode(data) for data in embedded] == [p.read_bytes() for p in paths[:-1]]
    references = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', page)
    assert all(ref.startswith("data:") for ref in references)
    text = re.sub(r"base64,[^\"]+", "base64,", page)  # the payloads may hold any letters
    assert "http" not in text and "<script" not in text and "url(" not in text
    assert page.count("<figcaption>") == len(paths) - 1


def test_confusion_heatmap_shows_the_computed_counts(model, small_data):
    predicted = model.predict(small_data.images)
    confusion = confusion_matrix(predicted, small_data.labels)
    axes = confusion_heatmap(confusion).axes[0]
    drawn = np.zeros_like(confusion)
    for text in axes.texts:
        column, row = text.get_position()
        drawn[int(row), int(column)] = int(text.get_text())
    np.testing.assert_array_equal(drawn, confusion)
    assert len(axes.texts) == 100


def test_precision_recall_bars_show_the_computed_values(model, small_data):
    confusion = confusion_matrix(model.predict(small_data.images), small_data.labels)
    precision, recall = precision_recall(confusion)
    axes = precision_recall_bars(confusion).axes[0]
    bars = [patch.get_height() for patch in axes.patches]
    np.testing.assert_allclose(bars[:10], precision)
    np.testing.assert_allclose(bars[10:], recall)
    by_hand = [np.mean(model.predict(small_data.images[small_data.labels == d]) == d)
               for d in range(10)]  # fmt: skip
    np.testing.assert_allclose(recall, by_hand)


def _synthetic_digit() -> np.ndarray:
    """A light '7' drawn on a dark 60x40 canvas, off-centre, as a grayscale array."""
    canvas = np.zeros((60, 40))
    canvas[8:12, 5:30] = 255  # the bar
    for step in range(40):  # the stem, slanting down-left
        row, column = 12 + step, 28 - step // 2
        canvas[row, column - 2 : column + 2] = 200
    return canvas


def test_dark_on_light_and_light_on_dark_give_the_same_input():
    light_on_dark = _synthetic_digit()
    dark_on_light = 255 - light_on_dark
    first, second = prepare_digit(light_on_dark), prepare_digit(dark_on_light)
    np.testing.assert_array_equal(first, second)
    assert first.shape == (784,) and first.dtype == np.uint8 and first.max() > 100


def test_digit_fits_a_20_pixel_box_centred_by_mass():
    image = prepare_digit(_synthetic_digit()).reshape(28, 28).astype(float)
    rows = np.flatnonzero(image.any(axis=1))
    columns = np.flatnonzero(image.any(axis=0))
    assert max(rows[-1] - rows[0] + 1, columns[-1] - columns[0] + 1) <= 21
    row, column = centre_of_mass(image)
    assert abs(row - 13.5) <= 1 and abs(column - 13.5) <= 1


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_image_files_are_read(tmp_path, suffix):
    path = tmp_path / f"digit{suffix}"
    Image.fromarray((255 - _synthetic_digit()).astype(np.uint8)).convert("RGB").save(path)
    pixels = read_digit_image(path)
    expected = prepare_digit(_synthetic_digit())
    if suffix == ".png":
        np.testing.assert_array_equal(pixels, expected)
    else:  # JPEG is lossy
        assert np.corrcoef(pixels.astype(float), expected.astype(float))[0, 1] > 0.95


def test_ink_on_a_transparent_layer_reads_whatever_its_colour(tmp_path):
    """A digit drawn on a transparent layer: black ink was read, white ink composited
    on white paper was 'no digit found (the image is blank)'.  Under light ink the
    transparent background counts as black, so both read as the same digit."""
    ink = _synthetic_digit() > 128  # where the pen was
    read = []
    for colour in (0, 255):  # black ink, white ink
        layer = np.zeros((*ink.shape, 4), np.uint8)
        layer[ink] = (colour, colour, colour, 255)
        path = tmp_path / f"ink{colour}.png"
        Image.fromarray(layer, "RGBA").save(path)
        read.append(read_digit_image(path))
    assert read[1].max() > 200  # the white digit is there
    agreement = np.corrcoef(read[0].astype(float), read[1].astype(float))[0, 1]
    assert agreement > 0.99, agreement


def test_a_pillow_image_or_an_array_reads_as_its_file_does(tmp_path):
    """read_digit_image refused a Pillow Image and a numpy array, quoting the array's
    repr cut off mid-number; a notebook holds pictures in both forms."""
    grey = (255 - _synthetic_digit()).astype(np.uint8)
    path = tmp_path / "digit.png"
    Image.fromarray(grey).convert("RGB").save(path)
    from_file = read_digit_image(path)
    with Image.open(path) as opened:
        np.testing.assert_array_equal(read_digit_image(opened), from_file)
    colour = np.stack([grey] * 3, axis=-1)
    transparent = np.dstack([colour, np.full(grey.shape, 255, np.uint8)])
    for same in (grey, grey / 255.0, grey.astype(np.float64), colour, colour / 255.0,
                 transparent):  # fmt: skip
        np.testing.assert_array_equal(read_digit_image(same), from_file)
    mask = grey < 128  # True where the pen was: dark ink, as a 0/1 picture
    np.testing.assert_array_equal(read_digit_image(~mask), read_digit_image(np.where(mask, 0, 255)))
    for bad, message in [
        (np.zeros((5, 5, 2)), "shape (5, 5, 2); expected a picture"),
        (np.full((9, 9), -3.0), "values from -3.0 to -3.0"),
        (np.array([["a"] * 4] * 4), "values of type <U1"),
        (np.full((9, 9), np.nan), "NaN"),
        ([[0, 1], [1, 0]], "must be a file name, the file's bytes, a Pillow Image or a numpy"),
    ]:
        with pytest.raises(DigitnetError, match=re.escape(message)):
            read_digit_image(bad)


@pytest.mark.parametrize(
    "bad",
    [
        np.full((28, 28), -3.0),
        np.full((28, 28), 300),
        np.full((28, 28), np.inf),
        np.full((28, 28), "a"),
    ],  # fmt: skip
)
def test_a_picture_array_and_rows_for_predict_are_refused_in_the_same_words(bad):
    from digitnet.model import pixel_rows

    with pytest.raises(DigitnetError) as as_picture:
        read_digit_image(bad)
    with pytest.raises(DigitnetError) as as_rows:
        pixel_rows(bad)
    picture_says = str(as_picture.value).removeprefix("array: ")
    rows_say = str(as_rows.value).removeprefix("images: ")
    assert picture_says.replace("np.clip(array", "np.clip(images") == rows_say


def test_blank_and_unreadable_images_give_clear_errors(tmp_path):
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((30, 30), 255, np.uint8)).save(blank)
    with pytest.raises(DigitnetError, match="no digit found"):
        read_digit_image(blank)
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    with pytest.raises(DigitnetError, match=f"{text}: not a picture this can read"):
        read_digit_image(text)


def test_pca_matches_numpys_svd():
    rng = np.random.default_rng(0)
    data = rng.normal(size=(50, 6)) @ rng.normal(size=(6, 6))
    pca = fit_pca(data, components=4)
    np.testing.assert_allclose(pca.components @ pca.components.T, np.eye(4), atol=1e-10)
    assert np.all(np.diff(pca.explained_variance) <= 0)
    centred = data - data.mean(axis=0)
    _, singular_values, right = np.linalg.svd(centred, full_matrices=False)
    np.testing.assert_allclose(pca.explained_variance, singular_values[:4] ** 2 / 49, rtol=1e-10)
    for ours, theirs in zip(pca.components, right[:4]):  # equal up to sign
        np.testing.assert_allclose(np.abs(ours @ theirs), 1.0, rtol=1e-10)
    np.testing.assert_allclose(pca.project(data), centred @ pca.components.T)


def test_terminal_prediction_draws_the_digit_and_top_three(sample):
    probabilities = np.array([0.01, 0.02, 0.7, 0.2, 0.07, 0, 0, 0, 0, 0])
    text = terminal_prediction(sample.images[0], probabilities, true_label=3)
    lines = text.splitlines()
    assert len(lines) == 30  # 28 rows plus the frame
    assert "█" in text and "  2   70.0%" in text and "  3   20.0%" in text
    assert "true label: 3 (wrong)" in text


def test_show_command_with_an_image_file(tmp_path, capsys, model):
    model_path = tmp_path / "model.npz"
    save_model(model, model_path)
    image = tmp_path / "mine.png"
    Image.fromarray((255 - _synthetic_digit()).astype(np.uint8)).save(image)
    picture = tmp_path / "shown.png"
    assert main(["show", str(model_path), "--image", str(image), "--out", str(picture)]) == 0
    out = capsys.readouterr().out
    assert "top guesses:" in out and out.count("%") >= 3
    assert _png(picture).var() > 0
    assert main(["show", str(model_path), "--index", "99999"]) == 2
    assert "--index 99999: bundled MNIST sample" in capsys.readouterr().err


def test_explore_and_train_plots_write_pictures(tmp_path, capsys):
    assert main(["explore", "--out", str(tmp_path / "explore")]) == 0
    assert "images per digit: 0:500" in capsys.readouterr().out
    for name in ("examples", "class_counts", "average_digits", "pixel_histogram"):
        assert _png(tmp_path / "explore" / f"{name}.png").var() > 0
    assert main(["train", "--epochs", "2", "--out", str(tmp_path / "m.npz"),
                 "--plots", str(tmp_path / "plots"), "--quiet"]) == 0  # fmt: skip
    assert _png(tmp_path / "plots" / "training_curves.png").var() > 0


def test_report_headline_names_its_data_and_warns_about_training_data(
    model, small_data, sample, tmp_path
):
    from digitnet.pictures.report import build_report

    page = build_report(model, small_data, tmp_path / "r", progress=False)[-1].read_text()
    assert f"on {small_data.source}" in page and "measured for this report" in page
    assert "accuracy is optimistic" in page  # the model was trained on small_data
    unseen = Dataset(sample.images[1500:3000], sample.labels[1500:3000], "rows it never saw")
    page = build_report(model, unseen, tmp_path / "r2", progress=False)[-1].read_text()
    assert "on rows it never saw" in page and "accuracy is optimistic" not in page


def test_an_image_claiming_too_many_pixels_is_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    Image.new("1", (9000, 9000), 1).save(path)  # 81 megapixels in a small file
    assert path.stat().st_size < 2_000_000
    with pytest.raises(DigitnetError, match="decompression bomb"):
        read_digit_image(path)


def test_a_large_photo_is_worked_on_at_a_small_size(tmp_path):
    """A 6000x6000 photo (36 megapixels) reads like the same digit drawn small."""
    big = np.full((6000, 6000), 230, np.uint8)
    big[1500:4500, 2700:3300] = 20  # a dark bar: a "1"
    Image.fromarray(big).save(tmp_path / "big.jpg", quality=90)
    small = np.full((60, 60), 230, np.uint8)
    small[15:45, 27:33] = 20
    Image.fromarray(small).save(tmp_path / "small.png")
    read_big = read_digit_image(tmp_path / "big.jpg").astype(float)
    read_small = read_digit_image(tmp_path / "small.png").astype(float)
    assert np.abs(read_big - read_small).mean() < 8  # the same digit, up to resampling


# --- class names: Fashion-MNIST and KMNIST pictures name their classes ------------------------

FASHION = FASHION_MNIST.classes


@pytest.fixture(scope="module")
def fashion_data(small_data):
    """The digit images under Fashion-MNIST's names: the pictures only read the names."""
    return dataclasses.replace(small_data, class_names=FASHION, kind="clothes")


def _words(figure) -> str:
    """Every piece of text a figure shows: titles, axis labels, tick labels, texts, legends."""
    texts = [figure._suptitle.get_text() if figure._suptitle else ""]
    for axes in figure.axes:
        texts += [axes.get_title(), axes.get_xlabel(), axes.get_ylabel()]
        texts += [label.get_text() for label in axes.get_xticklabels() + axes.get_yticklabels()]
        texts += [text.get_text() for text in axes.texts]
        legend = axes.get_legend()
        if legend is not None:
            texts += [legend.get_title().get_text()] + [t.get_text() for t in legend.get_texts()]
    return "\n".join(texts)


def test_a_named_dataset_records_its_class_names(tmp_path, monkeypatch, sample):
    """`load_data('fashion-mnist')` gives the catalog's names, and 'class' for the noun
    (the download is replaced by a folder of IDX files: nothing is fetched)."""
    folder = tmp_path / "fashion"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte").write_bytes(
        idx_bytes(sample.images[:20].reshape(-1, 28, 28))
    )
    (folder / "train-labels-idx1-ubyte").write_bytes(idx_bytes(sample.labels[:20].astype(np.uint8)))
    monkeypatch.setattr(sources.downloads, "download", lambda *args, **kwargs: folder)
    dataset = load_data("fashion-mnist", data_dir=tmp_path)
    assert dataset.class_names == FASHION and dataset.noun == "class"
    assert sample.class_names == DIGITS and sample.noun == "digit"


def test_data_pictures_of_clothes_name_the_classes_not_digits(fashion_data, small_data):
    for draw in (examples_grid, class_counts, average_digits):
        words = _words(draw(fashion_data))
        assert "Trouser" in words and "digit" not in words.lower(), draw.__name__
    assert "The average image of each class" in _words(average_digits(fashion_data))
    assert "The average digit" in _words(average_digits(small_data))  # digits keep their words


def test_evaluation_pictures_of_clothes_name_the_classes(model, fashion_data):
    probabilities = model.predict_proba(fashion_data.images)
    confusion = confusion_matrix(probabilities.argmax(axis=1), fashion_data.labels)
    heatmap = confusion_heatmap(confusion, FASHION)
    axes = heatmap.axes[0]
    assert [label.get_text() for label in axes.get_xticklabels()] == list(FASHION)
    assert [label.get_text() for label in axes.get_yticklabels()] == list(FASHION)
    assert axes.get_xlabel() == "predicted class" and axes.get_ylabel() == "true class"
    assert all(label.get_rotation() == 45 for label in axes.get_xticklabels())  # no overlap
    bars = precision_recall_bars(confusion, FASHION)
    mistakes = confident_mistakes(fashion_data.images, fashion_data.labels, probabilities,
                                  class_names=FASHION)  # fmt: skip
    for figure in (heatmap, bars, mistakes):
        words = _words(figure)
        assert "digit" not in words.lower()
        assert any(name in words for name in FASHION)
    digits = confusion_heatmap(confusion).axes[0]  # the default stays as it was
    assert [label.get_text() for label in digits.get_xticklabels()] == list(DIGITS)
    assert digits.get_xlabel() == "predicted digit"


def test_prediction_pictures_of_clothes_name_the_classes(fashion_data):
    probabilities = np.array([0.01, 0.9, 0.05, 0.04, 0, 0, 0, 0, 0, 0])
    text = terminal_prediction(fashion_data.images[0], probabilities, 3, FASHION)
    assert "Trouser" in text and "Pullover" in text and "true label: Dress (wrong)" in text
    figure = prediction_figure(fashion_data.images[0], probabilities, 1, FASHION)
    words = _words(figure)
    assert "predicted Trouser" in words and "digit" not in words.lower()


def test_inside_pictures_name_the_model_classes(model, fashion_data):
    clothes = dataclasses.replace(model, info={**model.info, "classes": list(FASHION)})
    assert model.class_names == DIGITS and clothes.class_names == FASHION
    for figure in (
        hidden_map(clothes, fashion_data.images[:300], fashion_data.labels[:300]),
        hidden_activations_figure(clothes, fashion_data.images[0], 1),
    ):
        words = _words(figure)
        assert "Trouser" in words and "digit" not in words.lower()
    assert "digit" in _words(
        hidden_map(model, fashion_data.images[:300], fashion_data.labels[:300])
    )


@pytest.mark.parametrize("recorded", [None, ["a", "b"], list(range(10)), "0123456789"])
def test_a_model_without_sound_class_names_is_taken_for_digits(model, recorded):
    info = {key: value for key, value in model.info.items() if key != "classes"}
    if recorded is not None:
        info["classes"] = recorded
    assert dataclasses.replace(model, info=info).class_names == DIGITS


def test_show_names_the_class_a_saved_model_predicts(model, tmp_path, capsys):
    clothes = dataclasses.replace(model, info={**model.info, "classes": list(FASHION)})
    save_model(clothes, tmp_path / "clothes.npz")
    assert load_model(tmp_path / "clothes.npz").class_names == FASHION
    picture = tmp_path / "shown.png"
    assert main(["show", str(tmp_path / "clothes.npz"), "--index", "0",
                 "--out", str(picture)]) == 0  # fmt: skip
    shown = capsys.readouterr()
    assert any(name in shown.out for name in FASHION)  # its guesses, by the model's names
    # The sample holds digits: its label is a digit, not "Ankle boot (wrong)".
    assert f"true digit: {int(load_sample().labels[0])}" in shown.out
    assert "(wrong)" not in shown.out and "its guesses cannot be right or wrong" in shown.err
    assert _png(picture).var() > 0


def test_a_trained_model_records_its_class_names(model):
    assert model.info["classes"] == list(DIGITS)


# --- first-layer weights: never-inked pixels are left white ----------------------------------


def test_first_layer_weights_leave_never_inked_pixels_at_zero(model, small_data):
    inked = small_data.images.any(axis=0)
    assert 0 < inked.sum() < 784  # the sample has blank borders
    figure = first_layer_weights(model, inked=inked)
    weight = model.network.layers[model.network.first_learning].weight
    for axes in figure.axes:
        if not axes.images:
            continue
        drawn = np.asarray(axes.images[0].get_array()).ravel()
        unit = int(axes.get_title().split()[-1])
        assert np.all(drawn[~inked] == 0)
        np.testing.assert_array_equal(drawn[inked], weight[inked, unit])
        low, high = axes.images[0].get_clim()
        assert high == -low == np.abs(weight[inked, unit]).max()  # scaled by inked pixels only
    unmasked = first_layer_weights(model).axes[0].images[0].get_array()
    assert np.count_nonzero(np.asarray(unmasked).ravel()[~inked]) > 0  # the noise it hides


def test_report_caption_explains_the_white_pixels(model, small_data):
    pictures, _ = _pictures(model, small_data, progress=False)
    weights = next(p for p in pictures if p.file == "first_layer_weights.png")
    assert "left white" in weights.caption and "never changed their weights" in weights.caption


# --- reliability diagram: counts in a row of their own ---------------------------------------


def test_reliability_counts_sit_in_their_own_row_above_the_line(model, small_data):
    probabilities = model.predict_proba(small_data.images)
    figure = reliability_diagram(probabilities, small_data.labels)
    axes = figure.axes[0]
    counts = [text for text in axes.texts if text.get_text().isdigit()]
    assert sum(int(text.get_text()) for text in counts) == len(small_data)
    red = next(line for line in axes.lines if line.get_color() == "#d62728")
    top_of_line = max(np.max(red.get_ydata()), 1.0)
    renderer = FigureCanvasAgg(figure).get_renderer()
    figure.draw(renderer)  # lays the figure out, as saving it would
    line_top_pixels = axes.transData.transform((0, top_of_line))[1]
    for text in counts:
        assert text.get_position()[1] > 1.0
        assert text.get_window_extent(renderer).y0 > line_top_pixels  # drawn clear of it
        assert text.get_window_extent(renderer).y1 < axes.bbox.y1  # and inside the plot


def test_a_report_on_one_image_draws_everything_without_warnings(tmp_path, model, sample):
    import warnings

    one = Dataset(sample.images[:1], sample.labels[:1], "one image")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no variance of one image, no NaN
        paths = build_report(model, one, tmp_path, progress=False)
    assert paths[-1].name == "index.html" and len(paths) > 5


def _drawn(figure) -> np.ndarray:
    return _png(png_bytes(figure))


def test_pictures_read_images_as_predict_does_floats_in_0_to_1_included(model, sample):
    """`images / 255` drew as near-white paper (0..1 read as 0..255); every picture
    now reads its images by `Model.predict`'s rules, so both forms draw the same."""
    images, labels = sample.images[:400], sample.labels[:400]
    probabilities = model.predict_proba(images)
    one, scaled = images[3], images[3] / 255.0
    drawings = [
        lambda x: prediction_figure(x, probabilities[3], int(labels[3])),
        lambda x: hidden_activations_figure(model, x, int(labels[3])),
    ]
    for draw in drawings:
        np.testing.assert_array_equal(_drawn(draw(scaled)), _drawn(draw(one)))
    assert terminal_prediction(scaled, probabilities[3]) == terminal_prediction(
        one, probabilities[3]
    )
    np.testing.assert_array_equal(
        _drawn(confident_mistakes(images / 255.0, labels, probabilities)),
        _drawn(confident_mistakes(images, labels, probabilities)),
    )
    np.testing.assert_array_equal(
        _drawn(hidden_map(model, images.reshape(-1, 28, 28) / 255.0, labels)),
        _drawn(hidden_map(model, images, labels)),
    )
    # Drawn as ink: the image's darkest pixels are black, not the grey of 1/255.
    assert _drawn(prediction_figure(scaled, probabilities[3])).min() < 30


@pytest.mark.parametrize("shape", [(1, 784), (28, 28), (1, 28, 28)])
def test_pictures_of_one_image_take_a_batch_of_one(model, sample, shape):
    """`prediction_figure(x, predict_proba(x), 4)` with x of shape (1, 784): the (1, 10)
    probabilities were an IndexError."""
    image = sample.images[5].reshape(shape)
    probabilities = model.predict_proba(image)
    assert probabilities.shape == (1, 10)
    flat = _drawn(prediction_figure(sample.images[5], probabilities[0], 4))
    np.testing.assert_array_equal(_drawn(prediction_figure(image, probabilities, 4)), flat)
    assert terminal_prediction(image, probabilities) == terminal_prediction(
        sample.images[5], probabilities[0]
    )
    hidden_activations_figure(model, image, 4)


@pytest.mark.parametrize(
    ("draw", "message"),
    [
        (lambda m, s: hidden_activations_figure(m, s.images[0], 12), "label=12: must be a class"),
        (lambda m, s: prediction_figure(s.images[0], np.full(10, 0.1), 10), "true_label=10"),
        (lambda m, s: prediction_figure(s.images[:2], np.full(10, 0.1)), "2 images; this"),
        (lambda m, s: prediction_figure(s.images[0], np.full(9, 0.1)), "shape (9,)"),
        (lambda m, s: terminal_prediction(s.images[0], np.full((2, 10), 0.1)), "(2, 10)"),
        (lambda m, s: hidden_map(m, s.images[:10], s.labels[:9]), "labels: shape (9,)"),
        (lambda m, s: confident_mistakes(s.images[:5], s.labels[:5], np.ones((4, 10))), "(4, 10)"),
        (lambda m, s: prediction_figure(np.zeros(783), np.full(10, 0.1)), "shape (783,)"),
    ],
)
def test_pictures_given_the_wrong_sizes_say_so_in_one_error(model, sample, draw, message):
    with pytest.raises(DigitnetError, match=re.escape(message)):
        draw(model, sample)


def test_a_report_stopped_while_drawing_leaves_the_earlier_report_whole(
    model, small_data, tmp_path, monkeypatch
):
    """Ctrl-C while the pictures are drawn writes nothing: the folder keeps the last
    report, every file as it was (it once kept 2 new pictures beside 12 old ones), and
    a folder made for the stopped report is not left behind empty."""
    import digitnet.pictures.report as report

    folder = tmp_path / "report"
    earlier = Dataset(small_data.images[:600], small_data.labels[:600], "an earlier set")
    build_report(model, earlier, folder, progress=False)  # other pictures than below
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    drawn = []
    real = report.png_bytes

    def stopped_after_two(figure):
        if len(drawn) == 2:
            raise KeyboardInterrupt
        drawn.append(figure)
        return real(figure)

    monkeypatch.setattr(report, "png_bytes", stopped_after_two)
    with pytest.raises(KeyboardInterrupt):
        build_report(model, small_data, folder, progress=False)
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before
    drawn.clear()
    with pytest.raises(KeyboardInterrupt):
        build_report(model, small_data, tmp_path / "new", progress=False)
    assert not (tmp_path / "new").exists()


def test_a_report_that_runs_out_of_disk_leaves_the_earlier_report_whole(
    model, small_data, tmp_path, monkeypatch
):
    """A full disk stopped a report at its ninth picture: eight new pictures beside an
    old page.  Every file is written in full beside the report first, then moved in."""
    import errno

    import digitnet.pictures.report as report

    folder = tmp_path / "report"
    earlier = Dataset(small_data.images[:600], small_data.labels[:600], "an earlier set")
    build_report(model, earlier, folder, progress=False)
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    real, written = report.atomic_write, []

    def filling_up(path, mode="wb"):
        if len(written) == 5:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(path)
        return real(path, mode)

    monkeypatch.setattr(report, "atomic_write", filling_up)
    with pytest.raises(OSError):
        build_report(model, small_data, folder, progress=False)
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before  # no staging
    monkeypatch.setattr(report, "atomic_write", real)
    written_now = build_report(model, small_data, folder, progress=False)
    assert written_now[-1].name == "index.html" and {p.name for p in folder.iterdir()} == {
        p.name for p in written_now
    }


def test_explore_that_fails_at_its_first_picture_leaves_no_empty_folder(
    small_data, tmp_path, monkeypatch
):
    import errno

    import digitnet.pictures as pictures

    def full(figure, path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pictures, "save_png", full)
    with pytest.raises(OSError):
        pictures.write_data_pictures(small_data, tmp_path / "new")
    assert not (tmp_path / "new").exists()
