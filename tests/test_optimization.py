"""Optimizers, schedules, regularisation, augmentation, early stopping, resuming, knobs."""

from __future__ import annotations

import numpy as np
import pytest

from digitnet.data import Dataset, Preprocessing
from digitnet.network import Network
from digitnet.recipes import FAST, run
from digitnet.training import TrainingConfig, train
from digitnet.training.augment import Augmentation
from digitnet.training.optimizer import SGD, Adam, make_optimizer
from digitnet.training.schedule import Schedule


def one_step(optimizer_class, param, grad, steps=1, **kwargs):
    optimizer = optimizer_class([(param, grad)], **kwargs)
    for _ in range(steps):
        optimizer.step()
    return param


def test_plain_gradient_descent_step():
    w = one_step(SGD, np.array([[1.0, -2.0]]), np.array([[0.5, 0.25]]), learning_rate=0.1)
    np.testing.assert_allclose(w, [[0.95, -2.025]])


def test_nesterov_step_by_hand():
    w, g = np.array([[1.0]]), np.array([[0.5]])
    one_step(SGD, w, g, steps=2, learning_rate=0.1, momentum=0.9, nesterov=True)
    # step 1: v = g = 0.5; w -= 0.1 (g + 0.9 v) = 0.1 * 0.95 -> 0.905
    # step 2: v = 0.9 * 0.5 + 0.5 = 0.95; w -= 0.1 (0.5 + 0.9 * 0.95) = 0.1355 -> 0.7695
    np.testing.assert_allclose(w, [[0.7695]])


def test_sgd_weight_decay_only_on_weights():
    weight, bias = np.array([[2.0]]), np.array([2.0])
    zero = np.zeros((1, 1)), np.zeros(1)
    SGD([(weight, zero[0]), (bias, zero[1])], learning_rate=0.1, weight_decay=0.5).step()
    np.testing.assert_allclose(weight, [[2.0 - 0.1 * 0.5 * 2.0]])  # w -= lr * wd * w
    np.testing.assert_allclose(bias, [2.0])  # biases are not decayed


def test_adam_first_steps_by_hand():
    w, g = np.array([[0.0]]), np.array([[0.2]])
    optimizer = Adam([(w, g)], learning_rate=0.01)
    optimizer.step()  # bias-corrected m^ = g and s^ = g^2: the first step is lr * sign(g)
    np.testing.assert_allclose(w, [[-0.01 * 0.2 / (0.2 + 1e-8)]])
    g[...] = -0.1
    optimizer.step()
    m = 0.9 * (0.1 * 0.2) + 0.1 * -0.1
    s = 0.999 * (0.001 * 0.04) + 0.001 * 0.01
    expected = -0.01 - 0.01 * (m / (1 - 0.9**2)) / (np.sqrt(s / (1 - 0.999**2)) + 1e-8)
    np.testing.assert_allclose(w, [[expected]])


def test_adamw_decays_the_weights_directly():
    w = np.array([[3.0]])
    one_step(Adam, w, np.zeros((1, 1)), learning_rate=0.1, weight_decay=0.2, decoupled=True)
    np.testing.assert_allclose(w, [[3.0 - 0.1 * 0.2 * 3.0]])  # zero gradient: only the decay


@pytest.mark.parametrize("name", ["gd", "sgd", "nesterov", "adam", "adamw"])
def test_every_optimizer_drives_a_convex_loss_down(name):
    rng = np.random.default_rng(0)
    target = rng.normal(size=(4, 3))
    w = np.zeros((4, 3))
    grad = np.zeros_like(w)
    rate = 0.05 if name.startswith("adam") else 0.1
    optimizer = make_optimizer(name, [(w, grad)], rate, momentum=0.5 if name == "sgd" else 0.0)
    start = np.sum((w - target) ** 2)
    for _ in range(200):
        grad[...] = 2 * (w - target)  # d/dw |w - target|^2
        optimizer.step()
    assert np.sum((w - target) ** 2) < 0.01 * start


