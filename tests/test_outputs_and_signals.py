"""An output never destroys an input or a non-file; signals and closed pipes lose no work."""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
import time

import numpy as np
import pytest

from digitnet.interfaces.cli import main
from digitnet.model_file import load_model


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.npz"
    assert main(["train", "--epochs", "1", "--out", str(path), "--quiet"]) == 0
    return path


def _one_line_error(capsys, text):
    err = capsys.readouterr().err.strip()
    assert text in err and len(err.splitlines()) == 1 and "Traceback" not in err
    return err


def test_predict_refuses_to_overwrite_its_test_file(model_file, small_test_csv, capsys):
    before = small_test_csv.read_bytes()
    assert main(["predict", str(model_file), str(small_test_csv), "--out",
                 str(small_test_csv)]) == 2  # fmt: skip
    _one_line_error(capsys, "is also an input")
    assert small_test_csv.read_bytes() == before


def test_predict_refuses_to_overwrite_its_model(model_file, small_test_csv, capsys):
    before = model_file.read_bytes()
    assert main(["predict", str(model_file), str(small_test_csv), "--out", str(model_file)]) == 2
    _one_line_error(capsys, "is also an input")
    assert model_file.read_bytes() == before


def test_train_refuses_to_write_over_its_data(small_train_csv, capsys):
    before = small_train_csv.read_bytes()
    assert main(["train", "--data", str(small_train_csv), "--out", str(small_train_csv)]) == 2
    _one_line_error(capsys, "is also an input")
    assert small_train_csv.read_bytes() == before


def test_the_same_file_by_another_name_is_also_refused(model_file, small_test_csv, capsys):
    alias = small_test_csv.parent / "alias.csv"
    os.link(small_test_csv, alias)
    assert main(["predict", str(model_file), str(small_test_csv), "--out", str(alias)]) == 2
    _one_line_error(capsys, "is also an input")


@pytest.mark.parametrize("kind", ["folder", "fifo", "device"])
def test_only_regular_files_are_replaced(kind, model_file, small_test_csv, tmp_path, capsys):
    if kind == "folder":
        target = tmp_path / "a_folder"
        target.mkdir()
    elif kind == "fifo":
        target = tmp_path / "a_fifo"
        os.mkfifo(target)
    else:
        target = tmp_path / "null"  # a link to /dev/null: refused before anything is written
        target.symlink_to(os.devnull)
    assert main(["predict", str(model_file), str(small_test_csv), "--out", str(target)]) == 2
    _one_line_error(capsys, str(target))
    assert os.path.exists(os.devnull) and stat.S_ISCHR(os.stat(os.devnull).st_mode)
    if kind == "fifo":
        assert stat.S_ISFIFO(os.stat(target).st_mode)


def test_a_symlink_at_out_is_followed_and_kept(model_file, small_test_csv, tmp_path):
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    assert main(["predict", str(model_file), str(small_test_csv), "--out", str(link)]) == 0
    assert link.is_symlink() and real.read_text().startswith("ImageId,Label")


