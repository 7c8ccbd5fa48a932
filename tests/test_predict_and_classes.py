"""`digitnet predict` on pictures and folders, `--proba`, `--out -`; and a model whose
classes are not the data's (a Fashion-MNIST model on digits), through the CLI."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import run_cli, write_test_csv
from digitnet.data.dataset_table import DATASETS
from digitnet.data.image_file import read_digit_image
from digitnet.model_file import load_model, save_model


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    folder = tmp_path_factory.mktemp("predict")
    path = folder / "model.npz"
    done = run_cli("train", "--epochs", "4", "--out", str(path), "--quiet")
    assert done.returncode == 0, done.stderr
    return path


@pytest.fixture
def pictures(tmp_path, sample):
    """Dark-on-light PNGs and a JPG of sample digits, as a person's scans would be."""
    folder = tmp_path / "pngs"
    folder.mkdir()
    labels = {}
    for row in range(6):
        name = f"digit{row}.png"
        square = 255 - sample.images[row].reshape(28, 28)
        Image.fromarray(square).resize((140, 140)).save(folder / name)
        labels[name] = str(sample.labels[row])
    (folder / "notes.txt").write_text("not a picture")  # skipped: not a picture's name
    return folder, labels


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_a_folder_of_pictures_is_labelled_file_by_file(model_path, pictures, tmp_path):
    folder, labels = pictures
    out = tmp_path / "labels.csv"
    done = run_cli("predict", str(model_path), str(folder), "--out", str(out))
    assert done.returncode == 0, done.stderr
    rows = _rows(out.read_text())
    assert rows[0] == ["file", "label"]
    assert [row[0] for row in rows[1:]] == [str(folder / name) for name in sorted(labels)]
    right = sum(row[1] == labels[row[0].rsplit("/", 1)[1]] for row in rows[1:])
    assert right >= 5  # a trained model reads scanned sample digits


def test_pictures_get_the_preprocessing_of_show_image(model_path, pictures):
    folder, _ = pictures
    path = folder / "digit0.png"
    done = run_cli("predict", str(model_path), str(path), "--out", "-", "--proba")
    assert done.returncode == 0, done.stderr
    header, row = _rows(done.stdout)
    assert header == ["file", "label"] + [f"p_{digit}" for digit in "0123456789"]
    printed = np.array([float(value) for value in row[2:]])
    expected = load_model(model_path).predict_proba(read_digit_image(path).reshape(1, -1))[0]
    np.testing.assert_allclose(printed, expected, atol=1e-6)
    assert row[1] == str(expected.argmax())
    assert "images: 1 picture (" in done.stderr  # what it read goes to stderr, not the CSV