def test_schedules_by_formula():
    assert Schedule("constant", 10).factor(7.3) == 1.0
    assert Schedule("step", 30, every=10, gamma=0.5).factor(25) == 0.25
    cosine = Schedule("cosine", 10)
    assert cosine.factor(0) == 1.0 and cosine.factor(5) == pytest.approx(0.5)
    assert cosine.factor(10) == pytest.approx(0.0)
    warm = Schedule("cosine", 10, warmup=2)
    assert warm.factor(1) == pytest.approx(0.5 * (1 + np.cos(np.pi * 0.1)) / 2)


def test_augmentation_keeps_range_labels_and_is_reproducible(sample):
    x = Preprocessing().apply(sample.images[:64])
    aug = Augmentation(elastic_alpha=34)
    first = aug.apply(x, np.random.default_rng(5))
    again = aug.apply(x, np.random.default_rng(5))
    other = aug.apply(x, np.random.default_rng(6))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert first.shape == x.shape and first.dtype == x.dtype
    assert first.min() >= 0 and first.max() <= 1 + 1e-6
    assert np.abs(first - x).mean() > 0.01  # it did move the ink
    identity = Augmentation(shift=0, rotation=0, scale=0).apply(x, np.random.default_rng(0))
    np.testing.assert_allclose(identity, x, atol=1e-6)


def test_augmented_training_is_reproducible_and_labels_kept(sample):
    data = Dataset(sample.images[:1200], sample.labels[:1200], "part of the sample")
    recipe = FAST.with_overrides(epochs=2, augment=True, elastic=20.0, dev_size=200)
    first = run(recipe, data, seed=3, log=None, progress=False)
    second = run(recipe, data, seed=3, log=None, progress=False)
    assert first.history["dev_accuracy"] == second.history["dev_accuracy"]
    assert first.history["dev_accuracy"][-1] > 0.5  # labels still match their images


def test_early_stopping_restores_the_best_epoch(sample):
    prep = Preprocessing()
    train_x, train_y = prep.apply(sample.images[1000:2000]), sample.labels[1000:2000]
    dev_x, dev_y = prep.apply(sample.images[:300]), sample.labels[:300]
    network = Network.build([784, 32, 10], seed=0)
    snapshots = []
    config = TrainingConfig(learning_rate=0.5, epochs=60, batch_size=16, momentum=0.9,
                            patience=2)  # fmt: skip

    def remember(_line):
        snapshots.append([param.copy() for param, _ in network.parameters()])

    result = train(network, train_x, train_y, dev_x, dev_y, config, log=remember)
    assert result.stopped_early and len(result.history["epoch"]) < 60
    best = int(np.argmax(result.history["dev_accuracy"]))
    assert result.best_epoch == result.history["epoch"][best]
    assert len(result.history["epoch"]) == best + 1 + 2  # stopped after 2 stale epochs
    for (param, _), saved in zip(network.parameters(), snapshots[best]):
        np.testing.assert_array_equal(param, saved)


def test_resume_continues_from_the_saved_weights(tmp_path, capsys):
    from digitnet.interfaces.cli import main
    from digitnet.model_file import load_model

    first = tmp_path / "first.npz"
    assert main(["train", "--epochs", "2", "--out", str(first), "--quiet"]) == 0
    resumed = tmp_path / "resumed.npz"
    code = main(["train", "--resume", str(first), "--epochs", "2", "--out", str(resumed)])
    out = capsys.readouterr().out
    assert code == 0 and "resuming:" in out and "after epoch 2" in out
    before, after = load_model(first), load_model(resumed)
    assert after.history["epoch"] == [1, 2, 3, 4]
    assert after.history["dev_accuracy"][:2] == before.history["dev_accuracy"]
    # Epoch 3 starts from epoch 2's weights: much better than a fresh network's epoch 1.
    assert after.history["train_loss"][2] < before.history["train_loss"][0]
    assert main(["train", "--resume", str(first), "--hidden", "32", "--out", str(resumed)]) == 2


