"""CNNs end to end: a recipe that learns, and every command working with a CNN model."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import digitnet
from digitnet.interfaces.cli import main
from digitnet.model_file import load_model
from digitnet.recipes import CNN, run

SMALL_CNN = "conv8k5,pool2,bn,relu,conv16k3,relu,pool2,dense32,relu,dense10"


def test_cnn_recipe_learns_the_bundled_sample(sample):
    """The cnn recipe's network, 3 epochs on 4,000 sample images: 96.6% measured (seed 0;
    95.5% after 2)."""
    model = run(CNN.with_overrides(epochs=3), sample, seed=0, log=None, progress=False)
    assert model.history["dev_accuracy"][-1] >= 0.95
    assert model.network.is_convolutional


@pytest.fixture(scope="module")
def cnn_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cnn") / "cnn.npz"
    code = main(["train", "--layers", SMALL_CNN, "--epochs", "2", "--dev-size", "500",
                 "--out", str(path), "--quiet"])  # fmt: skip
    assert code == 0
    return path


def test_train_with_layers_from_the_command_line(cnn_file):
    model = load_model(cnn_file)
    assert model.network.layer_spec == (
        "image,conv8k5,pool2,bn,relu,conv16k3,relu,pool2,flatten,dense32,relu,dense10"
    )
    assert model.recipe["layers"] == model.network.layer_spec
    assert model.history["dev_accuracy"][-1] > 0.85


def test_evaluate_predict_and_show_a_cnn(cnn_file, tmp_path, capsys, small_test_csv):
    assert main(["evaluate", str(cnn_file), "--data", "sample"]) == 0
    out = capsys.readouterr().out
    assert "layers image,conv8k5" in out and "accuracy" in out
    submission = tmp_path / "submission.csv"
    assert main(["predict", str(cnn_file), str(small_test_csv), "--out", str(submission)]) == 0
    lines = submission.read_text().splitlines()
    assert lines[0] == "ImageId,Label" and len(lines) == 101
    picture = tmp_path / "shown.png"
    assert main(["show", str(cnn_file), "--index", "3", "--out", str(picture)]) == 0
    assert "top guesses:" in capsys.readouterr().out
    assert np.asarray(Image.open(picture)).var() > 0


def test_report_of_a_cnn_shows_filters_and_feature_maps(cnn_file, tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["report", str(cnn_file), "--out", str(out), "--quiet"]) == 0
    for name in ("first_layer_filters", "feature_maps", "hidden_activations", "hidden_map"):
        assert np.asarray(Image.open(out / f"{name}.png")).var() > 0, name
    assert not (out / "first_layer_weights.png").exists()
    html = (out / "index.html").read_text()
    assert "First-layer filters" in html and "Feature maps" in html


def test_feature_maps_read_images_as_predict_does(cnn_file, sample):
    """0..1 floats and a (1, 28, 28) batch of one draw the same maps as the uint8 image."""
    from digitnet.pictures import feature_maps_figure
    from digitnet.pictures.canvas import png_bytes

    model = load_model(cnn_file)
    drawn = png_bytes(feature_maps_figure(model, sample.images[2], 3))
    for same in (sample.images[2] / 255.0, sample.images[2].reshape(1, 28, 28)):
        assert png_bytes(feature_maps_figure(model, same, 3)) == drawn


def test_resume_a_cnn_continues_its_training(cnn_file, tmp_path):
    resumed = tmp_path / "resumed.npz"
    assert main(["train", "--resume", str(cnn_file), "--epochs", "1", "--out", str(resumed),
                 "--quiet"]) == 0  # fmt: skip
    before, after = load_model(cnn_file), load_model(resumed)
    assert after.history["epoch"] == [*before.history["epoch"], before.history["epoch"][-1] + 1]
    assert after.network.layer_spec == before.network.layer_spec
    # Batch norm's running averages are carried over and updated, not reset.
    bn_before, bn_after = before.network.layers[3], after.network.layers[3]
    assert not np.allclose(bn_before.running_var, 1.0)
    assert not np.array_equal(bn_before.running_var, bn_after.running_var)


def test_python_api_trains_a_cnn_with_layers_keyword(sample):
    model = digitnet.train("fast", data=sample, layers="conv4k5,relu,pool2,dense10", epochs=1,
                           log=None, progress=False)  # fmt: skip
    assert model.network.layer_spec == "image,conv4k5,relu,pool2,flatten,dense10"
    assert model.predict(sample.images[:5]).shape == (5,)


def test_mlp_shorthand_on_a_cnn_recipe_is_refused(capsys):
    assert main(["train", "--recipe", "cnn", "--hidden", "64", "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "not a plain MLP" in err and "--layers" in err


@pytest.mark.parametrize(
    ("layers", "message"),
    [("conv8k5,relu", "last layer must be dense10"), ("conv8k99,dense10", "does not fit")],
)
def test_bad_layers_on_the_command_line_give_one_line(layers, message, capsys, tmp_path):
    out = tmp_path / "never.npz"
    assert main(["train", "--layers", layers, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and not out.exists()


def test_a_cnn_is_measured_in_smaller_batches_with_the_same_outputs(sample):
    """Prediction keeps each layer's input for a batch: a CNN's feature maps for 1,024
    images take 100 MB a layer, so a CNN is measured 256 images at a time, and its
    images do not meet, so the outputs are the same at any batch size, to float32
    rounding: OpenBLAS may round a product's rows differently when it has more or fewer
    of them (seen with its Haswell kernels), so bit for bit is not promised here."""
    from digitnet.network import Network
    from digitnet.speed import accelerate, using_threads

    cnn = accelerate(Network.build(SMALL_CNN, init="he", seed=0))
    mlp = Network.build("dense32,relu,dense10", init="he", seed=0)
    assert cnn.measuring_batch == 256 and mlp.measuring_batch == 1024
    x = (sample.images[:700].reshape(700, -1) / 255).astype(np.float32)
    with using_threads(1):
        default = cnn.logits(x)
        np.testing.assert_allclose(default, cnn.logits(x, batch_size=1024), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(default, cnn.logits(x, batch_size=100), rtol=1e-5, atol=1e-5)
    assert default.shape == (700, 10)
