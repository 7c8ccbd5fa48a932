"""The hostile-input suite: files and settings from a stranger, or from bad luck.

Every case runs a real command and must end the same way: exit status 2, one
line on stderr that names the problem, no traceback, no terminal escape codes
echoed, and every file that was there before unchanged, nothing new written.
(Memory bounds, signals, pipes and downloads have their own tests:
test_idx.py, test_kaggle_csv.py, test_outputs_and_signals.py, test_download.py;
random and mutated files: test_fuzz.py.)
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digitnet.data.kaggle_csv import TEST_HEADER, TRAIN_HEADER
from digitnet.interfaces.cli import main
from test_idx import idx_bytes

Setup = Callable[[Path, Path], list[str]]  # (folder, a good model) -> command-line arguments
CASES: dict[str, tuple[Setup, str]] = {}


def case(name: str, message: str) -> Callable[[Setup], Setup]:
    def register(setup: Setup) -> Setup:
        CASES[name] = (setup, message)
        return setup

    return register


def _csv(folder: Path, body: str, header: list[str] = TEST_HEADER, name: str = "d.csv") -> str:
    path = folder / name
    path.write_text(",".join(header) + "\n" + body)
    return str(path)


ROW = ",".join(["0"] * 784)


def _predict(folder: Path, model: Path, data: str) -> list[str]:
    return ["predict", str(model), data, "--out", str(folder / "out.csv")]


# --- Kaggle CSV ---------------------------------------------------------------------------
case("csv empty", "is empty")(lambda f, m: _predict(f, m, _write(f / "e.csv", b"")))
case("csv header only", "no data rows")(lambda f, m: _predict(f, m, _csv(f, "")))
case("csv separated by semicolons", "its columns are separated by ';', not commas")(
    lambda f, m: _predict(f, m, _write(f / "s.csv", (";".join(TEST_HEADER) + "\n"
                                                     + ROW.replace(",", ";") + "\n").encode()))
)  # fmt: skip
case("csv 23-digit cell", "column 1: 12345678901234567890... is out of range")(
    lambda f, m: _predict(f, m, _csv(f, "12345678901234567890123" + ROW[1:] + "\n"))
)
case("csv no header", "no header row")(
    lambda f, m: _predict(f, m, _write(f / "n.csv", (ROW + "\n").encode()))
)
case("csv short row", "line 3: has 783 columns, expected 784")(
    lambda f, m: _predict(f, m, _csv(f, ROW + "\n" + ",".join(["0"] * 783) + "\n"))
)
case("csv word in a cell", "line 2, column 5: 'ink' is not a whole number")(
    lambda f, m: _predict(f, m, _csv(f, ",".join(["0"] * 4 + ["ink"] + ["0"] * 779) + "\n"))
)
case("csv pixel 256", "line 2, column 1: pixel 256 is outside 0..255")(
    lambda f, m: _predict(f, m, _csv(f, "256" + ROW[1:] + "\n"))
)
case("csv negative pixel", "pixel -1 is outside 0..255")(
    lambda f, m: _predict(f, m, _csv(f, "-1" + ROW[1:] + "\n"))
)
case("csv label 10", "label 10 is outside 0..9")(
    lambda f, m: [
        "train",
        "--data",
        _csv(f, "10," + ROW + "\n", TRAIN_HEADER),
        "--out",
        str(f / "m2.npz"),
    ]  # fmt: skip
)
case("csv test file to train", "has no 'label' column")(
    lambda f, m: ["train", "--data", _csv(f, ROW + "\n"), "--out", str(f / "m2.npz")]
)
case("csv binary garbage", "d.bin")(
    lambda f, m: _predict(f, m, _write(f / "d.bin", bytes(range(256)) * 40))
)
case("a PDF given as data", "scan.pdf: is a PDF document, not a CSV file")(
    lambda f, m: _predict(f, m, _write(f / "scan.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj"))
)
case("a model file given as training data", "is a zip archive")(
    lambda f, m: ["train", "--data", str(m), "--out", str(f / "m2.npz")]
)
case("a UTF-16 CSV, as spreadsheets save 'Unicode text'", "text in UTF-16, not UTF-8")(
    lambda f, m: _predict(f, m, _write(f / "u16.csv", (",".join(TEST_HEADER) + "\n" + ROW
                                                       + "\n").encode("utf-16")))
)  # fmt: skip
case("csv not utf-8", "not UTF-8")(
    lambda f, m: _predict(f, m, _write(f / "u.csv", b"\xff\xfe\x00bad\n"))
)
case("csv line of 100 KB", "longer than 16384 characters")(
    lambda f, m: _predict(f, m, _csv(f, "1" * 100_000 + "\n"))
)
case("csv is /dev/zero", "/dev/zero: line 1 is longer than")(
    lambda f, m: _predict(f, m, "/dev/zero")
)
case("csv is a folder", "a folder with no pictures (PNG, JPG...) nor IDX files")(
    lambda f, m: _predict(f, m, _mkdir(f / "folder.csv"))
)
case("csv missing", "no such file")(lambda f, m: _predict(f, m, str(f / "missing.csv")))
case("picture to predict is not one", "p.png")(
    lambda f, m: _predict(f, m, _write(f / "p.png", b"\x89PNG\r\n\x1a\n truncated"))
)


# --- IDX folders -------------------------------------------------------------------------
def _idx_folder(folder: Path, images: bytes, labels: bytes) -> list[str]:
    data = folder / "idx"
    data.mkdir()
    (data / "train-images-idx3-ubyte").write_bytes(images)
    (data / "train-labels-idx1-ubyte").write_bytes(labels)
    return ["train", "--data", str(data), "--out", str(folder / "m2.npz")]


IMAGES = idx_bytes(np.zeros((20, 28, 28), np.uint8))
LABELS = idx_bytes(np.arange(20, dtype=np.uint8) % 10)
case("idx truncated", "truncated: ")(lambda f, m: _idx_folder(f, IMAGES[:-100], LABELS))
case("idx images where the labels go", "holds images (magic number 2051), where labels belong")(
    lambda f, m: _idx_folder(f, IMAGES, IMAGES)
)
case("idx wrong magic", "wrong magic number")(
    lambda f, m: _idx_folder(f, b"\x01\x02" + IMAGES[2:], LABELS)
)
case("idx value type", "is not unsigned bytes")(
    lambda f, m: _idx_folder(f, IMAGES[:2] + b"\x0d" + IMAGES[3:], LABELS)
)
case("idx count mismatch", "20 images but 19 labels")(
    lambda f, m: _idx_folder(f, IMAGES, idx_bytes(np.zeros(19, np.uint8)))
)
case("idx label 12", "label 12 is outside 0..9")(
    lambda f, m: _idx_folder(f, IMAGES, idx_bytes(np.full(20, 12, np.uint8)))
)
case("idx zero images", "holds 0 images")(
    lambda f, m: _idx_folder(
        f, idx_bytes(np.zeros((0, 28, 28), np.uint8)), idx_bytes(np.zeros(0, np.uint8))
    )  # fmt: skip
)
case("idx corrupt gzip", "corrupt or truncated gzip")(
    lambda f, m: _idx_folder(f, gzip.compress(IMAGES)[:40], LABELS)
)
case("idx gzip bomb", "longer than its dimensions")(
    lambda f, m: _idx_folder(f, gzip.compress(IMAGES + bytes(50_000_000)), LABELS)
)
case("idx huge claim", "more than any IDX data set")(
    lambda f, m: _idx_folder(f, b"\x00\x00\x08\x03" + (10**9).to_bytes(4, "big") * 3, LABELS)
)
case("idx 27x27 images", "expected 28x28 images")(
    lambda f, m: _idx_folder(f, idx_bytes(np.zeros((20, 27, 27), np.uint8)), LABELS)
)


# --- model files -------------------------------------------------------------------------
def _model_with(folder: Path, good: Path, change: Callable[[dict], None]) -> Path:
    with np.load(good) as archive:
        arrays = dict(archive)
    change(arrays)
    path = folder / "bad.npz"
    np.savez(path, **arrays)
    return path


def _metadata(change: Callable[[dict], None]) -> Callable[[dict], None]:
    def edit(arrays: dict) -> None:
        metadata = json.loads(str(arrays["metadata"]))
        change(metadata)
        arrays["metadata"] = np.array(json.dumps(metadata))

    return edit


def _metadata_text(good: Path) -> str:
    with np.load(good) as archive:
        return str(archive["metadata"])


def _evaluate(model: Path) -> list[str]:
    return ["evaluate", str(model), "--data", "sample"]


case("model random bytes", "not a digitnet model file")(
    lambda f, m: _evaluate(Path(_write(f / "r.npz", np.random.default_rng(0).bytes(3000))))
)
case("model text file", "not a digitnet model file")(
    lambda f, m: _evaluate(Path(_write(f / "t.npz", b"label,pixel0\n")))
)
case("model truncated", "corrupt/truncated")(
    lambda f, m: _evaluate(Path(_write(f / "c.npz", m.read_bytes()[:2000])))
)
case("model foreign npz", "no format marker")(
    lambda f, m: _evaluate(_save(f / "x.npz", weights=np.zeros(3)))
)
case("model pickle inside", "not a JSON string")(
    lambda f, m: _evaluate(
        _save(f / "p.npz", digitnet_format=np.array(2), metadata=np.array([{"x": 1}], dtype=object))
    )  # fmt: skip
)
case("model from the future", "newer digitnet")(
    lambda f, m: _evaluate(_model_with(f, m, lambda a: a.update(digitnet_format=np.array(9))))
)
case("model NaN weights", "NaN or infinite")(
    lambda f, m: _evaluate(_model_with(f, m, lambda a: a["layer0_weight"].fill(np.nan)))
)
case("model wrong shape", "but the layers need")(
    lambda f, m: _evaluate(
        _model_with(f, m, lambda a: a.update(layer0_weight=np.zeros((784, 3), np.float32)))
    )  # fmt: skip
)
case("model 20 outputs", "has 20 outputs")(
    lambda f, m: _evaluate(
        _model_with(f, m, _metadata(lambda d: d.update(layers="dense8,relu,dense20")))
    ),  # fmt: skip
)
case("model bogus layers", "is not one digitnet knows")(
    lambda f, m: _evaluate(_model_with(f, m, _metadata(lambda d: d.update(layers="warp9"))))
)
case("model metadata not JSON", "its metadata is not valid JSON")(
    lambda f, m: _evaluate(_model_with(f, m, lambda a: a.update(metadata=np.array("{nope"))))
)
case("model deep JSON", "corrupt")(
    lambda f, m: _evaluate(
        _model_with(f, m, lambda a: a.update(metadata=np.array("[" * 100_000 + "]" * 100_000)))
    )  # fmt: skip
)
case("model bad preprocessing", "'divide_by'")(
    lambda f, m: _evaluate(
        _model_with(f, m, _metadata(lambda d: d.update(preprocessing={"divide_by": -1})))
    ),  # fmt: skip
)
case("model history not numbers", "history")(
    lambda f, m: _evaluate(
        _model_with(f, m, _metadata(lambda d: d.update(history={"epoch": ["x"]})))
    ),  # fmt: skip
)
case("model info wrong type", "info field 'train_size' has the wrong type")(
    lambda f, m: [
        "evaluate",
        str(_model_with(f, m, _metadata(lambda d: d["info"].update(train_size="many")))),
    ],  # fmt: skip
)
case("model sends evaluate to read /etc/passwd", "was trained on passwd (checksum")(
    lambda f, m: [
        "evaluate",
        str(
            _model_with(
                f,
                m,
                _metadata(
                    lambda d: d["info"].update(data_spec="/etc/passwd", data_checksum="0" * 32)
                ),
            )
        ),
    ],  # fmt: skip
)
case("model data name climbs out", "was trained on secret.csv (checksum")(
    lambda f, m: [
        "train",
        "--resume",
        str(
            _model_with(
                f,
                m,
                _metadata(
                    lambda d: d["info"].update(data_spec="../../secret.csv", data_checksum="0" * 32)
                ),
            )
        ),
        "--epochs",
        "1",
        "--out",
        str(f / "m2.npz"),
    ],  # fmt: skip
)
case("model checksum not text", "info field 'data_checksum' has the wrong type")(
    lambda f, m: _evaluate(
        _model_with(f, m, _metadata(lambda d: d["info"].update(data_checksum=7)))
    ),  # fmt: skip
)
case("model huge claimed array", "(1000000000, 1000000)")(
    lambda f, m: _evaluate(_huge_member(f, m))
)
case("model weights that overflow", "outputs overflow to infinity or NaN")(
    lambda f, m: _evaluate(_model_with(f, m, lambda a: a["layer0_weight"].fill(1e37)))
)
case("model divides pixels by 1e-300", "'divide_by' 1e-300 is outside")(
    lambda f, m: _evaluate(
        _model_with(f, m, _metadata(lambda d: d.update(preprocessing={"divide_by": 1e-300})))
    ),  # fmt: skip
)
case("model huge layers in a small file", "more than the file's")(
    lambda f, m: _evaluate(
        _model_with(f, m, _metadata(lambda d: d.update(layers="dense20000,relu,dense10")))
    ),  # fmt: skip
)
case("model a million units twice", "digitnet builds at most 25,000,000")(
    lambda f, m: _evaluate(_model_with(f, m, _metadata(
        lambda d: d.update(layers="dense1000000,relu,dense1000000,dense10"))))
)  # fmt: skip
case("model 10**12 inputs", "parameters to learn")(
    lambda f, m: _evaluate(_model_with(f, m, _metadata(lambda d: d.update(inputs=10**12))))
)
case("model 0 inputs", "inputs per row must be a whole number >= 1, not 0")(
    lambda f, m: _evaluate(_model_with(f, m, _metadata(lambda d: d.update(inputs=0))))
)
case("model -1 inputs", "inputs per row must be a whole number >= 1, not -1")(
    lambda f, m: _evaluate(_model_with(f, m, _metadata(lambda d: d.update(inputs=-1))))
)


def _raw_metadata(folder: Path, good: Path, text: str) -> Path:
    """The model with its metadata JSON replaced by `text`, as written (escapes kept)."""
    return _model_with(folder, good, lambda arrays: arrays.update(metadata=np.array(text)))


def _encrypted(folder: Path, good: Path) -> Path:
    """The model with the zip's 'encrypted' flag set on every member."""
    data = bytearray(good.read_bytes())
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = data.find(signature)
        while start != -1:
            data[start + flag_at] |= 1
            start = data.find(signature, start + 4)
    path = folder / "encrypted.npz"
    path.write_bytes(bytes(data))
    return path