def test_a_resumed_cosine_schedule_goes_on_where_it_stopped(sample):
    """2 epochs, then 2 more: the cosine is laid over all 4, so the resumed run starts
    at half the learning rate (cos(pi * 2/4)) and falls towards 0, never at 0."""
    from digitnet.recipes import FAST, run

    recipe = FAST.with_overrides(epochs=2, dev_size=500)
    first = run(recipe, sample, 0, log=None, progress=False)
    rates: list[float] = []

    def watch(progress) -> bool:
        rates.append(progress.learning_rate)
        return False

    resumed = run(recipe, sample, 0, log=None, progress=False, start_from=first, watch=watch)
    assert rates[0] == pytest.approx(FAST.learning_rate * 0.5)
    assert min(rates) > 0 and rates == sorted(rates, reverse=True)
    assert resumed.recipe["epochs"] == 4
    assert resumed.history["dev_loss"][2] != first.history["dev_loss"][1]  # it learned


def test_a_resumed_run_longer_than_a_model_file_may_record_is_refused_before_training(sample):
    from digitnet.errors import DigitnetError
    from digitnet.recipes import FAST, run

    first = run(FAST.with_overrides(epochs=1, dev_size=500), sample, 0, log=None, progress=False)
    first.history["epoch"] = [99_999]  # as if trained that long
    steps: list[object] = []
    with pytest.raises(DigitnetError, match="cannot resume for 2 more epochs: the model has "
                       "99999, and a run holds at most 100000"):  # fmt: skip
        run(FAST.with_overrides(epochs=2, dev_size=500), sample, 0, log=None, progress=False,
            start_from=first, watch=steps.append)  # fmt: skip
    assert steps == []


def test_every_knob_from_the_command_line(tmp_path, capsys):
    from digitnet.interfaces.cli import main
    from digitnet.model_file import load_model

    out = tmp_path / "m.npz"
    args = ["train", "--epochs", "2", "--optimizer", "adamw", "--learning-rate", "0.002",
            "--weight-decay", "0.01", "--schedule", "step", "--step-every", "1",
            "--step-gamma", "0.5", "--warmup", "0.5", "--dropout", "0.1", "--augment",
            "--elastic", "8", "--patience", "3", "--activation", "tanh", "--init", "glorot",
            "--hidden", "64,32", "--dev-size", "0.1", "--split", "shuffled", "--restore-best",
            "--erase", "0.3", "--label-smoothing", "0.1", "--ema", "0.99",
            "--out", str(out), "--quiet"]  # fmt: skip
    assert main(args) == 0
    recipe = load_model(out).recipe
    expected = {"optimizer": "adamw", "weight_decay": 0.01, "schedule": "step", "step_every": 1,
                "step_gamma": 0.5, "warmup": 0.5, "augment": True,
                "elastic": 8, "patience": 3, "init": "glorot",
                "layers": "dense64,tanh,dropout0.1,dense32,tanh,dropout0.1,dense10",
                "dev_size": 0.1, "split": "shuffled",
                "restore_best": True, "erase": 0.3, "label_smoothing": 0.1,
                "ema": 0.99}  # fmt: skip
    assert {key: recipe[key] for key in expected} == expected
    model = load_model(out)
    assert model.network.layer_spec == expected["layers"] and model.info["dev_size"] == 500
    assert model.history["dev_accuracy"][-1] > 0.3


def test_clothes_are_only_mirrored_never_bent_like_handwriting():
    from digitnet.training.augment import augmentation_for

    clothes = augmentation_for("clothes", elastic=34.0)
    assert clothes.flip and clothes.rotation == clothes.scale == clothes.shift == 0
    assert clothes.elastic_alpha == 0  # the recipe's elastic strength is for handwriting only
    rng = np.random.default_rng(0)
    shirt = rng.uniform(0, 1, size=(64, 784)).astype(np.float32)
    out = clothes.apply(shirt, rng).reshape(64, 28, 28)
    square = shirt.reshape(64, 28, 28)
    mirrored = [np.allclose(o, s[:, ::-1], atol=1e-5) for o, s in zip(out, square)]
    same = [np.allclose(o, s, atol=1e-5) for o, s in zip(out, square)]
    assert all(m or s for m, s in zip(mirrored, same))  # each image mirrored or left as is
    assert 16 < sum(mirrored) < 48  # about half of them mirrored
    handwriting = augmentation_for("handwriting", elastic=8.0)
    assert not handwriting.flip and handwriting.rotation > 0 and handwriting.elastic_alpha == 8.0