def test_an_existing_file_keeps_its_permissions(model_file, small_test_csv, tmp_path):
    out = tmp_path / "submission.csv"
    out.write_text("old\n")
    out.chmod(0o640)
    assert main(["predict", str(model_file), str(small_test_csv), "--out", str(out)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o640


def test_a_missing_output_folder_is_refused_before_training(tmp_path, capsys):
    started = time.perf_counter()
    assert main(["train", "--epochs", "50", "--out", str(tmp_path / "nope" / "m.npz")]) == 2
    _one_line_error(capsys, "does not exist")
    assert time.perf_counter() - started < 5  # no training happened first


def test_a_full_disk_gives_one_line_and_keeps_the_old_file(model_file, tmp_path, monkeypatch,
                                                           capsys):  # fmt: skip
    out = tmp_path / "m.npz"
    out.write_bytes(model_file.read_bytes())
    before = out.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(np, "savez_compressed", disk_full)
    assert main(["train", "--epochs", "1", "--out", str(out), "--quiet"]) == 2
    _one_line_error(capsys, "No space left on device")
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]  # no temporary file left


def test_running_out_of_memory_gives_one_line_and_keeps_the_old_file(
    model_file, tmp_path, monkeypatch, capsys
):
    out = tmp_path / "m.npz"
    out.write_bytes(model_file.read_bytes())
    before = out.read_bytes()

    def out_of_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 7.4 GiB for an array")

    monkeypatch.setattr("digitnet.interfaces.cli.run", out_of_memory)
    assert main(["train", "--epochs", "1", "--out", str(out), "--quiet"]) == 2
    _one_line_error(capsys, "out of memory")
    assert out.read_bytes() == before


def _cli(*args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "digitnet", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)  # fmt: skip


def test_sigterm_saves_the_best_model_so_far(tmp_path):
    out = tmp_path / "m.npz"
    process = _cli("train", "--epochs", "200", "--out", str(out), cwd=tmp_path)
    first = process.stdout.readline()
    while not first.startswith("epoch"):  # a measured epoch, not the recipe line
        first = process.stdout.readline()
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    assert "interrupted; saved the best model so far" in stdout
    model = load_model(out)
    assert model.info["interrupted"] and 1 <= len(model.history["epoch"]) < 200
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def test_a_stop_before_the_first_measurement_keeps_the_good_model(model_file, tmp_path):
    """Nothing measured yet: no weights are 'the best so far', so --out stays as it was."""
    out = tmp_path / "m.npz"
    out.write_bytes(model_file.read_bytes())
    before = out.read_bytes()
    process = _cli(
        "train", "--epochs", "200", "--log-every", "500", "--out", str(out), cwd=tmp_path
    )  # fmt: skip  (measured only after epoch 200)
    line = process.stdout.readline()
    while not line.startswith("recipe:"):
        line = process.stdout.readline()
    time.sleep(1.0)  # well into training
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert f"interrupted before the first measurement: nothing saved ({out} is untouched)" in (
        stdout
    )
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def test_a_closed_pipe_does_not_lose_the_model(tmp_path):
    out = tmp_path / "m.npz"
    command = f"{sys.executable} -m digitnet train --epochs 3 --out {out} | head -1"
    result = subprocess.run(["bash", "-c", f"set -o pipefail; {command}"], capture_output=True,
                            text=True, timeout=120)  # fmt: skip
    assert result.stdout.startswith("data: bundled MNIST sample")
    assert "Traceback" not in result.stderr
    assert load_model(out).history["epoch"] == [1, 2, 3]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_predictions_to_a_full_or_closed_stdout_are_one_line(model_file):
    """`--out -` onto a full disk, or with stdout closed: one line, exit 2."""
    base = f"{sys.executable} -m digitnet predict {model_file} sample --out -"
    for redirect, message in ((">/dev/full", "No space left on device"),
                              (">&-", "--out -: the standard output is closed")):  # fmt: skip
        done = subprocess.run(["bash", "-c", f"{base} {redirect}"], capture_output=True,
                              text=True, timeout=120)  # fmt: skip
        errors = [line for line in done.stderr.splitlines() if "error" in line]
        assert done.returncode == 2 and errors == [f"digitnet: error: {message}"], done.stderr
        assert "Traceback" not in done.stderr


def test_ctrl_c_while_the_command_is_still_importing_is_one_line(monkeypatch, capsys):
    """The entry point catches a Ctrl-C that lands before the command line is imported."""
    import types

    from digitnet import command

    class Importing(types.ModuleType):
        def __getattr__(self, name):
            raise KeyboardInterrupt  # as if Ctrl-C landed mid-import

    monkeypatch.setitem(sys.modules, "digitnet.interfaces.cli", Importing("cli"))
    assert command.main() == 130
    assert capsys.readouterr().err == "digitnet: interrupted\n"


def test_the_installed_command_is_the_entry_point():
    from pathlib import Path

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["digitnet"] == "digitnet.command:main"


def test_the_prediction_bar_shows_on_a_terminal_only(capsys):
    """`digitnet evaluate`/`predict` on many images drew tqdm's bar into log files: with
    progress=None the bar is for a terminal; progress=True still asks for it."""
    import numpy as np

    import digitnet

    model = digitnet.Model(digitnet.Network.build("dense10"))
    many = np.zeros((40_001, 784), np.uint8)
    model.predict_proba(many, progress=None)  # stderr is captured here: not a terminal
    assert "predicting" not in capsys.readouterr().err
    model.predict_proba(many, progress=True)
    assert "predicting" in capsys.readouterr().err


def test_names_that_are_not_utf8_are_read_cached_and_written_as_their_own_bytes(
    model_file, small_train_csv, tmp_path, monkeypatch
):
    """A file name is bytes; Python holds b'\\xfe' as '\\udcfe', which .encode(), a
    UTF-8 text file and a strict stdout refused: tracebacks in the data cache, in
    predict's CSV, in the report's page and in every line that names the file."""
    from PIL import Image

    monkeypatch.setenv("PYTHONIOENCODING", "utf-8:strict")  # as in a UTF-8 locale

    def digitnet(*args: str) -> bytes:
        done = subprocess.run([sys.executable, "-m", "digitnet", *args], capture_output=True,
                              timeout=300)  # fmt: skip
        assert done.returncode == 0 and b"Traceback" not in done.stderr, done.stderr
        return done.stdout

    odd = tmp_path / os.fsdecode(b"tr\xfe")
    odd.mkdir()
    data = odd / os.fsdecode(b"train\xe9.csv")
    data.write_bytes(small_train_csv.read_bytes())
    model = tmp_path / "m.npz"
    for _ in range(2):  # the second run reads the parsed data from the cache
        said = digitnet("train", "--data", str(data), "--epochs", "1", "--out", str(model))
        assert b"train\xe9.csv" in said
    digitnet("report", str(model), "--data", str(data), "--held-out", "--out",
             str(tmp_path / "report"))  # fmt: skip
    assert b"train\xe9.csv" in (tmp_path / "report" / "index.html").read_bytes()
    picture = tmp_path / os.fsdecode(b"seven\xff.png")
    ink = np.kron(np.eye(4, dtype=np.uint8) * 255, np.ones((8, 8), np.uint8))
    Image.fromarray(ink).save(picture)
    out = tmp_path / "labels.csv"
    digitnet("predict", str(model_file), str(picture), "--out", str(out))
    assert out.read_bytes().splitlines()[1].startswith(os.fsencode(picture) + b",")
    assert (
        digitnet("predict", str(model_file), str(picture), "--out", "-")
        .splitlines()[1]
        .startswith(os.fsencode(picture) + b",")
    )


@pytest.mark.parametrize(
    "environment",
    [
        {"PYTHONIOENCODING": "ascii"},
        {"PYTHONIOENCODING": "latin-1"},
        {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": ""},
    ],  # fmt: skip
)
def test_a_terminal_that_is_not_utf8_gets_question_marks_not_a_traceback(
    model_file, tmp_path, environment
):
    """`show`'s drawing (block characters) and a model named 'é.npz' ended in a
    UnicodeEncodeError, after the model was written, on an ASCII or Latin-1 terminal."""
    env = {**os.environ, **environment}
    shown = subprocess.run([sys.executable, "-m", "digitnet", "show", str(model_file),
                            "--index", "3"], capture_output=True, env=env, timeout=120)  # fmt: skip
    assert shown.returncode == 0 and b"Traceback" not in shown.stderr, shown.stderr
    assert b"row 3" in shown.stdout and b"+-----" in shown.stdout
    named = tmp_path / "é.npz"
    trained = subprocess.run([sys.executable, "-m", "digitnet", "train", "--epochs", "1",
                              "--out", str(named)], capture_output=True, env=env,
                             timeout=120)  # fmt: skip
    assert trained.returncode == 0 and b"Traceback" not in trained.stderr, trained.stderr
    assert named.is_file() and b"saved model to" in trained.stdout
