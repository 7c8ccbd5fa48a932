"""A model's training data, found again: resume, evaluate and report, through the CLI.

A model file records its data by name and checksum, never where it lies; `train
--resume` continues on that data and split, `evaluate` and `report` score the rows
it held out, and scoring images it trained on is flagged.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli, write_train_csv
from digitnet.model_file import load_model
from digitnet.recipes.recipe import _ResumedSchedule
from digitnet.training.schedule import Schedule


@pytest.fixture
def trained(tmp_path, sample):
    """A model trained on a Kaggle CSV in tmp_path/work, run from that folder."""
    work = tmp_path / "work"
    work.mkdir()
    write_train_csv(work / "train.csv", sample.images[:1000], sample.labels[:1000])
    done = run_cli("train", "--data", "train.csv", "--epochs", "3", "--dev-size", "200",
                   "--quiet", cwd=work)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return work


def _metadata(path) -> dict:
    with zipfile.ZipFile(path) as archive, archive.open("metadata.npy") as stream:
        return json.loads(str(np.lib.format.read_array(stream)))


def test_the_readme_resume_command_works_as_written(trained):
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    command = re.search(r"`(digitnet train --resume model\.npz[^`]*)`", readme).group(1)
    assert command == "digitnet train --resume model.npz --epochs 10"
    resumed = run_cli(*shlex.split(command)[1:], cwd=trained)
    assert resumed.returncode == 0, resumed.stderr
    assert "saved model to model.npz" in resumed.stdout
    assert load_model(trained / "model.npz").history["epoch"] == list(range(1, 14))


def test_resume_writes_over_the_model_it_resumes(trained):
    resumed = run_cli("train", "--resume", "model.npz", "--epochs", "2", cwd=trained)
    assert resumed.returncode == 0, resumed.stderr
    assert "data: Kaggle CSV train.csv (1000 images, train format) (what model.npz was " \
           "trained on; its split again)" in resumed.stdout  # fmt: skip
    assert "resuming: model.npz after epoch 3: epochs 4 to 5" in resumed.stdout
    assert "epoch    5/5" in resumed.stdout
    model = load_model(trained / "model.npz")
    assert model.history["epoch"] == [1, 2, 3, 4, 5]
    assert model.recipe["epochs"] == 5  # the whole run: a second resume goes on from here
    assert model.info["dev_size"] == 200


def test_resume_without_out_updates_the_resumed_file_wherever_it_is(trained):
    (trained / "runs").mkdir()
    (trained / "model.npz").rename(trained / "runs" / "digits.npz")
    resumed = run_cli("train", "--resume", "runs/digits.npz", "--epochs", "1", "--quiet",
                      cwd=trained)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert "saved model to runs/digits.npz" in resumed.stdout
    assert not (trained / "model.npz").exists()  # no stray model.npz beside it
    assert load_model(trained / "runs" / "digits.npz").history["epoch"] == [1, 2, 3, 4]


def test_a_negative_seed_is_one_clear_line(trained):
    refused = run_cli("train", "--seed", "-1", cwd=trained)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert "--seed -1: must be a whole number >= 0" in refused.stderr
    refused = run_cli("train", "--seed", "1e30", cwd=trained)  # worded as --epochs 1e9 is
    assert refused.returncode == 2 and "--seed: '1e30' is not a whole number" in refused.stderr


def test_a_resumed_run_keeps_its_dev_set(trained):
    before = run_cli("evaluate", "model.npz", cwd=trained)
    assert run_cli("train", "--resume", "model.npz", "--epochs", "1", "--quiet",
                   cwd=trained).returncode == 0  # fmt: skip
    after = run_cli("evaluate", "model.npz", cwd=trained)
    # The same 200 rows held out, before and after: the dev set was not trained on.
    for result in (before, after):
        assert "the 200 rows the model held out (its dev set)" in result.stdout
    dev = load_model(trained / "model.npz").history["dev_accuracy"][-1]
    assert f"accuracy: {dev:.4f} (" in after.stdout


def test_resume_without_epochs_finishes_the_run_and_then_asks_for_more(trained, tmp_path):
    assert run_cli("train", "--resume", "model.npz", "--quiet", cwd=trained).returncode == 2
    finished = run_cli("train", "--resume", "model.npz", cwd=trained)
    assert "has trained all 3 epochs of its recipe; --epochs N trains N more" in finished.stderr
    # A run stopped early (as by Ctrl-C) is finished where it stopped.
    short = run_cli("train", "--data", "train.csv", "--epochs", "2", "--dev-size", "200",
                    "--out", "short.npz", "--quiet", cwd=trained)  # fmt: skip
    assert short.returncode == 0
    path = trained / "short.npz"
    model = load_model(path)
    model.recipe["epochs"] = 4  # as if it had been asked for 4 and stopped after 2
    from digitnet.model_file import save_model

    save_model(model, path)
    rest = run_cli("train", "--resume", "short.npz", "--out", "short.npz", cwd=trained)
    assert rest.returncode == 0, rest.stderr
    assert "epochs 3 to 4" in rest.stdout and load_model(path).history["epoch"] == [1, 2, 3, 4]


def test_the_schedule_goes_on_where_it_stopped():
    whole = Schedule("cosine", 10, warmup=2)
    resumed = _ResumedSchedule("cosine", 10, 2, done=6)
    for epoch in (0.0, 0.5, 3.0):
        assert resumed.factor(epoch) == pytest.approx(whole.factor(epoch + 6))
    assert resumed.factor(0) < 0.5  # no second warm-up from the top, no restart at 1


def test_resume_where_the_data_is_not_found_asks_for_data(trained, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(trained / "model.npz", elsewhere / "model.npz")  # a model from a colleague
    lost = run_cli("train", "--resume", "model.npz", "--epochs", "1", cwd=elsewhere)
    assert lost.returncode == 2
    assert lost.stderr.count("\n") == 1 and "Traceback" not in lost.stderr
    assert "model.npz: was trained on train.csv (checksum " in lost.stderr
    assert "point at it with --data PATH" in lost.stderr
    evaluated = run_cli("evaluate", "model.npz", cwd=elsewhere)
    assert evaluated.returncode == 2
    assert "point at it with --data PATH --held-out" in evaluated.stderr  # the rows it held out
    # --data points at it, under any name: the checksum says it is the same data.
    shutil.copy(trained / "train.csv", elsewhere / "renamed.csv")
    found = run_cli("evaluate", "model.npz", "--data", "renamed.csv", "--held-out", cwd=elsewhere)
    assert found.returncode == 0, found.stderr
    assert "the 200 rows the model held out" in found.stdout
    resumed = run_cli("train", "--resume", "model.npz", "--epochs", "1", "--data", "renamed.csv",
                      cwd=elsewhere)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert "(from --data; what model.npz was trained on)" in resumed.stdout


def test_resume_on_other_data_says_so(trained):
    other = run_cli("train", "--resume", "model.npz", "--epochs", "1", "--data", "sample",
                    "--out", "other.npz", cwd=trained)  # fmt: skip
    assert other.returncode == 0, other.stderr
    assert "data: bundled MNIST sample (5000 images) (from --data; model.npz was trained on " \
           "Kaggle CSV train.csv" in other.stdout  # fmt: skip


def test_a_model_file_does_not_say_where_its_owner_keeps_files(tmp_path, sample):
    folder = tmp_path / "home" / "ann" / "private data"
    folder.mkdir(parents=True)
    write_train_csv(folder / "digits.csv", sample.images[:600], sample.labels[:600])
    trained = run_cli("train", "--data", str(folder / "digits.csv"), "--epochs", "1",
                      "--dev-size", "100", "--out", str(tmp_path / "m.npz"), "--quiet")  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    text = json.dumps(_metadata(tmp_path / "m.npz"))
    assert str(tmp_path) not in text and "ann" not in text
    info = _metadata(tmp_path / "m.npz")["info"]
    assert info["data_spec"] == "digits.csv" and len(info["data_checksum"]) == 32
    # Beside the model, the file is found by its name again.
    shutil.copy(folder / "digits.csv", tmp_path / "digits.csv")
    evaluated = run_cli("evaluate", str(tmp_path / "m.npz"), cwd=folder.parent)
    assert evaluated.returncode == 0, evaluated.stderr
    assert "the 100 rows the model held out" in evaluated.stdout


def test_a_file_of_the_same_name_but_other_rows_is_not_taken_for_it(trained, sample):
    write_train_csv(trained / "train.csv", sample.images[1000:2000], sample.labels[1000:2000])
    changed = run_cli("evaluate", "model.npz", cwd=trained)
    assert changed.returncode == 2
    assert "was trained on train.csv (checksum" in changed.stderr


def test_report_scores_the_held_out_rows_and_flags_training_images(trained):
    held = run_cli("report", "model.npz", "--out", "r1", "--quiet", cwd=trained)
    assert held.returncode == 0, held.stderr
    assert "the 200 rows the model held out (its dev set)" in held.stdout
    page = (trained / "r1" / "index.html").read_text()
    assert "the 200 rows the model held out" in page and "optimistic" not in page
    # The bundled sample holds the 800 images this model trained on (its first 1000
    # rows are train.csv): the report counts them and says so, on the page too.
    on_sample = run_cli("report", "model.npz", "--data", "sample", "--out", "r2", "--quiet",
                        cwd=trained)  # fmt: skip
    assert on_sample.returncode == 0, on_sample.stderr
    warning = "warning: 800 of the 5000 images scored are images model.npz trained on"
    assert warning in on_sample.stdout
    page = (trained / "r2" / "index.html").read_text()
    assert warning in page
    assert page.count("(5000 images)") == 1  # said once, not "(5000 images) (5000 images)"
    explicit = run_cli("report", "model.npz", "--data", "train.csv", "--held-out", "--out", "r3",
                       "--quiet", cwd=trained)  # fmt: skip
    assert explicit.returncode == 0 and "the 200 rows the model held out" in explicit.stdout


def test_evaluate_on_other_data_flags_the_images_it_trained_on(trained):
    on_sample = run_cli("evaluate", "model.npz", "--data", "sample", cwd=trained)
    assert on_sample.returncode == 0, on_sample.stderr
    assert "warning: 800 of the 5000 images scored are images model.npz trained on" \
        in on_sample.stdout  # fmt: skip


def test_checking_for_overlap_never_downloads(trained):
    """A model trained on MNIST, scored on the sample: its training files are not here,
    and a check is not worth a download: it says it cannot check, and scores."""
    model = load_model(trained / "model.npz")
    model.info.update(data_spec="mnist", data="MNIST's training images (60000)")
    from digitnet.model_file import save_model

    save_model(model, trained / "mnist-model.npz")
    done = run_cli("evaluate", "mnist-model.npz", "--data", "sample", cwd=trained)
    assert done.returncode == 0, done.stderr
    assert "note: cannot check these images against mnist-model.npz's training data " \
           "(MNIST's training images (60000): mnist's training files are not downloaded)" \
           in done.stdout  # fmt: skip
    assert "accuracy: " in done.stdout


def test_a_folder_named_like_a_dataset_is_found_as_a_folder_not_downloaded(tmp_path, sample):
    """IDX files in a folder called 'mnist' are not the dataset 'mnist': evaluate and
    resume look for the folder, and ask for --data where it is not, without trying a
    download (older model files, which recorded 'mnist', get the folder looked for first)."""
    from test_idx import idx_bytes

    folder = tmp_path / "data" / "mnist"
    folder.mkdir(parents=True)
    images = sample.images[:600].reshape(600, 28, 28)
    (folder / "train-images-idx3-ubyte").write_bytes(idx_bytes(images))
    labels = sample.labels[:600].astype(np.uint8)
    (folder / "train-labels-idx1-ubyte").write_bytes(idx_bytes(labels))
    done = run_cli("train", "--data", str(folder), "--epochs", "1", "--dev-size", "100",
                   "--out", str(tmp_path / "m.npz"), "--quiet")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert _metadata(tmp_path / "m.npz")["info"]["data_spec"] == "./mnist"
    lost = run_cli("evaluate", str(tmp_path / "m.npz"), cwd=tmp_path)
    assert lost.returncode == 2 and lost.stderr.count("\n") == 1, lost.stderr
    assert "was trained on mnist (checksum" in lost.stderr and "download" not in lost.stderr
    assert "point at it with --data PATH --held-out" in lost.stderr
    found = run_cli("evaluate", str(tmp_path / "m.npz"), cwd=tmp_path / "data")
    assert found.returncode == 0, found.stderr
    assert "the 100 rows the model held out" in found.stdout
    # A model file from before: 'mnist' recorded for the folder; the folder beside the
    # model is found without a download.
    from digitnet.model_file import save_model

    model = load_model(tmp_path / "m.npz")
    model.info.update(data_spec="mnist")
    save_model(model, tmp_path / "data" / "old.npz")
    old = run_cli("train", "--resume", str(tmp_path / "data" / "old.npz"), "--epochs", "1",
                  "--out", str(tmp_path / "resumed.npz"), "--quiet", cwd=tmp_path)  # fmt: skip
    assert old.returncode == 0, old.stderr
    # and where it is not found, the download's failure names the model and asks for
    # --data, not for the bundled sample (which would not continue this model)
    save_model(model, tmp_path / "old.npz")
    gone = run_cli("train", "--resume", str(tmp_path / "old.npz"), "--epochs", "1",
                   cwd=tmp_path)  # fmt: skip
    assert gone.returncode != 0 and gone.stderr.count("\n") == 1, gone.stderr
    assert f"{tmp_path / 'old.npz'}: was trained on " in gone.stderr
    assert "give them with --data PATH" in gone.stderr and "--data sample" not in gone.stderr


def test_a_fifo_named_like_the_training_data_is_passed_over_not_waited_on(trained, tmp_path):
    """A FIFO where the model's data file would be (beside the model) blocked evaluate
    and resume for ever, reading it."""
    import os

    elsewhere = tmp_path / "fifo"
    elsewhere.mkdir()
    shutil.copy(trained / "model.npz", elsewhere / "model.npz")
    os.mkfifo(elsewhere / "train.csv")
    done = run_cli("evaluate", "model.npz", cwd=elsewhere)
    assert done.returncode == 2 and "was trained on train.csv (checksum" in done.stderr