case("model with an 'encrypted' zip", "is encrypted, password required")(
    lambda f, m: _evaluate(_encrypted(f, m))
)
case("model metadata with half a character", "not valid Unicode (a lone surrogate)")(
    lambda f, m: _evaluate(_raw_metadata(f, m, json.dumps(
        {**json.loads(_metadata_text(m)), "info": {"data": "\ud800"}}).replace(
        "\\\\ud800", "\\ud800")))
)  # fmt: skip
case("model metadata with Infinity", "holds Infinity, which JSON does not allow")(
    lambda f, m: _evaluate(_raw_metadata(f, m, _metadata_text(m).replace(
        '"inputs": 784', '"inputs": Infinity')))
)  # fmt: skip
case("model history of epoch null", "history 'epoch' is not a rising list of whole numbers")(
    lambda f, m: ["train", "--resume", str(_model_with(f, m, _metadata(lambda d: d["history"]
                  .update({key: [None] if key == "epoch" else values[-1:]
                           for key, values in d["history"].items()})))), "--epochs", "1",
                  "--data", "sample"]
)  # fmt: skip
case("model of 100 inputs exported as a drawing page", "takes 100 inputs, not 28x28")(
    lambda f, m: ["export", str(_model_with(f, m, _hundred_inputs)), str(f / "page.html")]
)


