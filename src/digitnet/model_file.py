"""Model files: a plain .npz archive, safe to open from anyone.

Layout (format version 1):

    digitnet_format   int scalar: the format version
    metadata          one JSON string: architecture, preprocessing, recipe,
                      history, info
    dense0_weight, dense0_bias, dense1_weight, ...   the parameter arrays

Everything is loaded with `allow_pickle=False`: a pickle can run arbitrary
code when unpickled, so a model file from elsewhere must never contain one.
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from digitnet.atomic import atomic_write
from digitnet.data.preprocess import Preprocessing
from digitnet.errors import DigitnetError
from digitnet.model import Model
from digitnet.network import Network

FORMAT_VERSION = 1
_MARKER = "digitnet_format"


def save_model(model: Model, path: str | os.PathLike[str]) -> None:
    """Write `model` to `path` (.npz) atomically: a good file is never half-overwritten."""
    metadata = {
        "architecture": model.network.architecture(),
        "preprocessing": model.preprocessing.to_dict(),
        "recipe": model.recipe,
        "history": model.history,
        "info": model.info,
    }
    arrays: dict[str, np.ndarray] = {
        _MARKER: np.array(FORMAT_VERSION),
        "metadata": np.array(json.dumps(metadata)),
    }
    for index, layer in enumerate(model.network.dense_layers):
        arrays[f"dense{index}_weight"] = layer.weight
        arrays[f"dense{index}_bias"] = layer.bias
    with atomic_write(path) as stream:
        np.savez_compressed(stream, **arrays)


def load_model(path: str | os.PathLike[str]) -> Model:
    """Read a model written by `save_model`, checking everything before trusting it."""
    path = Path(path)
    if not path.is_file():
        raise DigitnetError(f"{path}: no such model file")
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):  # a bare .npy array
            raise DigitnetError(f"{path}: not a digitnet model file")
        with archive:
            if _MARKER not in archive.files:
                raise DigitnetError(f"{path}: not a digitnet model file (no format marker)")
            version = int(archive[_MARKER])
            if version > FORMAT_VERSION:
                raise DigitnetError(
                    f"{path}: written by a newer digitnet (model format {version}; this "
                    f"version reads up to {FORMAT_VERSION}); upgrade digitnet to load it"
                )
            metadata = json.loads(str(archive["metadata"]))
            sizes = [int(size) for size in metadata["architecture"]["sizes"]]
            weights = [archive[f"dense{i}_weight"] for i in range(len(sizes) - 1)]
            biases = [archive[f"dense{i}_bias"] for i in range(len(sizes) - 1)]
            _check_shapes(path, sizes, weights, biases)
            return Model(
                network=Network.from_architecture(metadata["architecture"], weights, biases),
                preprocessing=Preprocessing.from_dict(metadata["preprocessing"]),
                recipe=metadata["recipe"],
                history=metadata["history"],
                info=metadata["info"],
            )
    except DigitnetError:
        raise
    except (ValueError, TypeError, KeyError, OSError, EOFError, zipfile.BadZipFile, zlib.error):
        raise DigitnetError(f"{path}: not a digitnet model file, or corrupt/truncated") from None


def _check_shapes(
    path: Path, sizes: list[int], weights: list[np.ndarray], biases: list[np.ndarray]
) -> None:
    for index, (weight, bias) in enumerate(zip(weights, biases)):
        expected = (sizes[index], sizes[index + 1])
        if weight.shape != expected or bias.shape != expected[1:]:
            raise DigitnetError(
                f"{path}: layer {index} has weights {weight.shape} and biases {bias.shape}, "
                f"but its architecture says {expected}"
            )
        if not (np.issubdtype(weight.dtype, np.floating) and weight.dtype == bias.dtype):
            raise DigitnetError(f"{path}: layer {index} parameters are not floating point")
