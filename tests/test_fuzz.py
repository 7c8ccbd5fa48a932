"""Property-based fuzzing of the readers of files from strangers (hypothesis).

Random bytes, and random mutations of a valid file (bytes flipped, cut short,
spliced), given to the Kaggle CSV, IDX and model-file readers must give a valid
result or one DigitnetError: never another exception, whatever the input.
"""

from __future__ import annotations

import functools
import gzip
import io
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digitnet.data import read_idx, read_kaggle_csv
from digitnet.errors import DigitnetError
from digitnet.model import Model
from digitnet.model_file import load_model, save_model
from digitnet.network import Network
from test_idx import idx_bytes

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip


@st.composite
def mutations(draw, original: bytes):
    """A valid file's bytes, damaged: flipped bytes, a cut, or a spliced-in run."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "splice", "delete"]))
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[at] ^= draw(st.integers(1, 255))
        elif kind == "cut":
            data = data[:at]
        elif kind == "splice":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        else:
            del data[at : at + draw(st.integers(1, 64))]
    return bytes(data)


def _read_or_refuse(reader, path: Path) -> object | None:
    try:
        return reader(path)
    except DigitnetError as error:
        assert str(error).count("\n") == 0  # one line
        return None


def _csv_bytes(sample) -> bytes:
    stream = io.StringIO()
    header = "label," + ",".join(f"pixel{i}" for i in range(784))
    np.savetxt(stream, np.column_stack([sample.labels[:3], sample.images[:3]]), fmt="%d",
               delimiter=",", header=header, comments="")  # fmt: skip
    return stream.getvalue().encode()


@FUZZ
@given(data=st.data())
def test_kaggle_csv_reader(tmp_path, sample, data):
    original = _csv_bytes(sample)
    content = data.draw(st.one_of(mutations(original), st.binary(max_size=2000)))
    path = tmp_path / "fuzz.csv"
    path.write_bytes(content)
    dataset = _read_or_refuse(read_kaggle_csv, path)
    if dataset is not None:  # a valid result is a valid data set
        assert dataset.images.dtype == np.uint8 and dataset.images.shape[1] == 784
        assert dataset.labels is None or dataset.labels.max() <= 9


@FUZZ
@given(data=st.data(), gzipped=st.booleans())
def test_idx_reader(tmp_path, sample, data, gzipped):
    original = idx_bytes(sample.images[:4].reshape(4, 28, 28))
    content = data.draw(st.one_of(mutations(original), st.binary(max_size=2000)))
    path = tmp_path / "fuzz-idx3-ubyte"
    path.write_bytes(gzip.compress(content) if gzipped else content)
    array = _read_or_refuse(read_idx, path)
    if array is not None:
        assert array.dtype == np.uint8 and array.size == len(content) - 4 - 4 * array.ndim


@functools.cache
def model_bytes() -> bytes:
    """A small valid CNN model file (not a fixture: hypothesis would print it whole)."""
    network = Network.build("conv2k3,pool2,bn,relu,dense10", seed=0)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.npz"
        save_model(Model(network, recipe={"name": "fuzz"}), path)
        return path.read_bytes()


@FUZZ
@given(data=st.data())
def test_model_file_reader(tmp_path, data):
    content = data.draw(st.one_of(mutations(model_bytes()), st.binary(max_size=4000)))
    path = tmp_path / "fuzz.npz"
    path.write_bytes(content)
    model = _read_or_refuse(load_model, path)
    if model is not None:
        assert model.predict_proba(np.zeros((1, 784), np.uint8)).shape == (1, 10)


@FUZZ
@given(data=st.data())
def test_model_file_with_mutated_members(tmp_path, data):
    """Mutations inside the archive's members (a valid zip with damaged arrays or
    metadata), which byte flips of the compressed file rarely reach."""
    with zipfile.ZipFile(io.BytesIO(model_bytes())) as source:
        members = {name: source.read(name) for name in source.namelist()}
    name = data.draw(st.sampled_from(sorted(members)))
    members[name] = data.draw(mutations(members[name]))
    path = tmp_path / "fuzz.npz"
    with zipfile.ZipFile(path, "w") as target:
        for member, content in members.items():
            target.writestr(member, content)
    model = _read_or_refuse(load_model, path)
    if model is not None:
        assert model.predict_proba(np.zeros((1, 784), np.uint8)).shape == (1, 10)