def _hundred_inputs(arrays: dict) -> None:
    """A sound model of 100 inputs (not pixels): its metadata and first weights agree."""
    _metadata(lambda d: d.update(inputs=100))(arrays)
    arrays["layer0_weight"] = arrays["layer0_weight"][:100].copy()


case("knob layers of a trillion parameters", "digitnet builds at most 25,000,000")(
    lambda f, m: [
        "train",
        "--layers",
        "dense1000000,relu,dense1000000,dense10",
        "--out",
        str(f / "m2.npz"),
    ]  # fmt: skip
)
case("knob conv of 10**11 filters", "numbers per example")(
    lambda f, m: ["train", "--layers", "conv99999999999k3,dense10", "--out", str(f / "m2.npz")]
)
case("knob learning rate that diverges", "training diverged: the network's outputs became")(
    lambda f, m: ["train", "--learning-rate", "1e30", "--out", str(m)]  # the good model stays
)
case("knob linear layers that diverge", "training diverged")(
    lambda f, m: [
        "train",
        "--layers",
        "conv4k3same,conv4k1,pool1,dense10",
        "--threads",
        "2",
        "--out",
        str(m),
    ]  # fmt: skip
)
case("predict with a model whose recipe is bad", "bad.npz: its recipe: epochs=-5: must be")(
    lambda f, m: _predict(
        f, _model_with(f, m, _metadata(lambda d: d["recipe"].update(epochs=-5))), "sample"
    )  # fmt: skip
)
case("export to an empty name", "'': give the file (or FOLDER/) to export to")(
    lambda f, m: ["export", str(m), ""]
)
case("export to dash", "'-': give the file (or FOLDER/) to export to")(
    lambda f, m: ["export", str(m), "-", "--to", "html"]
)
case("report to dash", "-: this writes a folder of files")(
    lambda f, m: ["report", str(m), "--out", "-"]
)
case("explore to dash", "-: this writes a folder of files")(lambda f, m: ["explore", "--out", "-"])
case("train on empty data", "data '': empty; give a dataset name")(
    lambda f, m: ["train", "--data", "", "--out", str(f / "new.npz")]
)
case("resume given data", "train.csv: give the model file (.npz) to train on")(
    lambda f, m: ["train", "--resume", _write(f / "train.csv", b"label\n"), "--epochs", "1"]
)
case("resume bad recipe", "its recipe: learning_rate='fast': must be a number")(
    lambda f, m: [
        "train",
        "--resume",
        str(_model_with(f, m, _metadata(lambda d: d["recipe"].update(learning_rate="fast")))),
        "--out",
        str(f / "m2.npz"),
    ]  # fmt: skip
)