def test_weight_average_by_hand():
    """w_avg <- d_t w_avg + (1 - d_t) w after each step, d_t = min(d, (1 + t) / (10 + t))."""
    from digitnet.training.averaging import WeightAverage

    network = Network.build([3, 2], seed=0, dtype=np.float64)
    (weight, _), (bias, _) = network.parameters()
    average = WeightAverage(network, decay=0.5)
    expected = [weight.copy(), bias.copy()]
    rng = np.random.default_rng(1)
    for step in range(1, 6):
        weight[...], bias[...] = rng.normal(size=weight.shape), rng.normal(size=bias.shape)
        average.update()
        decay = min(0.5, (1 + step) / (10 + step))  # 2/11, 3/12, ... then 0.5 from step 8 on
        expected = [decay * old + (1 - decay) * new for old, new in zip(expected, (weight, bias))]
    for got, want in zip(average.averages, expected):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    for decay in (0.0, 1.0, -0.5):
        with pytest.raises(ValueError, match="decay"):
            WeightAverage(network, decay)


def test_batch_norm_statistics_recomputed_as_the_mean_of_batch_statistics():
    """Each batch norm layer ends with the plain mean of the statistics of the batches it
    saw (variance unbiased), the weights and dropout's random stream left alone."""
    from digitnet.training import averaging

    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, size=(2 * averaging.STATISTICS_BATCH, 20)).astype(np.float64)
    network = Network.build("dense6,bn,relu,dropout0.5,dense5,bn,dense10", inputs=20, seed=2,
                            dtype=np.float64)  # fmt: skip
    first, norm, second, last_norm = (network.layers[i] for i in (0, 1, 4, 5))
    weights = {name: array.copy() for name, array in network.arrays().items()
               if "running" not in name}  # fmt: skip
    dropout_state = network.layers[3].rng.bit_generator.state
    averaging.recompute_batch_norm(network, images)
    halves = np.split(images, 2)
    z = [h @ first.weight + first.bias for h in halves]  # what the first batch norm sees
    np.testing.assert_allclose(norm.running_mean, np.mean([b.mean(axis=0) for b in z], axis=0))
    np.testing.assert_allclose(norm.running_var,
                               np.mean([b.var(axis=0, ddof=1) for b in z], axis=0))  # fmt: skip
    # The second one sees the first's output normalised with each batch's own statistics.
    hidden = [np.maximum(norm.scale * (b - b.mean(0)) / np.sqrt(b.var(0) + norm.eps) + norm.shift,
                         0) for b in z]  # fmt: skip
    z2 = [h @ second.weight + second.bias for h in hidden]
    np.testing.assert_allclose(last_norm.running_mean,
                               np.mean([b.mean(axis=0) for b in z2], axis=0))  # fmt: skip
    assert norm.momentum == last_norm.momentum == 0.1  # put back
    assert network.layers[3].rng.bit_generator.state == dropout_state  # no mask drawn
    for name, array in weights.items():
        np.testing.assert_array_equal(network.arrays()[name], array)


def test_training_with_weight_average_measures_and_ends_on_the_average(sample):
    """The average changes what is measured and kept, never the training itself: the
    training losses are those of a run without it, the final weights are the average,
    and the last dev accuracy is the final network's."""
    from digitnet.training.trainer import evaluate

    prep = Preprocessing()
    train_x, train_y = prep.apply(sample.images[1000:2000]), sample.labels[1000:2000]
    dev_x, dev_y = prep.apply(sample.images[:300]), sample.labels[:300]
    results, networks = [], []
    for ema in (0.0, 0.9):
        network = Network.build("dense32,bn,relu,dense10", seed=0)
        config = TrainingConfig(learning_rate=0.1, epochs=3, batch_size=32, momentum=0.9, ema=ema)
        results.append(train(network, train_x, train_y, dev_x, dev_y, config, log=None))
        networks.append(network)
    plain, averaged = results
    assert averaged.history["train_loss"] == plain.history["train_loss"]
    assert averaged.history["dev_accuracy"] != plain.history["dev_accuracy"]
    assert evaluate(networks[1], dev_x, dev_y)[1] == averaged.history["dev_accuracy"][-1]
    assert not np.array_equal(networks[0].layers[0].weight, networks[1].layers[0].weight)
    assert averaged.history["dev_accuracy"][-1] > 0.8