def test_out_dash_writes_a_kaggle_submission_to_stdout(model_path, tmp_path, sample):
    test_csv = write_test_csv(tmp_path / "test.csv", sample.images[:20])
    for out in ("-", "/dev/stdout"):
        done = run_cli("predict", str(model_path), str(test_csv), "--out", out)
        assert done.returncode == 0, done.stderr
        rows = _rows(done.stdout)
        assert rows[0] == ["ImageId", "Label"] and len(rows) == 21
        assert [row[0] for row in rows[1:]] == [str(i) for i in range(1, 21)]
        assert "data: Kaggle CSV" in done.stderr and not (tmp_path / "-").exists()
    proba = run_cli("predict", str(model_path), str(test_csv), "--out", "-", "--proba")
    rows = _rows(proba.stdout)
    assert rows[0][:3] == ["ImageId", "Label", "p_0"] and len(rows[1]) == 12
    values = np.array([[float(v) for v in row[2:]] for row in rows[1:]])
    np.testing.assert_allclose(values.sum(axis=1), 1, atol=1e-4)
    assert [int(row[1]) for row in rows[1:]] == list(values.argmax(axis=1))


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("notes.txt", "notes.txt: line 1: "),
        ("nowhere", "nowhere: no such file or folder, nor a dataset name"),
        ("empty", "empty: a folder with no pictures (PNG, JPG...) nor IDX files"),
        (
            "images.npy",
            "images.npy: a numpy array file, which predict does not read; in "
            "Python, model.predict(np.load('images.npy')) predicts its images",
        ),  # fmt: skip
    ],
)
def test_a_path_that_is_neither_says_what_predict_accepts(model_path, tmp_path, given, said):
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "empty").mkdir()
    np.save(tmp_path / "images.npy", np.zeros((2, 784)))
    done = run_cli("predict", str(model_path), given, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert said in done.stderr
    assert "predict takes pictures (PNG, JPG...) or folders of them, or one Kaggle CSV" in (
        done.stderr
    )
    assert not (tmp_path / "predictions.csv").exists()


def test_a_broken_picture_among_good_ones_writes_nothing(model_path, pictures, tmp_path):
    folder, _ = pictures
    (folder / "broken.png").write_bytes(b"not a png at all")
    out = tmp_path / "labels.csv"
    done = run_cli("predict", str(model_path), str(folder), "--out", str(out))
    assert done.returncode == 2 and "broken.png" in done.stderr
    assert done.stderr.count("\n") == 1 and not out.exists()
    assert "--skip-unreadable predicts the others" in done.stderr


def test_skip_unreadable_predicts_the_others_and_names_each_left_out(
    model_path, pictures, tmp_path
):
    folder, _ = pictures
    good = sorted(p.name for p in folder.iterdir() if p.suffix == ".png")
    mixed = tmp_path / "mixed"
    shutil.copytree(folder, mixed)
    (mixed / "broken.png").write_bytes(b"not a png at all")
    Image.new("L", (40, 40), 255).save(mixed / "blank.png")
    out = tmp_path / "labels.csv"
    done = run_cli("predict", str(model_path), str(mixed), "--out", str(out), "--skip-unreadable")
    assert done.returncode == 0, done.stderr
    warnings = done.stderr.splitlines()
    assert len(warnings) == 2 and all(line.startswith("digitnet: warning: left out: ")
                                      for line in warnings)  # fmt: skip
    assert "blank.png: no digit found" in warnings[0] and "broken.png" in warnings[1]
    assert "2 unreadable pictures left out" in done.stdout
    rows = out.read_text().splitlines()
    assert [Path(row.split(",")[0]).name for row in rows[1:]] == good
    only_bad = tmp_path / "bad"
    only_bad.mkdir()
    (only_bad / "broken.png").write_bytes(b"not a png at all")
    (only_bad / "blank.png").write_bytes((mixed / "blank.png").read_bytes())
    done = run_cli(
        "predict", str(model_path), str(only_bad), "--out", str(out), "--skip-unreadable"
    )
    assert done.returncode == 2 and "none of the 2 pictures could be read" in done.stderr
    assert out.read_text().splitlines() == rows  # the earlier file kept


@pytest.fixture(scope="module")
def fashion_model(model_path, tmp_path_factory):
    """A model that records Fashion-MNIST's classes (its weights do not matter here)."""
    model = load_model(model_path)
    model.info["classes"] = list(DATASETS["fashion-mnist"].classes)
    path = tmp_path_factory.mktemp("fashion") / "fashion.npz"
    save_model(model, path)
    return path


@pytest.mark.parametrize("command", ["evaluate", "report"])
def test_scoring_digits_with_a_clothes_model_is_refused(fashion_model, tmp_path, command):
    extra = ["--out", str(tmp_path / "r")] if command == "report" else []
    done = run_cli(command, str(fashion_model), "--data", "sample", *extra)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert (
        "fashion.npz: predicts T-shirt/top, Trouser, Pullover..., but bundled MNIST sample "
        "(5000 images) holds the digits 0..9: scores would mean nothing" in done.stderr
    )
    assert "accuracy" not in done.stdout


def test_showing_a_digit_to_a_clothes_model_warns_and_judges_nothing(fashion_model):
    done = run_cli("show", str(fashion_model), "--data", "sample", "--index", "3")
    assert done.returncode == 0, done.stderr
    assert "warning: " in done.stderr and "its guesses cannot be right or wrong" in done.stderr
    assert "true digit: " in done.stdout
    assert "(wrong)" not in done.stdout and "(right)" not in done.stdout


def test_predicting_digits_with_a_clothes_model_warns(fashion_model, tmp_path):
    done = run_cli("predict", str(fashion_model), "sample", "--out", str(tmp_path / "s.csv"))
    assert done.returncode == 0, done.stderr
    assert "predicts T-shirt/top, Trouser, Pullover..., but bundled MNIST sample" in done.stderr
    assert "its labels 0..9 are the model's own classes, 0 meaning T-shirt/top" in done.stderr


def test_a_digit_model_on_digits_says_nothing_of_classes(model_path):
    done = run_cli("show", str(model_path), "--data", "sample", "--index", "3")
    assert done.returncode == 0 and done.stderr == ""
    assert "true label: " in done.stdout


@pytest.mark.parametrize("command", [["train", "--epochs", "1"], ["show", "MODEL"]])
def test_out_dash_is_refused_where_the_output_is_not_text(model_path, tmp_path, command):
    args = [str(model_path) if word == "MODEL" else word for word in command]
    done = run_cli(*args, "--out", "-", cwd=tmp_path)
    assert done.returncode == 2 and "--out -: this command writes" in done.stderr
    assert not (tmp_path / "-").exists()


def test_a_clothes_model_on_a_csv_is_scored_under_its_own_class_names(fashion_model, tmp_path,
                                                                      sample):  # fmt: skip
    """A Kaggle-format CSV says nothing of its classes: scored, headed by the model's."""
    from conftest import write_train_csv

    data = write_train_csv(tmp_path / "clothes.csv", sample.images[:200], sample.labels[:200])
    done = run_cli("evaluate", str(fashion_model), "--data", str(data))
    assert done.returncode == 0, done.stderr
    assert "        class  count  accuracy" in done.stdout and "  Ankle boot  " in done.stdout
    assert "rows: true class, columns: predicted class" in done.stdout
    assert " digit " not in done.stdout


def test_every_picture_kind_show_reads_is_a_picture_to_predict_too(model_path, tmp_path):
    """An .ico (or .pgm) that show --image reads is not taken for a CSV by predict."""
    from PIL import Image

    from digitnet.data.bundled import load_sample

    digit = 255 - load_sample().images[0].reshape(28, 28)
    for name in ("seven.ico", "seven.pgm"):
        Image.fromarray(digit).resize((112, 112)).save(tmp_path / name)
        done = run_cli("predict", str(model_path), str(tmp_path / name), "--out", "-")
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("file,label\n") and name in done.stdout


def test_a_picture_without_its_extension_is_read_as_a_picture(model_path, tmp_path):
    """A photo saved as 'seven' (or .jfif) starts like a JPEG: not taken for a CSV."""
    from PIL import Image

    from digitnet.data.bundled import load_sample

    digit = 255 - load_sample().images[0].reshape(28, 28)
    for name in ("seven", "seven.jfif"):
        Image.fromarray(digit).resize((112, 112)).save(tmp_path / name, format="JPEG")
        done = run_cli("predict", str(model_path), str(tmp_path / name), "--out", "-")
        assert done.returncode == 0, done.stderr
        assert name in done.stdout


def test_predict_reads_a_csv_piped_to_it_as_dash(model_path, tmp_path, sample):
    """`... | digitnet predict model.npz -` was "-: no such file"."""
    import subprocess
    import sys

    csv_path = write_test_csv(tmp_path / "test.csv", sample.images[:30])
    from_file = run_cli("predict", str(model_path), str(csv_path), "--out", "-")
    assert from_file.returncode == 0, from_file.stderr
    piped = subprocess.run(
        [sys.executable, "-m", "digitnet", "predict", str(model_path), "-", "--out", "-"],
        input=csv_path.read_text(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout == from_file.stdout and len(piped.stdout.splitlines()) == 31
    bad = subprocess.run(
        [sys.executable, "-m", "digitnet", "predict", str(model_path), "-", "--out", "-"],
        input="not,a,csv\n", capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert bad.returncode == 2 and "/dev/stdin: line 1: unexpected header" in bad.stderr
    assert "predict takes pictures" not in bad.stderr  # it was meant as a CSV: no list of all


def test_a_folder_tree_is_searched_its_hidden_folders_left_out(model_path, pictures, tmp_path):
    """digits/7/a.png, a tree sorted by class: its subfolders were not searched, and a
    folder holding only subfolders was "a folder with no pictures"."""
    folder, labels = pictures
    tree = tmp_path / "tree"
    for index, name in enumerate(sorted(labels)):
        place = tree / labels[name] / ("deeper" if index % 2 else "")
        place.mkdir(parents=True, exist_ok=True)
        (place / name).write_bytes((folder / name).read_bytes())
    (tree / ".cache").mkdir()
    (tree / ".cache" / "thumb.png").write_bytes((folder / "digit0.png").read_bytes())
    done = run_cli("predict", str(model_path), str(tree), "--out", "-")
    assert done.returncode == 0, done.stderr
    files = [row[0] for row in _rows(done.stdout)[1:]]
    assert len(files) == len(labels) and ".cache" not in done.stdout
    assert files == sorted(files) and all(str(tree) in file for file in files)