def _huge_member(folder: Path, good: Path) -> Path:
    path = folder / "huge.npz"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            if item.filename == "layer0_weight.npy":
                header = io.BytesIO()
                np.lib.format.write_array_header_2_0(
                    header, {"descr": "<f4", "fortran_order": False, "shape": (10**9, 10**6)}
                )
                target.writestr(item.filename, header.getvalue())
            else:
                target.writestr(item, source.read(item))
    return path


# --- images ------------------------------------------------------------------------------
def _show(model: Path, image: Path) -> list[str]:
    return ["show", str(model), "--image", str(image)]


case("image not an image", "not a picture this can read")(
    lambda f, m: _show(m, Path(_write(f / "i.png", b"GIF89a nonsense")))
)
case("image empty file", "e.png: is empty (0 bytes)")(
    lambda f, m: _show(m, Path(_write(f / "e.png", b"")))
)
case("image truncated", "not a readable image")(
    lambda f, m: _show(m, Path(_write(f / "t.png", _png_bytes(_noise())[:400])))
)
case("image one pixel tall and very wide", "a side is longer than 20,000")(
    lambda f, m: _show(m, _thin(f / "thin.png"))
)
case("image blank", "no digit found")(
    lambda f, m: _show(m, _png(f / "b.png", np.full((40, 40), 255)))
)
case("image bomb", "decompression bomb")(lambda f, m: _show(m, _bomb(f / "bomb.png")))


