"""The command line as a user drives it: the Kaggle workflow, and bad input."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli, write_test_csv, write_train_csv
from digitnet.interfaces.cli import main
from digitnet.model_file import load_model


def test_kaggle_round_trip(tmp_path, small_train_csv, small_test_csv):
    model = tmp_path / "model.npz"
    trained = run_cli(
        "train",
        "--data",
        str(small_train_csv),
        "--epochs",
        "3",
        "--dev-size",
        "100",
        "--out",
        str(model),
    )
    assert trained.returncode == 0, trained.stderr
    assert f"data: Kaggle CSV {small_train_csv} (600 images" in trained.stdout
    assert "epoch    3/3" in trained.stdout and f"saved model to {model}" in trained.stdout

    submission = tmp_path / "submission.csv"
    predicted = run_cli("predict", str(model), str(small_test_csv), "--out", str(submission))
    assert predicted.returncode == 0, predicted.stderr
    lines = submission.read_text().splitlines()
    assert lines[0] == "ImageId,Label"
    assert len(lines) == 1 + 100
    ids, labels = np.loadtxt(submission, delimiter=",", skiprows=1, dtype=int).T
    np.testing.assert_array_equal(ids, np.arange(1, 101))
    assert set(labels) <= set(range(10)) and len(set(labels)) > 5


def test_evaluate_prints_accuracy_per_class_and_confusion(tmp_path, small_train_csv, capsys):
    model = tmp_path / "model.npz"
    assert (
        main(
            [
                "train",
                "--data",
                str(small_train_csv),
                "--recipe",
                "seed",
                "--epochs",
                "60",
                "--dev-size",
                "100",
                "--out",
                str(model),
                "--quiet",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["evaluate", str(model), "--data", "sample"]) == 0
    out = capsys.readouterr().out
    assert "data: bundled MNIST sample (5000 images)" in out
    assert "recipe seed, layers dense10,relu,dense10" in out
    accuracy = float(out.split("accuracy: ")[1].split()[0])
    assert 0.5 < accuracy < 1.0
    assert "per-class accuracy:" in out and "confusion matrix" in out
    matrix_rows = out.split("predicted digit):\n")[1].splitlines()[1:11]
    counts = np.array([[int(c) for c in row.split()[1:]] for row in matrix_rows])
    assert counts.sum() == 5000 and counts.sum(axis=1).tolist() == [500] * 10
    assert np.trace(counts) / 5000 == pytest.approx(accuracy, abs=1e-4)


def test_default_train_runs_offline_on_the_bundled_sample(tmp_path):
    result = run_cli("train", "--epochs", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "data: bundled MNIST sample (5000 images)" in result.stdout
    assert "recipe: fast: layers dense256,relu,dense10" in result.stdout
    assert "2 epochs" in result.stdout
    assert (tmp_path / "model.npz").is_file()


def test_recipes_are_listed(capsys):
    assert main(["recipes"]) == 0
    out = capsys.readouterr().out
    assert "seed:" in out and "fast (default):" in out
    best = out[out.index("best:") :]  # the recipe's settings for clothes, under it
    assert "on clothes (Fashion-MNIST): epochs 18, weight decay 0.002" in best


def test_the_layer_tokens_are_listed_where_a_pip_install_can_see_them(capsys):
    """A bad layer token points at `digitnet recipes --layers`, which lists them all
    (docs/layers.md is not in an installed package)."""
    assert main(["train", "--layers", "dense256,rleu,dense10", "--quiet"]) == 2
    assert "`digitnet recipes --layers` lists every form" in capsys.readouterr().err
    assert main(["recipes", "--layers"]) == 0
    table = capsys.readouterr().out
    assert table.startswith("| token | layer | notes |")
    for token in ("`dense128`", "`conv32k5`", "`pool2`", "`bn`", "`dropout0.4`", "`relu`"):
        assert f"| {token} |" in table


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["train", "--data", "{tmp}/missing.csv", "--out", "{tmp}/model.npz"],
            "{tmp}/missing.csv: no such file",
        ),
        (
            ["train", "--data", "{tmp}/bad.csv", "--out", "{tmp}/model.npz"],
            "{tmp}/bad.csv: line 3, column 2: pixel 300 is outside 0..255",
        ),
        (
            ["predict", "{tmp}/model.npz", "{tmp}/bad.csv", "--out", "{tmp}/submission.csv"],
            "{tmp}/bad.csv: line 3, column 2: pixel 300 is outside 0..255",
        ),
        (
            ["predict", "{tmp}/notamodel.npz", "{tmp}/test.csv", "--out", "{tmp}/submission.csv"],
            "{tmp}/notamodel.npz: not a digitnet model",
        ),
        (
            ["evaluate", "{tmp}/model.npz", "--data", "{tmp}/test.csv"],
            "{tmp}/test.csv: has no 'label' column",
        ),
        (["train", "--recipe", "nope", "--out", "{tmp}/model.npz"], "unknown recipe 'nope'"),
    ],
    ids=[
        "missing data",
        "bad train csv",
        "bad test csv",
        "foreign model",
        "unlabelled eval",
        "unknown recipe",
    ],
)
def test_bad_input_one_line_exit_2_nothing_lost(tmp_path, sample, args, message):
    # Existing good outputs that a failed command must leave untouched.
    model = tmp_path / "model.npz"
    assert main(["train", "--epochs", "1", "--out", str(model), "--quiet"]) == 0
    submission = tmp_path / "submission.csv"
    submission.write_text("ImageId,Label\n1,7\n")
    before = {path: path.read_bytes() for path in (model, submission)}

    write_test_csv(tmp_path / "test.csv", sample.images[:5])
    lines = ["label," + ",".join(f"pixel{i}" for i in range(784))]
    lines += [",".join(["1"] + ["0"] * 784), ",".join(["2", "300"] + ["0"] * 783)]
    (tmp_path / "bad.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "notamodel.npz").write_text("hello")

    result = run_cli(*(arg.format(tmp=tmp_path) for arg in args))
    assert result.returncode == 2
    assert result.stderr.strip() == f"digitnet: error: {message.format(tmp=tmp_path)}" or (
        result.stderr.startswith("digitnet: error: ")
        and message.format(tmp=tmp_path) in result.stderr
    )
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert {path: path.read_bytes() for path in before} == before
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")]
    assert leftovers == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--epochs", "zero"],
         "digitnet: error: argument --epochs: 'zero' is not a whole number"),
        (["train", "--threads", "0"],
         "digitnet: error: argument --threads: 0 must be at least 1"),
        (["train", "--epochs", "1.5"], "'1.5' is not a whole number"),
        (["trian"], "digitnet: error: argument COMMAND: invalid choice: 'trian'"),
    ],
)  # fmt: skip
def test_bad_option_value_is_one_line_naming_it_and_where_help_is(args, message, tmp_path):
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr  # not argparse's usage block first
    assert message in result.stderr and result.stderr.rstrip().endswith("--help)")
    assert "Traceback" not in result.stderr and list(tmp_path.iterdir()) == []


def test_a_small_csv_holds_out_a_tenth_where_the_recipe_asks_1000_rows(tmp_path, sample):
    """A Kaggle CSV cut down to 300 rows trains with the default recipe: a tenth of
    it held out (the recipe's 1,000 would be more than it has), and a line says so;
    a dev size given by name is kept, and refused, naming its flag, if it cannot be."""
    data = write_train_csv(tmp_path / "small.csv", sample.images[:300], sample.labels[:300])
    model = tmp_path / "m.npz"
    trained = run_cli("train", "--data", str(data), "--epochs", "1", "--out", str(model))
    assert trained.returncode == 0, trained.stderr
    said = "the data has 300 rows: 30 held out for the dev set (a tenth), not recipe fast's 1000"
    assert said in trained.stdout
    assert trained.stdout.index(said) < trained.stdout.index("recipe: fast")  # before the settings
    assert "dev 10% of the rows" in trained.stdout
    saved = load_model(model)
    assert saved.info["dev_size"] == 30 and saved.info["train_size"] == 270
    refused = run_cli("train", "--data", str(data), "--dev-size", "300", "--out", str(model))
    assert refused.returncode == 2
    assert "--dev-size 300: must be a count below 300" in refused.stderr
    assert load_model(model).info["dev_size"] == 30  # the good model kept


def test_a_resumed_run_holds_out_the_rows_it_held_out_before(tmp_path, sample):
    """A dev size given by name (800 of 1,200 rows, more than half) is kept, and so is
    it on --resume, where the recipe is read back from the model: its dev rows must
    stay rows it never trained on."""
    data = write_train_csv(tmp_path / "d.csv", sample.images[:1200], sample.labels[:1200])
    model = tmp_path / "m.npz"
    first = run_cli("train", "--data", str(data), "--epochs", "1", "--dev-size", "800",
                    "--out", str(model))  # fmt: skip
    assert first.returncode == 0 and "held out" not in first.stdout, first.stderr
    resumed = run_cli("train", "--resume", str(model), "--epochs", "1", "--out", str(model))
    assert resumed.returncode == 0, resumed.stderr
    assert "held out" not in resumed.stdout
    again = load_model(model)
    assert again.info["dev_size"] == 800 and again.history["epoch"] == [1, 2]


def test_a_batch_larger_than_the_training_rows_is_said(tmp_path):
    trained = run_cli("train", "--epochs", "1", "--batch-size", "100000", "--out",
                      str(tmp_path / "m.npz"))  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    assert "--batch-size 100000 is more than the 4000 training rows" in trained.stdout


@pytest.mark.parametrize("threads", [0, -1, "2", 2.5, True])
def test_the_api_refuses_a_thread_count_that_is_not_one(threads):
    import digitnet

    with pytest.raises(digitnet.DigitnetError, match=r"^threads=.*: must be a whole number"):
        digitnet.train("fast", epochs=1, threads=threads, verbose=False)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_saves_the_best_model_so_far(tmp_path):
    model = tmp_path / "model.npz"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "digitnet",
            "train",
            "--recipe",
            "seed",
            "--epochs",
            "100000",
            "--log-every",
            "10",
            "--out",
            str(model),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    for _ in range(3):  # wait until training is under way: three measurement lines
        assert process.stdout.readline().startswith(("data:", "recipe:", "iteration"))
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert f"interrupted; saved the best model so far to {model}" in out
    assert "Traceback" not in err
    saved = load_model(model)
    assert saved.info["interrupted"] is True
    best = saved.history["epoch"].index(saved.info["best_epoch"])
    assert saved.history["dev_accuracy"][best] == max(saved.history["dev_accuracy"])


def test_evaluate_without_data_measures_the_rows_the_model_held_out(tmp_path, capsys,
                                                                     small_train_csv):  # fmt: skip
    model = tmp_path / "m.npz"
    assert main(["train", "--data", str(small_train_csv), "--epochs", "2", "--dev-size", "150",
                 "--out", str(model), "--quiet"]) == 0  # fmt: skip
    trained_dev = load_model(model).history["dev_accuracy"][-1]
    capsys.readouterr()
    assert main(["evaluate", str(model)]) == 0
    out = capsys.readouterr().out
    assert "the 150 rows the model held out (its dev set)" in out
    assert f"accuracy: {trained_dev:.4f} (" in out  # exactly the dev set of training
    # The same rows, named explicitly; and refused for other data.
    assert main(["evaluate", str(model), "--data", str(small_train_csv), "--held-out"]) == 0
    assert f"accuracy: {trained_dev:.4f} (" in capsys.readouterr().out
    assert main(["evaluate", str(model), "--data", "sample", "--held-out"]) == 2
    assert f"sample: is not the data {model} was trained on" in capsys.readouterr().err
    # All of the training data: flagged as optimistic.
    assert main(["evaluate", str(model), "--data", str(small_train_csv)]) == 0
    assert (
        f"is the data {model} was trained on: these figures are optimistic"
        in capsys.readouterr().out
    )


def test_evaluate_needs_data_for_a_model_that_does_not_record_it(capsys):
    old = Path(__file__).parent / "data" / "format1_mlp.npz"  # digitnet 0.1 recorded no spec
    assert main(["evaluate", str(old)]) == 2
    assert (
        "does not record the data it was trained on (bundled MNIST sample (5000 images)); "
        "give it with --data PATH --held-out" in capsys.readouterr().err
    )


def test_version_full_batch_threads_and_show_random(tmp_path, capsys):
    import digitnet

    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0 and capsys.readouterr().out.strip() == (
        f"digitnet {digitnet.__version__}"
    )
    model = tmp_path / "m.npz"
    assert main(["train", "--full-batch", "--epochs", "30", "--log-every", "10", "--threads",
                 "2", "--out", str(model), "--quiet"]) == 0  # fmt: skip
    saved = load_model(model)
    assert saved.recipe["batch_size"] is None and saved.history["epoch"] == [10, 20, 30]
    assert saved.history["train_loss"][-1] < saved.history["train_loss"][0]  # it learned
    capsys.readouterr()
    assert main(["show", str(model), "--random"]) == 0
    out = capsys.readouterr().out
    assert "data: bundled MNIST sample (5000 images), row " in out and "top guesses:" in out
    with pytest.raises(SystemExit) as refused:  # argparse refuses: usage and one error line
        main(["train", "--threads", "0"])
    assert refused.value.code == 2
    assert "--threads: 0 must be at least 1" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("typed", "hint"),
    [
        (["--hidden-sizes", "64"], " (did you mean --hidden?)"),
        (["--learning_rate", "0.1"], " (did you mean --learning-rate?)"),
        (["--optimiser", "adam"], " (did you mean --optimizer?)"),
        (["--bogus"], ""),
    ],
)
def test_an_unknown_option_is_reported_by_its_command_with_the_nearest(typed, hint, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", *typed])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.startswith("digitnet: error: ")
    assert err.strip().endswith(
        f"unrecognized arguments: {' '.join(typed)}{hint} (see digitnet train --help)"
    )


def test_a_bare_digitnet_shows_help_but_does_not_claim_success(capsys):
    assert main([]) == 2
    out, err = capsys.readouterr()
    assert "train" in out and "give a command" in err


def test_a_flag_cut_short_is_not_guessed(tmp_path, capsys):
    """argparse took `--epoch 3` for --epochs; a typo of another flag could be taken
    for the wrong one."""
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--epoch", "1", "--out", str(tmp_path / "m.npz")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("digitnet: error: unrecognized arguments: --epoch")
    assert not (tmp_path / "m.npz").exists()