def test_random_erasing_blanks_one_rectangle_in_the_chosen_share(sample):
    x = Preprocessing().apply(sample.images[:400])
    erasing = Augmentation(shift=0, rotation=0, scale=0, erase=0.5)
    out = erasing.apply(x, np.random.default_rng(3))
    np.testing.assert_array_equal(out, erasing.apply(x, np.random.default_rng(3)))
    changed = np.abs(out - x).reshape(400, 28, 28) > 1e-6
    touched = changed.any(axis=(1, 2))
    assert 150 < touched.sum() < 250  # about half of the images
    for image, before, after in zip(changed[touched], x[touched], out[touched]):
        rows, columns = np.flatnonzero(image.any(axis=1)), np.flatnonzero(image.any(axis=0))
        box = image[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1]
        assert box.mean() > 0.9  # the changed pixels fill one rectangle (noise may match a few)
        assert 0.02 * 784 * 0.9 <= box.size <= 0.4 * 784 * 1.2  # of 2% to 40% of the image
        assert 0 <= after.min() and after.max() <= before.max() + 1e-6  # in the image's range
    assert Augmentation(erase=0.3).describe().endswith("random erasing of 30% of the images")
    from digitnet.training.augment import augmentation_for

    assert augmentation_for("clothes", erase=0.4).erase == 0.4


def test_random_crops_move_each_image_by_whole_pixels_within_the_limit(sample):
    x = Preprocessing().apply(sample.images[:300])
    plain = Augmentation(shift=0, rotation=0, scale=0)
    cropping = Augmentation(shift=0, rotation=0, scale=0, crop=2)
    out = cropping.apply(x, np.random.default_rng(5))
    np.testing.assert_array_equal(out, cropping.apply(x, np.random.default_rng(5)))
    # With crop 0 the random stream is what it was: the recorded runs still rerun.
    np.testing.assert_array_equal(plain.apply(x, np.random.default_rng(5)), x)
    framed = np.zeros((300, 32, 32), dtype=x.dtype)
    framed[:, 2:30, 2:30] = x.reshape(300, 28, 28)
    moves = []
    for before, after in zip(framed, out.reshape(300, 28, 28)):
        # exactly one whole-pixel offset of the framed image gives the crop, unblurred
        found = [(dy, dx) for dy in range(5) for dx in range(5)
                 if np.array_equal(before[dy : dy + 28, dx : dx + 28], after)]  # fmt: skip
        assert found, "a crop must be the image moved by whole pixels"
        moves.append(found[0])
    assert len(set(moves)) > 15  # the offsets vary, all 25 possible in 300 images
    assert cropping.describe() == "crops shifted up to 2 whole px"
    from digitnet.training.augment import augmentation_for

    assert augmentation_for("clothes", crop=1).crop == 1
    assert augmentation_for("clothes", crop=1).flip


def test_a_warmup_as_long_as_the_run_is_noted(sample):
    from digitnet.recipes import FAST, run

    lines: list[str] = []
    run(FAST.with_overrides(epochs=1, warmup=50, dev_size=500), sample, 0, log=lines.append,
        progress=False)  # fmt: skip
    assert "warmup=50 is the whole run of 1 epoch or more: the learning rate never reaches " \
           "0.05" in lines  # fmt: skip
    lines.clear()
    run(FAST.with_overrides(epochs=2, warmup=1, dev_size=500), sample, 0, log=lines.append,
        progress=False)  # fmt: skip
    assert not any("warmup" in line for line in lines)