def _png(path: Path, pixels: np.ndarray) -> Path:
    Image.fromarray(pixels.astype(np.uint8)).save(path)
    return path


def _noise() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (60, 60))


def _png_bytes(pixels: np.ndarray) -> bytes:
    stream = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(stream, "PNG")
    return stream.getvalue()


def _thin(path: Path) -> Path:
    Image.new("1", (30_000, 1), 1).save(path)  # few pixels, but a gigabyte to decode tall
    return path


def _bomb(path: Path) -> Path:
    Image.new("1", (9000, 9000), 1).save(path)
    return path


# --- outputs, knobs, environment, names ----------------------------------------------------
case("out is a loop of symbolic links", "is a loop of symbolic links")(
    lambda f, m: [*_predict(f, m, _csv(f, ROW + "\n"))[:-1], str(_loop(f))]
)
case("out is the input", "is also an input")(
    lambda f, m: ["predict", str(m), _csv(f, ROW + "\n", name="t.csv"), "--out", str(f / "t.csv")]
)
case("out is the model", "is also an input")(
    lambda f, m: ["predict", str(m), _csv(f, ROW + "\n"), "--out", str(m)]
)


def _into_an_input_folder(folder: Path, model: Path, kind: str) -> list[str]:
    """predict reading a folder, asked to write over one of the files it reads."""
    inputs = _mkdir(folder / "in")
    if kind == "pictures":
        _png(Path(inputs) / "a.png", _noise())
        read = "a.png"
    else:  # an IDX folder
        (Path(inputs) / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03" + bytes(12))
        read = "t10k-images-idx3-ubyte"
    return ["predict", str(model), inputs, "--out", str(Path(inputs) / read)]


case("out onto a picture of the input folder", "in/a.png: is also an input")(
    lambda f, m: _into_an_input_folder(f, m, "pictures")
)
case("out onto a file of the input IDX folder", "t10k-images-idx3-ubyte: is also an input")(
    lambda f, m: _into_an_input_folder(f, m, "idx")
)
case("out of train named as a CSV", "m.csv: this command writes a model file (.npz)")(
    lambda f, m: ["train", "--epochs", "1", "--out", str(f / "m.csv")]
)
case("out empty for train", "an empty file name")(lambda f, m: ["train", "--out", ""])
case("out empty for predict", "an empty file name")(
    lambda f, m: _predict(f, m, _csv(f, ROW + "\n"))[:-1] + [""]
)
case("out empty for explore", "an empty folder name")(
    lambda f, m: ["explore", "--data", "sample", "--out", ""]
)
case("out is a folder", "is a folder")(
    lambda f, m: ["predict", str(m), _csv(f, ROW + "\n"), "--out", _mkdir(f / "dir")]
)
case("out is /dev/null", "not a regular file")(
    lambda f, m: ["predict", str(m), _csv(f, ROW + "\n"), "--out", "/dev/null"]
)
case("out folder missing", "does not exist")(
    lambda f, m: ["train", "--out", str(f / "nope" / "m.npz")]
)
case("knob learning rate nan", "--learning-rate nan")(
    lambda f, m: ["train", "--learning-rate", "nan", "--out", str(f / "m2.npz")]
)
case("knob dev size negative", "--dev-size -1.0")(
    lambda f, m: ["train", "--dev-size", "-1", "--out", str(f / "m2.npz")]
)
case("knob dev size 1", "--dev-size 1: a count of rows is 2 or more, a fraction below 1")(
    lambda f, m: ["train", "--dev-size", "1.0", "--out", str(f / "m2.npz")]
)
case("knob dev size not whole", "--dev-size 2.5: a count of rows is whole (2 or 3)")(
    lambda f, m: ["train", "--dev-size", "2.5", "--out", str(f / "m2.npz")]
)
case("knob dev size all the rows", "--dev-size 5000: must be a count below 5000")(
    lambda f, m: ["train", "--dev-size", "5000", "--out", str(f / "m2.npz")]
)
case("knob layers with an empty one", "an empty layer between commas")(
    lambda f, m: ["train", "--layers", "dense256,,dense10", "--out", str(f / "m2.npz")]
)
case("predict with the model and the data swapped", "the model comes first")(
    lambda f, m: ["predict", _csv(f, ROW + "\n"), str(m), "--out", str(f / "out.csv")]
)
case("out of explore is a file", "exists and is not a folder")(
    lambda f, m: ["explore", "--out", str(m)]
)
case("out of report is the model", "exists and is not a folder")(
    lambda f, m: ["report", str(m), "--out", str(m)]
)
case("knob step every 0", "--step-every 0.0")(
    lambda f, m: ["train", "--step-every", "0", "--out", str(f / "m2.npz")]
)
case("knob dropout 1", "--dropout 1.0: must be a finite number >= 0 and < 1")(
    lambda f, m: ["train", "--dropout", "1", "--out", str(f / "m2.npz")]
)
case("knob hidden and layers", "give --layers, or --hidden/--activation/--dropout, not both")(
    lambda f, m: [
        "train",
        "--hidden",
        "8",
        "--layers",
        "dense8,relu,dense10",
        "--out",
        str(f / "m2.npz"),
    ]  # fmt: skip
)
case("knob layers junk", "is not one digitnet knows")(
    lambda f, m: ["train", "--layers", "conv32k5,\x1b[2Jwarp", "--out", str(f / "m2.npz")]
)
case("escape codes in a file name", "no such file")(
    lambda f, m: _predict(f, m, str(f / "\x1b[31mred\x1b[0m.csv"))
)


# --- digitnet export ------------------------------------------------------------------------
case("export not a digitnet model", "not a digitnet model file")(
    lambda f, m: ["export", str(_save(f / "other.npz", weights=np.ones(3))), str(f / "p.html")]
)
case("export truncated model", "corrupt/truncated")(
    lambda f, m: ["export", _write(f / "cut.npz", m.read_bytes()[:300]), str(f / "p.html")]
)
case("export unknown format", "cannot tell the format from its name ('.tflite')")(
    lambda f, m: ["export", str(m), str(f / "net.tflite")]
)
case("export onto its input", "is also an input")(
    lambda f, m: ["export", str(m), str(m), "--to", "html"]
)
case("export onto its input, no --to", "is also an input")(lambda f, m: ["export", str(m), str(m)])
case("export a file format onto a folder", "is a folder")(
    lambda f, m: ["export", str(m), _mkdir(f / "out"), "--to", "html"]
)


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def _mkdir(path: Path) -> str:
    path.mkdir()
    return str(path)


def _save(path: Path, **arrays: np.ndarray) -> Path:
    np.savez(path, **arrays)
    return path


@pytest.fixture(scope="module")
def good_model(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("good") / "model.npz"
    assert main(["train", "--epochs", "1", "--dev-size", "500", "--out", str(path), "--quiet"]) == 0
    return path


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        str(path): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_input(name, tmp_path, good_model, capsys):
    setup, message = CASES[name]
    model = tmp_path / "model.npz"
    model.write_bytes(good_model.read_bytes())
    args = setup(tmp_path, model)
    before = _snapshot(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("digitnet: error: ") and message in lines[0], lines[0]
    assert "Traceback" not in err and "\x1b" not in err
    assert _snapshot(tmp_path) == before  # nothing changed, nothing new


def test_the_suite_is_broad():
    kinds = {name.split()[0] for name in CASES}
    assert len(CASES) >= 50 and {"csv", "idx", "model", "image", "out", "knob"} <= kinds


# --- the Python API: a wrong argument is one DigitnetError, not a traceback from inside ---
API_CASES = {
    "train(recipe=None)": (lambda d: d.train(None), "recipe=None: must be a recipe's name"),
    "train(seed=-1)": (lambda d: d.train(seed=-1), "seed=-1: must be a whole number >= 0"),
    "train(seed=1.5)": (lambda d: d.train(seed=1.5), "seed=1.5"),
    "train(seed='a')": (lambda d: d.train(seed="a"), "seed='a'"),
    "train(log=5)": (lambda d: d.train(log=5), "log=5: must be a function"),
    "save_model(text)": (lambda d: d.save_model("x", "y.npz"), "model='x': must be a digitnet"),
    "load_model(None)": (lambda d: d.load_model(None), "path=None: must be a file name"),
    "load_model(folder)": (lambda d: d.load_model("."), "is a folder, not a model file"),
    "read_kaggle_csv(None)": (lambda d: d.read_kaggle_csv(None), "path=None"),
    "read_digit_image(None)": (lambda d: d.read_digit_image(None), "source=None"),
    "export_model(None)": (lambda d: d.export_model(None, "m.onnx"), "model=None"),
    "Network.build(None)": (lambda d: d.Network.build(None), "layers=None: must be a layer spec"),
    "Network.build(dtype=int)": (lambda d: d.Network.build("dense10", dtype=int), "float32"),
    "Model(None)": (lambda d: d.Model(None), "network=None: must be a digitnet Network"),
    "Network.build(dtype='zzz')": (lambda d: d.Network.build("dense10", dtype="zzz"), "zzz"),
    "Network.build(dropout='a')": (
        lambda d: d.Network.build([784, 8, 10], dropout="a"),
        "dropout rate a",
    ),
    "train(data=array)": (
        lambda d: d.train(data=np.zeros((3, 784))),
        "give images and labels together",
    ),
    "train(verbose='no')": (lambda d: d.train(verbose="no"), "verbose='no': must be True"),
    "load_data(None)": (lambda d: d.load_data(None), "data=None: must be a dataset name"),
    "train on no images": (
        lambda d: d.train(data=(np.zeros((0, 784), np.uint8), np.zeros(0, int))),
        "arrays (0 images): no images to train on",
    ),
    "fit on no images": (
        lambda d: d.DigitClassifier().fit(np.zeros((0, 784), np.uint8), np.zeros(0, int)),
        "no images to train on",
    ),
}


@pytest.mark.parametrize("name", sorted(API_CASES))
def test_the_python_api_refuses_a_wrong_argument_in_one_line(name, tmp_path, monkeypatch):
    import digitnet

    monkeypatch.chdir(tmp_path)
    call, message = API_CASES[name]
    with pytest.raises(digitnet.DigitnetError, match=re.escape(message)):
        call(digitnet)
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_paths_the_system_refuses_are_one_line_each(tmp_path, good_model, capsys):
    """A name over 255 characters, a FIFO, a model that cannot be read: one line, exit 2."""
    import os

    long_name = str(tmp_path / ("a" * 300 + ".npz"))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    unreadable = tmp_path / "locked.npz"
    unreadable.write_bytes(good_model.read_bytes())
    unreadable.chmod(0)
    cases = [
        (["evaluate", long_name], "File name too long"),
        (["train", "--epochs", "1", "--quiet", "--out", long_name], "File name too long"),
        (["evaluate", str(fifo)], "is not a regular file"),
    ]
    if os.geteuid() != 0 or not os.access(unreadable, os.R_OK):  # root reads anything
        cases.append((["evaluate", str(unreadable)], "cannot be read (Permission denied)"))
    for args, message in cases:
        assert main(args) == 2, args
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err and "Traceback" not in err, err
    unreadable.chmod(0o600)


def test_nothing_printed_from_a_model_file_can_drive_the_terminal(tmp_path, good_model):
    """A recipe name with escape codes (clear screen, set the window title) is printed
    as escapes on stdout too, not only in error lines."""
    from conftest import run_cli
    from digitnet.model_file import load_model, save_model

    model = load_model(good_model)
    model.recipe["name"] = "fast\x1b[2J\x1b]0;PWNED\x07"
    save_model(model, tmp_path / "esc.npz")
    shown = run_cli("evaluate", "esc.npz", "--data", "sample", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "recipe fast\\x1b[2J\\x1b]0;PWNED\\x07" in shown.stdout
    assert not any(char in shown.stdout + shown.stderr for char in "\x1b\x07")


def test_a_model_made_in_python_gets_messages_about_what_it_lacks(tmp_path, capsys):
    """No recorded data, no recipe: evaluate, report and --resume say what is missing."""
    import digitnet

    path = tmp_path / "hand.npz"
    digitnet.save_model(digitnet.Model(digitnet.Network.build("dense32,relu,dense10")), path)
    for args, message in [
        (["evaluate", str(path)], "records no training data (a model made in Python"),
        (["evaluate", str(path), "--data", "sample", "--held-out"], "without --held-out"),
        (["train", "--resume", str(path)], "cannot resume: it records no recipe"),
    ]:
        assert main(args) == 2, args
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, err
    assert main(["evaluate", str(path), "--data", "sample"]) == 0


def test_resume_refuses_another_recipe_or_other_layers_before_training(good_model, capsys):
    for args, message in [
        (["--recipe", "cnn"], "goes on with its own recipe (fast)"),
        (["--layers", "dense32,relu,dense10"], "cannot resume with other layers"),
    ]:
        assert main(["train", "--resume", str(good_model), *args, "--epochs", "1"]) == 2
        captured = capsys.readouterr()
        assert message in captured.err and "resuming:" not in captured.out


def test_what_load_model_refuses_is_not_written_either(tmp_path):
    import digitnet

    three = digitnet.Model(digitnet.Network.build("dense8,relu,dense3"))
    with pytest.raises(digitnet.DigitnetError, match="has 3 outputs"):
        digitnet.save_model(three, tmp_path / "three.npz")
    with pytest.raises(digitnet.DigitnetError, match="has 3 outputs"):
        digitnet.export_model(three, tmp_path / "three.onnx")
    assert list(tmp_path.iterdir()) == []


def test_the_bundled_sample_and_a_dataset_are_inputs_no_output_may_overwrite(tmp_path):
    """`train --data sample --out <the package's mnist_sample.npz>` wrote over the
    bundled sample, and every later default run broke: the files a data name stands
    for count as inputs (checked here without risking the real file)."""
    from digitnet.atomic import check_output
    from digitnet.data.bundled import sample_file
    from digitnet.data.sources import data_files
    from digitnet.errors import DigitnetError

    bundled = sample_file()
    assert bundled is not None and data_files("sample") == [bundled] == data_files("Sample")
    with pytest.raises(DigitnetError, match="is also an input"):
        check_output(bundled, data_files("sample"))
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(b"")
    files = data_files("mnist", data_dir=tmp_path)
    assert folder / "train-images-idx3-ubyte.gz" in files
    with pytest.raises(DigitnetError, match="is also an input"):
        check_output(folder / "train-images-idx3-ubyte.gz", files)


def test_an_error_quoting_a_huge_spec_is_cut_to_a_line_a_person_can_read(
    tmp_path, good_model, capsys
):
    """A model whose layers are 'relu,' 100,000 times gave one 500 KB error line."""
    huge = "relu," * 100_000 + "dense10"
    bad = _model_with(tmp_path, good_model, _metadata(lambda d: d.update(layers=huge)))
    assert main(_evaluate(bad)) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and len(err) < 2200, len(err)
    assert err.startswith("digitnet: error: ") and "characters cut" in err


def _loop(folder: Path) -> Path:
    (folder / "a.csv").symlink_to(folder / "b.csv")
    (folder / "b.csv").symlink_to(folder / "a.csv")
    return folder / "a.csv"
