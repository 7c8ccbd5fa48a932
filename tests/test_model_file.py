"""Model files: round trip, and a clear error for anything that is not a good digitnet model."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

import digitnet
from digitnet.errors import DigitnetError
from digitnet.model_file import FORMAT_VERSION, load_model, save_model
from digitnet.recipes import FAST, SEED, run

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def model(sample):
    return run(SEED.with_overrides(epochs=20, log_every=10), sample, seed=0, log=None)


@pytest.fixture
def saved(tmp_path, model):
    path = tmp_path / "model.npz"
    save_model(model, path)
    return path


def test_round_trip_keeps_predictions_and_metadata(saved, model, sample):
    loaded = load_model(saved)
    np.testing.assert_array_equal(
        loaded.predict_proba(sample.images[:200]), model.predict_proba(sample.images[:200])
    )
    assert loaded.network.layer_spec == "dense10,relu,dense10"
    assert loaded.network.dtype == np.float32
    assert loaded.recipe == model.recipe and loaded.recipe["name"] == "seed"
    assert loaded.history == model.history and loaded.history["epoch"] == [10, 20]
    assert loaded.info["data"] == sample.source
    assert loaded.preprocessing == model.preprocessing


def test_model_file_holds_no_pickle(saved):
    with np.load(saved, allow_pickle=False) as archive:  # would raise on an object array
        assert int(archive["digitnet_format"]) == FORMAT_VERSION
        metadata = json.loads(str(archive["metadata"]))
    assert set(metadata) == {"layers", "inputs", "preprocessing", "recipe", "history", "info"}
    assert metadata["layers"] == "dense10,relu,dense10" and metadata["inputs"] == 784


def _expect_error(path, message):
    with pytest.raises(DigitnetError) as error:
        load_model(path)
    assert str(error.value).startswith(f"{path}: ") and message in str(error.value)


def test_truncated_file(saved):
    data = saved.read_bytes()
    saved.write_bytes(data[: len(data) // 2])
    _expect_error(saved, "corrupt/truncated")


def test_random_bytes(tmp_path):
    path = tmp_path / "model.npz"
    path.write_bytes(np.random.default_rng(0).bytes(5000))
    _expect_error(path, "not a digitnet model")


def test_text_file(tmp_path):
    path = tmp_path / "model.npz"
    path.write_text("label,pixel0\n")
    _expect_error(path, "not a digitnet model")


def test_foreign_npz(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, weights=np.zeros(3))
    _expect_error(path, "not a digitnet model file (no format marker)")


def test_bare_npy(tmp_path):
    path = tmp_path / "array.npy"
    np.save(path, np.zeros(3))
    _expect_error(path, "not a digitnet model")


def test_pickled_object_is_refused_not_unpickled(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, digitnet_format=np.array(1), metadata=np.array([{"x": 1}], dtype=object))
    _expect_error(path, "not a digitnet model file ('metadata' is object, not a JSON string)")


@pytest.mark.parametrize("code_point", [0x0100006C, 0xD800])
def test_metadata_beyond_unicode_is_refused(tmp_path, saved, code_point):
    """numpy keeps text as UTF-32 numbers without checking them; one beyond Unicode
    (found by the fuzzer) must be refused at load, not break a string later."""
    with np.load(saved) as archive:
        arrays = dict(archive)
    codes = arrays["metadata"].reshape(1).view(np.uint32).copy()
    codes[5] = code_point
    arrays["metadata"] = codes.view(arrays["metadata"].dtype).reshape(())
    path = tmp_path / "bad_text.npz"
    np.savez(path, **arrays)
    _expect_error(path, "'metadata' holds characters that are not Unicode")


def test_newer_format_version(tmp_path, saved):
    newer = tmp_path / "newer.npz"
    with np.load(saved) as archive:
        arrays = dict(archive)
    arrays["digitnet_format"] = np.array(FORMAT_VERSION + 1)
    np.savez(newer, **arrays)
    _expect_error(newer, f"newer digitnet (model format {FORMAT_VERSION + 1}")


@pytest.mark.parametrize(
    ("classes", "message"),
    [
        (["a", "b", "c"], "info field 'classes' must be 10 names, one per output; it holds 3"),
        ([str(n) for n in range(11)], "it holds 11"),
        (list(range(10)), "must be 10 names"),
        (["x" * 100_000] * 10, "holds a name of 100000 characters, or an empty one"),
        ([""] * 10, "or an empty one; a class name has 1 to 40"),
    ],
)
def test_class_names_that_cannot_name_the_outputs_are_refused(tmp_path, saved, model, classes,
                                                              message):  # fmt: skip
    """Three names for ten outputs were read as digits without a word, and 100,000
    characters a name went into every table and message (an error line of 300 KB)."""
    with np.load(saved) as archive:
        arrays = dict(archive)
    metadata = json.loads(str(arrays["metadata"]))
    metadata["info"]["classes"] = classes
    arrays["metadata"] = np.array(json.dumps(metadata))
    bad = tmp_path / "classes.npz"
    np.savez(bad, **arrays)
    _expect_error(bad, message)
    stored = dict(model.info)
    try:
        model.info["classes"] = classes
        with pytest.raises(DigitnetError, match=re.escape(message)):
            save_model(model, tmp_path / "again.npz")  # nor written
    finally:
        model.info.clear()
        model.info.update(stored)
    assert not (tmp_path / "again.npz").exists()


def test_layers_that_lie_about_the_arrays_name_the_missing_one(tmp_path, saved):
    """Metadata that says conv where the arrays are dense: the array it lacks is named
    (it was 'not a digitnet model file, or corrupt/truncated')."""
    with np.load(saved) as archive:
        arrays = dict(archive)
    metadata = json.loads(str(arrays["metadata"]))
    metadata["layers"] = "conv32k3,relu,dense10"
    arrays["metadata"] = np.array(json.dumps(metadata))
    liar = tmp_path / "liar.npz"
    np.savez(liar, **arrays)
    _expect_error(liar, "array 'layer1_kernel' is missing for layers conv32k3,relu,dense10")
    arrays["metadata"] = np.array('{"layers": "dense10",')
    np.savez(liar, **arrays)
    _expect_error(liar, "its metadata is not valid JSON (Expecting property name")


def test_weights_that_disagree_with_the_architecture(tmp_path, saved):
    bad = tmp_path / "bad.npz"
    with np.load(saved) as archive:
        arrays = dict(archive)
    arrays["layer0_weight"] = np.zeros((784, 11), np.float32)
    np.savez(bad, **arrays)
    _expect_error(
        bad, "array 'layer0_weight' is float32 (784, 11), but the layers need float32 (784, 10)"
    )


def test_missing_member(tmp_path, saved):
    bad = tmp_path / "bad.npz"
    with zipfile.ZipFile(saved) as source, zipfile.ZipFile(bad, "w") as target:
        for item in source.infolist():
            if item.filename != "layer2_bias.npy":
                target.writestr(item, source.read(item))
    _expect_error(bad, "array 'layer2_bias' is missing")


def test_missing_file(tmp_path):
    _expect_error(tmp_path / "nope.npz", "no such model file")


def test_failed_save_keeps_the_old_model(tmp_path, saved, model, monkeypatch):
    before = saved.read_bytes()

    def fail(*args, **kwargs):
        raise KeyboardInterrupt  # e.g. Ctrl-C in the middle of writing

    monkeypatch.setattr(np, "savez_compressed", fail)
    with pytest.raises(KeyboardInterrupt):
        save_model(model, saved)
    assert saved.read_bytes() == before
    assert sorted(p.name for p in saved.parent.iterdir()) == ["model.npz"]


def test_public_api_save_and_load(tmp_path, model):
    path = tmp_path / "api.npz"
    save_model(model, path)
    assert digitnet.load_model(path).network.layer_spec == model.network.layer_spec
    assert load_model(path).recipe == model.recipe


@pytest.mark.parametrize("name", ["model", "model.np", "model.npz.tmp"])
def test_a_model_name_without_npz_is_refused_and_nothing_is_written(tmp_path, model, name):
    # np.savez would write model.npz for "model", and load_model("model") would not find it.
    with pytest.raises(DigitnetError, match=re.escape(f"{name}: a model file's name ends in .npz")):
        save_model(model, tmp_path / name)
    assert list(tmp_path.iterdir()) == []
    save_model(model, tmp_path / "upper.NPZ")  # the suffix in any case
    assert load_model(tmp_path / "upper.NPZ").network.layer_spec == model.network.layer_spec


def test_format_1_files_from_digitnet_0_1_load_and_predict_as_before(sample):
    """tests/data/format1_mlp.npz was written by digitnet 0.1 (784-24-16-10, tanh,
    dropout 0.2), with its own predictions for every 25th sample image."""
    model = load_model(DATA / "format1_mlp.npz")
    assert model.network.layer_spec == ("dense24,tanh,dropout0.2,dense16,tanh,dropout0.2,dense10")
    with np.load(DATA / "format1_mlp_predictions.npz") as expected:
        probabilities = model.predict_proba(sample.images[expected["rows"]])
        # Equal to float32 rounding, not bit for bit: the last bit of a product
        # depends on how many threads BLAS splits it over, and on the CPU's kernels.
        np.testing.assert_allclose(probabilities, expected["probabilities"], rtol=1e-5, atol=1e-7)
        assert np.array_equal(probabilities.argmax(axis=1), expected["probabilities"].argmax(1))
    assert model.recipe["hidden_sizes"] == [24, 16]  # the recipe as it was saved
    resaved = DATA.parent / "resaved.npz"
    try:
        save_model(model, resaved)
        again = load_model(resaved)
        assert again.network.layer_spec == model.network.layer_spec
    finally:
        resaved.unlink(missing_ok=True)


def test_a_cnn_with_batch_norm_round_trips_with_its_running_averages(tmp_path, sample):
    network = digitnet.Network.build("conv4k5,pool2,bn,relu,dense10", seed=0)
    images = sample.images[:256]
    network.forward(digitnet.Model(network).preprocessing.apply(images), training=True)
    model = digitnet.Model(network, recipe={"name": "test"})
    path = tmp_path / "cnn.npz"
    save_model(model, path)
    loaded = load_model(path)
    assert loaded.network.layer_spec == "image,conv4k5,pool2,bn,relu,flatten,dense10"
    running_var = loaded.network.layers[3].running_var
    assert not np.allclose(running_var, 1.0)  # the statistics were saved, not reset
    np.testing.assert_array_equal(running_var, network.layers[3].running_var)
    np.testing.assert_array_equal(loaded.predict_proba(images), model.predict_proba(images))


def test_a_negative_running_variance_is_refused(tmp_path):
    """Batch norm divides by sqrt(variance): a negative one would make every prediction NaN."""
    path = tmp_path / "bn.npz"
    save_model(digitnet.Model(digitnet.Network.build("dense8,bn,relu,dense10")), path)
    with np.load(path) as archive:
        arrays = dict(archive)
    arrays["layer1_running_var"][3] = -0.5
    np.savez(path, **arrays)
    _expect_error(path, "'layer1_running_var' holds negative variances")


def test_non_finite_weights_are_refused(tmp_path, saved):
    bad = tmp_path / "bad.npz"
    with np.load(saved) as archive:
        arrays = dict(archive)
    arrays["layer2_weight"][0, 0] = np.nan
    np.savez(bad, **arrays)
    _expect_error(bad, "NaN or infinite")


def test_an_array_claiming_a_huge_shape_is_refused_before_reading(tmp_path, saved):
    """The npy header is checked first: a few bytes claiming 10^15 floats cost nothing."""
    bad = tmp_path / "bad.npz"
    with zipfile.ZipFile(saved) as source, zipfile.ZipFile(bad, "w") as target:
        for item in source.infolist():
            if item.filename == "layer0_weight.npy":
                header = {"descr": "<f4", "fortran_order": False, "shape": (10**9, 10**6)}
                stream = io.BytesIO()
                np.lib.format.write_array_header_2_0(stream, header)
                target.writestr(item.filename, np.lib.format.magic(2, 0)[:0] + stream.getvalue())
            else:
                target.writestr(item, source.read(item))
    _expect_error(bad, "(1000000000, 1000000)")


@pytest.mark.parametrize(
    "convert",
    [
        lambda images: images,  # uint8 rows, as stored
        lambda images: images.astype(np.float32) / 255,  # floats in 0..1
        lambda images: images.astype(np.float64),  # floats in 0..255
        lambda images: images.reshape(-1, 28, 28),  # squares
        lambda images: images.astype(np.int64).tolist(),  # nested lists
    ],
)
def test_predict_reads_the_usual_forms_of_images_alike(model, sample, convert):
    images = sample.images[:50]
    expected = model.predict(images)
    np.testing.assert_array_equal(model.predict(convert(images)), expected)
    assert model.predict(images[7].reshape(28, 28)).tolist() == [expected[7]]  # one image


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (np.zeros((3, 783)), "shape (3, 783)"),
        (np.zeros((2, 27, 28)), "shape (2, 27, 28)"),
        (np.full((1, 784), -1.0), "values from -1.0"),
        (np.full((1, 784), 300), "values from 300"),
        (np.full((1, 784), np.nan), "NaN"),
        (np.array([["a"] * 784]), "expected numbers"),
        ([[1, 2], [3]], "not an array of numbers"),
        ("digit.png", "images: got str 'digit.png'; expected rows of 784 pixels"),
        (Path("d.png"), "; for a picture file, digitnet.read_digit_image(path) gives one"),
        (None, "images: got NoneType None; expected rows"),
    ],
)
def test_predict_refuses_other_images_with_a_clear_error(model, images, message):
    with pytest.raises(DigitnetError, match=re.escape(message)):
        model.predict(images)


@pytest.mark.parametrize(
    "convert, fix",
    [  # `image * 2`: values 0..2, made 0..1 by dividing (clipping would wreck them)
        (lambda images: images.astype(np.float32) / 255 * 2, "images / images.max() makes"),
        # 0..255 with fractions (after resizing): rounding makes them 8-bit again
        (lambda images: images.astype(np.float64) * 0.999, "np.rint(images) makes them whole"),
    ],
)
def test_floats_in_neither_convention_are_refused_not_guessed(model, sample, convert, fix):
    """Read as 0..255, values 0..2 would be a blank image, predicted with confidence;
    the message leads with the fix that fits the range it saw."""
    images = convert(sample.images[:5])
    message = "with fractions: neither 0..1 (images / 255) nor whole numbers 0..255"
    with pytest.raises(DigitnetError, match=re.escape(message)):
        model.predict(images)
    with pytest.raises(DigitnetError, match=re.escape(fix)):
        model.predict_proba(images[0])


def test_a_float_just_over_one_is_named_exactly_and_clipping_suggested(model, sample):
    """'floats from 0 to 1, neither in 0..1' contradicted itself: the excess was hidden."""
    images = sample.images[:2] / 255.0
    images[0, 300] = 1.0000001
    with pytest.raises(DigitnetError, match=re.escape("to 1.0000001 with fractions")):
        model.predict(images)
    with pytest.raises(DigitnetError, match=re.escape("np.clip(images, 0, 1) makes them 0..1")):
        model.predict(images)


def test_an_ink_mask_of_zeros_and_ones_is_read_as_0_to_1_whatever_its_type(sample):
    """Integers 0 and 1 read as 0..255 were an invisible image: every digit became one
    class.  Read as 0..1 (as the server reads the same JSON numbers), a thresholded
    digit is read as its ink."""
    readable = run(FAST.with_overrides(epochs=3, dev_size=0), sample, seed=0, log=None)
    mask, labels = sample.images[:300] > 127, sample.labels[:300]
    expected = readable.predict(mask.astype(np.float64))  # floats in 0..1: the documented rule
    for kind in (np.uint8, np.int64, np.bool_):
        np.testing.assert_array_equal(readable.predict(mask.astype(kind)), expected)
    faint = readable.predict(mask / 255.0)  # the old reading: ink of 1 out of 255
    assert (expected == labels).mean() > 0.8
    assert (faint == labels).mean() < 0.3


def test_a_model_whose_outputs_overflow_is_one_error_not_nan_probabilities():
    import warnings

    network = digitnet.Network.build("dense8,relu,dense10")
    network.layers[0].weight.fill(1e37)  # finite, but 784 pixels of ink overflow
    model = digitnet.Model(network)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DigitnetError, match="overflow to infinity or NaN"):
            model.predict(np.full((2, 784), 255, np.uint8))


def test_a_small_file_whose_index_claims_huge_arrays_allocates_nothing(tmp_path):
    """The zip index's sizes may lie: the file's own size bounds what deflate unpacks."""
    import json
    import resource
    import struct

    path = tmp_path / "liar.npz"
    save_model(digitnet.Model(digitnet.Network.build("dense8,relu,dense10")), path)
    with np.load(path) as archive:
        arrays = dict(archive)
    metadata = json.loads(str(arrays["metadata"]))
    metadata["layers"] = "dense30000,relu,dense10"  # 23.9 million parameters
    arrays["metadata"] = np.array(json.dumps(metadata))
    np.savez_compressed(path, **arrays)
    data = bytearray(path.read_bytes())
    start = 0
    while (start := data.find(b"PK\x01\x02", start)) >= 0:  # each central directory entry
        struct.pack_into("<I", data, start + 24, 2**31)  # "unpacks to 2 GB"
        start += 4
    path.write_bytes(bytes(data))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    _expect_error(path, "parameters, more than the file's")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KB


def test_arrays_packed_with_another_method_are_refused(tmp_path, saved):
    path = tmp_path / "bz.npz"
    with zipfile.ZipFile(saved) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_BZIP2) as target:
        for item in source.infolist():
            target.writestr(item.filename, source.read(item))
    _expect_error(path, "packed with a method numpy does not use")


def test_a_model_and_its_network_print_as_one_short_line(model):
    """repr(model) was 2,000 characters of recipe and history, the network an address;
    dir(digitnet) listed what had been loaded twice."""
    shown = repr(model)
    assert "\n" not in shown and len(shown) < 200
    assert shown.startswith("Model(Network('dense10,relu,dense10', float32, 7,960 parameters)")
    assert "recipe 'seed'" in shown and "dev accuracy" in shown
    assert callable(digitnet.load_data)  # loaded: a module global from now on
    names = dir(digitnet)
    assert len(names) == len(set(names)) and "load_data" in names


def test_predict_takes_threads_as_train_does(model, sample, monkeypatch):
    """threads=N predicts on N workers (the answers are the same), a count above the
    cores is lowered with a warning, and the setting around the call comes back."""
    from digitnet.speed.workers import WORKERS

    seen: list[int] = []
    real_map = WORKERS.map

    def recording(task, items):
        seen.append(WORKERS.threads)
        return real_map(task, items)

    monkeypatch.setattr(WORKERS, "map", recording)
    monkeypatch.setattr("digitnet.speed.workers.available_cores", lambda: 2)
    before = WORKERS.threads
    one = model.predict_proba(sample.images[:500], threads=1)
    assert set(seen) == {1}
    seen.clear()
    two = model.predict_proba(sample.images[:500], threads=2)
    assert set(seen) == {2} and WORKERS.threads == before
    np.testing.assert_array_equal(one, two)  # bit for bit, as training is
    with pytest.warns(UserWarning, match="threads=64: this process may use 2 cores; using 2"):
        assert model.predict(sample.images[:5], threads=64).shape == (5,)
    with pytest.raises(DigitnetError, match="threads=0: must be a whole number of cores"):
        model.predict(sample.images[:5], threads=0)
    classifier = digitnet.DigitClassifier("fast", threads=2, epochs=1)
    classifier.model_ = model
    seen.clear()
    assert classifier.predict(sample.images[:500]).tolist() == one.argmax(axis=1).tolist()
    assert set(seen) == {2}
