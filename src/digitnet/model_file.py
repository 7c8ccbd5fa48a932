"""Model files: a plain .npz archive, safe to open from anyone.

Layout (format version 2):

    digitnet_format   int scalar: the format version
    metadata          one JSON string: the layer spec ("layers", see
                      network/spec.py), the number of inputs, preprocessing,
                      recipe, history, info (the training data by name and
                      checksum, never by its path: data/recorded.py)
    layer0_kernel, layer0_bias, layer3_scale, layer3_running_mean, ...
                      one array per parameter and per saved statistic, named
                      by the layer's place in the spec (Network.arrays)

Format 1 (the first model files, before layer specs; MLPs only) stored
{"sizes", "activation", "dropout"} and arrays dense0_weight, dense0_bias, ...;
such files still load.

Nothing is trusted before it is checked: each array's npy header (shape and
dtype) is compared with what the layer spec says before the array is read,
and everything is read with `allow_pickle=False`: a pickle can run arbitrary
code when unpickled, so a model file from elsewhere must never contain one.
"""

from __future__ import annotations

import json
import math
import os
import shlex
import zipfile
import zlib
from pathlib import Path
from typing import IO, Any

import numpy as np

from digitnet.atomic import atomic_write
from digitnet.data.dataset import CLASSES
from digitnet.data.preprocess import Preprocessing
from digitnet.errors import DigitnetError, check_path, check_type
from digitnet.model import Model
from digitnet.network import Network
from digitnet.network.spec import count_parameters, mlp_layers, parse_layers
from digitnet.recipes.knobs import as_keywords
from digitnet.recipes.recipe import Recipe

FORMAT_VERSION = 2
_MARKER = "digitnet_format"
MAX_METADATA_CHARS = 8_000_000  # a training history of 100,000 epochs fits easily
_FLOATS = (np.dtype("<f4"), np.dtype("<f8"))
MAX_CLASS_NAME = 40  # characters: 'T-shirt/top' is 11; a longer name is no class name
DEFLATE_MOST = 1_032  # deflate's largest ratio: bytes unpacked per byte packed


def save_model(model: Model, path: str | os.PathLike[str]) -> None:
    """Write `model` to `path` (.npz) atomically: a good file is never half-overwritten.

    The name must end in .npz.  numpy would quietly add the suffix (`np.savez("m")`
    writes m.npz), and then `load_model("m")` finds nothing; the command line's --out
    asks for the suffix too."""
    check_type(model, Model, "model", "a digitnet Model (digitnet.train or load_model makes one)")
    check_path(path)
    if not os.fspath(path).lower().endswith(".npz"):
        raise DigitnetError(f"{os.fspath(path)}: a model file's name ends in .npz; give a name "
                            "such as model.npz")  # fmt: skip
    check_outputs(model, path)  # load_model would refuse it: do not write it
    check_class_names(path, model.info.get("classes"))  # nor this
    metadata = {
        "layers": model.network.layer_spec,
        "inputs": model.network.inputs,
        "preprocessing": model.preprocessing.to_dict(),
        "recipe": model.recipe,
        "history": model.history,
        "info": model.info,
    }
    arrays: dict[str, np.ndarray] = {
        _MARKER: np.array(FORMAT_VERSION),
        "metadata": np.array(json.dumps(metadata)),
        **model.network.arrays(),
    }
    with atomic_write(path) as stream:
        np.savez_compressed(stream, **arrays)


def check_outputs(model: Model, where: str | os.PathLike[str]) -> None:
    """A digitnet model has one output per class: what load_model accepts, and so what
    save_model and export_model write."""
    if model.network.classes != CLASSES:
        raise DigitnetError(f"{where}: the model's last layer has {model.network.classes} "
                            f"outputs; a digitnet model has {CLASSES}, one per class")  # fmt: skip


def load_model(path: str | os.PathLike[str]) -> Model:
    """Read a model written by `save_model` (format 1 or 2), checking it all first."""
    check_path(path)
    if not os.fspath(path):
        raise DigitnetError("an empty file name: give the model file's name")
    path = Path(path)
    if path.is_dir():
        raise DigitnetError(f"{path}: is a folder, not a model file")
    if path.exists() and not path.is_file():  # a FIFO, a device: never read as a model
        raise DigitnetError(f"{path}: is not a regular file, so not a model file")
    if not path.is_file():
        others = sorted(p.name for p in path.parent.glob("*.npz")) if path.parent.is_dir() else []
        hint = (f"; here: {', '.join(others[:4])}{', ...' if len(others) > 4 else ''}" if others
                else f"; digitnet train --out {shlex.quote(str(path))} makes one")  # fmt: skip
        raise DigitnetError(f"{path}: no such model file{hint}")
    try:
        path.open("rb").close()
    except OSError as error:  # unreadable: say so, not "corrupt"
        raise DigitnetError(f"{path}: cannot be read ({error.strerror})") from None
    try:
        with zipfile.ZipFile(path) as archive:
            return _read(path, archive)
    except DigitnetError as error:
        message = str(error)
        prefixed = message if message.startswith(str(path)) else f"{path}: {message}"
        raise DigitnetError(prefixed) from None
    except (ValueError, TypeError, KeyError, OSError, EOFError, zipfile.BadZipFile, zlib.error,
            json.JSONDecodeError, RecursionError):  # fmt: skip
        raise DigitnetError(f"{path}: not a digitnet model file, or corrupt/truncated") from None
    except (RuntimeError, NotImplementedError) as error:  # zipfile: encrypted, unknown method
        raise DigitnetError(f"{path}: not a digitnet model file ({error})") from None


def _read(path: Path, archive: zipfile.ZipFile) -> Model:
    packed = {member.compress_type for member in archive.infolist()}
    if not packed <= {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}:  # bzip2, lzma: no bound
        raise DigitnetError(f"{path}: not a digitnet model file (its arrays are packed "
                            "with a method numpy does not use)")  # fmt: skip
    members = {name.removesuffix(".npy") for name in archive.namelist()}
    if _MARKER not in members or "metadata" not in members:
        raise DigitnetError(f"{path}: not a digitnet model file (no format marker)")
    version = int(_read_member(archive, _MARKER, (), ("<i8", "<i4")))
    if version > FORMAT_VERSION:
        raise DigitnetError(
            f"{path}: written by a newer digitnet (model format {version}; this "
            f"version reads up to {FORMAT_VERSION}); upgrade digitnet to load it"
        )
    if version < 1:
        raise DigitnetError(f"{path}: model format {version} does not exist")
    try:
        metadata = json.loads(str(_read_member(archive, "metadata", (), None)),
                              parse_constant=_no_constant)  # fmt: skip
    except json.JSONDecodeError as error:
        raise DigitnetError(f"{path}: its metadata is not valid JSON ({error.msg}, at "
                            f"character {error.pos})") from None  # fmt: skip
    if not isinstance(metadata, dict):
        raise DigitnetError(f"{path}: its metadata is not a JSON object")
    if not _encodable(metadata):  # "\ud800": a JSON escape of half a character
        raise DigitnetError(f"{path}: its metadata holds text that is not valid Unicode "
                            "(a lone surrogate)")  # fmt: skip
    if version == 1:
        layers, inputs, renamed = _format1_layers(path, metadata)
    else:
        layers, inputs = (
            _field(path, metadata, "layers", str),
            _field(path, metadata, "inputs", int),
        )
        renamed = {}
    try:
        parameters = count_parameters(parse_layers(layers, inputs, None), inputs)
    except DigitnetError as error:
        raise DigitnetError(f"{path}: {error}") from None
    # Counted before building: a small file that names huge layers is refused before
    # their memory is allocated.  What the members unpack to is in the archive's index,
    # which may lie; deflate (what numpy writes) packs at most 1,032 bytes into one, so
    # the file's own size bounds it too.  Small networks are cheap to build, and each
    # array's own check then says which one is wrong.
    held = min(sum(member.file_size for member in archive.infolist()),
               DEFLATE_MOST * path.stat().st_size)  # fmt: skip
    if parameters > 1_000_000 and 4 * parameters > held:
        raise DigitnetError(
            f"{path}: its layers need {parameters:,} parameters, more than the file's "
            f"{held:,} bytes of arrays hold"
        )
    network = Network.build(layers, inputs=inputs)  # float32 first: names and shapes
    if network.classes != CLASSES:
        raise DigitnetError(
            f"{path}: its last layer has {network.classes} outputs; a digitnet model has "
            f"{CLASSES}, one per class"
        )
    first = next(iter(network.arrays()), None)
    if first is None:
        raise DigitnetError(f"{path}: layers '{layers}' have no parameters")
    for name in network.arrays():  # each named before any is read: which one is missing
        if renamed.get(name, name) not in members:
            raise DigitnetError(
                f"{path}: array '{renamed.get(name, name)}' is missing for layers {layers}"
            )
    dtype = _member_dtype(archive, renamed.get(first, first))
    if dtype != network.dtype:
        network = Network.build(layers, inputs=inputs, dtype=dtype)
    arrays = {}
    for name, target in network.arrays().items():
        stored = renamed.get(name, name)
        if stored not in members:
            raise DigitnetError(f"{path}: array '{stored}' is missing for layers {layers}")
        arrays[name] = _read_member(archive, stored, target.shape, (target.dtype.str,))
        if not np.all(np.isfinite(arrays[name])):
            raise DigitnetError(f"{path}: array '{stored}' holds NaN or infinite values")
        if name.endswith("_running_var") and np.any(arrays[name] < 0):  # sqrt(var) ahead
            raise DigitnetError(f"{path}: array '{stored}' holds negative variances")
    network.set_arrays(arrays)
    model = Model(
        network=network,
        preprocessing=_preprocessing(path, _field(path, metadata, "preprocessing", dict)),
        recipe=_recipe(path, _field(path, metadata, "recipe", dict)),
        history=_history(path, _field(path, metadata, "history", dict)),
        info=_info(path, _field(path, metadata, "info", dict)),
    )
    _probe(model, path)
    return model


def _probe(model: Model, path: Path) -> None:
    """Refuse weights that are finite but so large that the outputs overflow: three
    images (blank, all ink, stripes) through the network, a millisecond."""
    pixels = np.arange(model.network.inputs)
    probes = np.stack([pixels * 0, pixels * 0 + 255, pixels % 2 * 255]).astype(np.uint8)
    try:
        model.predict_proba(probes)
    except DigitnetError as error:
        raise DigitnetError(f"{path}: {error}") from None


def _recipe(path: Path, recipe: dict[str, Any]) -> dict[str, Any]:
    """A saved recipe must be one digitnet can train with (a model built by hand
    in Python may carry a partial one, such as just a name: kept as it is)."""
    if "learning_rate" in recipe:
        # Named as the file has it (epochs=-5), not as a flag the user never gave.
        with as_keywords():
            try:
                Recipe.from_dict(recipe)
            except DigitnetError as error:
                raise DigitnetError(f"its recipe: {error}") from None
    return recipe


# What each field of `info` must be, where present (other fields are kept as they are).
_INFO_TYPES: dict[str, tuple[type, ...]] = {
    "data": (str,),
    "data_spec": (str, type(None)),
    "data_fingerprint": (str, type(None)),
    "data_checksum": (str,),
    "seed": (int,),
    "train_size": (int,),
    "dev_size": (int,),
    "interrupted": (bool,),
    "stopped_early": (bool,),
    "best_epoch": (int, type(None)),
    "stop_signal": (int, type(None)),
    "training_seconds": (int, float),
    "classes": (list,),
}


def _info(path: Path, info: dict[str, Any]) -> dict[str, Any]:
    for key, kinds in _INFO_TYPES.items():
        if key not in info:
            continue
        value = info[key]
        wrong_bool = isinstance(value, bool) and bool not in kinds
        if not isinstance(value, kinds) or wrong_bool:
            raise DigitnetError(f"{path}: info field '{key}' has the wrong type ({value!r:.40})")
        if key in ("seed", "train_size", "dev_size") and value < 0:
            raise DigitnetError(f"{path}: info field '{key}' is negative")
    check_class_names(path, info.get("classes"))
    return info


def check_class_names(where: str | os.PathLike[str], names: Any) -> None:
    """A model's recorded class names, if any: one short name per output, as they head
    tables and messages.  Checked on saving and on loading alike."""
    if names is None:
        return
    if (not isinstance(names, list | tuple) or len(names) != CLASSES
            or not all(isinstance(name, str) for name in names)):  # fmt: skip
        held = len(names) if isinstance(names, list | tuple) else "none"
        raise DigitnetError(f"{os.fspath(where)}: info field 'classes' must be {CLASSES} names, "
                            f"one per output; it holds {held} ({names!r:.60})")  # fmt: skip
    longest = max(len(name) for name in names)
    if longest > MAX_CLASS_NAME or not all(names):
        raise DigitnetError(f"{os.fspath(where)}: info field 'classes' holds a name of "
                            f"{longest} characters, or an empty one; a class name has 1 to "
                            f"{MAX_CLASS_NAME}")  # fmt: skip


def _preprocessing(path: Path, values: dict[str, Any]) -> Preprocessing:
    divide_by = values.get("divide_by")
    if isinstance(divide_by, bool) or not isinstance(divide_by, int | float):
        raise DigitnetError(f"{path}: preprocessing 'divide_by' is not a number")
    if not (math.isfinite(divide_by) and divide_by > 0):
        raise DigitnetError(
            f"{path}: preprocessing 'divide_by' {divide_by} is not a positive number"
        )
    if not 1e-6 <= divide_by <= 1e6:  # pixels 0..255 would become infinite, or all 0
        raise DigitnetError(f"{path}: preprocessing 'divide_by' {divide_by:g} is outside "
                            "1e-06..1e+06 (digitnet divides by 255)")  # fmt: skip
    return Preprocessing.from_dict(values)


def _no_constant(name: str) -> None:
    """NaN and Infinity are not JSON (Python's json reads them): refused in metadata."""
    raise DigitnetError(f"its metadata holds {name}, which JSON does not allow")


def _encodable(value: object, depth: int = 0) -> bool:
    """Whether every string in `value` (JSON: dicts, lists, scalars) is text: valid
    UTF-8, or a file name's own bytes as Python holds them (U+DC80..U+DCFF)."""
    if depth > 100:
        return False
    if isinstance(value, str):
        try:
            value.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_encodable(key, depth) and _encodable(item, depth + 1)
                   for key, item in value.items())  # fmt: skip
    if isinstance(value, list):
        return all(_encodable(item, depth + 1) for item in value)
    return True


def _history(path: Path, history: dict[str, Any]) -> dict[str, list]:
    """The training curve: lists of numbers (or null), all of one length."""
    lengths = set()
    for key, values in history.items():
        if not isinstance(values, list) or not all(
            value is None or (isinstance(value, int | float) and not isinstance(value, bool))
            for value in values
        ):
            raise DigitnetError(f"{path}: history '{key}' is not a list of numbers")
        lengths.add(len(values))
    if len(lengths) > 1:
        raise DigitnetError(f"{path}: the history's lists have different lengths")
    epochs = history.get("epoch", [])
    # epochs count whole passes, in order: a resumed run numbers its epochs after them
    if not all(isinstance(epoch, int) and epoch >= 1 for epoch in epochs) or any(
        later <= earlier for earlier, later in zip(epochs, epochs[1:])
    ):
        raise DigitnetError(f"{path}: history 'epoch' is not a rising list of whole numbers")
    return history


def _format1_layers(path: Path, metadata: dict[str, Any]) -> tuple[str, int, dict[str, str]]:
    """A format-1 file (an MLP): its layer spec, inputs, and the old name of each array."""
    architecture = _field(path, metadata, "architecture", dict)
    sizes = [int(size) for size in architecture["sizes"]]
    if len(sizes) < 2 or min(sizes) < 1:
        raise DigitnetError(f"{path}: layer sizes {sizes} are not a network")
    activation, dropout = architecture["activation"], float(architecture.get("dropout", 0.0))
    layers = mlp_layers(tuple(sizes[1:-1]), activation, dropout, sizes[-1])
    dense = [
        i for i, spec in enumerate(parse_layers(layers, sizes[0], None)) if spec.kind == "dense"
    ]
    renamed = {
        f"layer{index}_{part}": f"dense{count}_{part}"
        for count, index in enumerate(dense)
        for part in ("weight", "bias")
    }
    return layers, sizes[0], renamed


def _field(path: Path, metadata: dict[str, Any], key: str, kind: type) -> Any:
    value = metadata.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        what = {int: "a whole number", str: "text", dict: "a JSON object"}.get(kind, "right")
        raise DigitnetError(f"{path}: metadata field '{key}' is missing or not {what}")
    return value


def _open_member(archive: zipfile.ZipFile, name: str) -> tuple[IO[bytes], tuple, np.dtype]:
    stream = archive.open(f"{name}.npy")
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"npy version {version}")
    except Exception:  # numpy parses the header as Python: any error at all means junk
        stream.close()
        raise DigitnetError(f"array '{name}' has a corrupt header") from None
    return stream, shape, dtype


def _member_dtype(archive: zipfile.ZipFile, name: str) -> np.dtype:
    stream, _, dtype = _open_member(archive, name)
    stream.close()
    if dtype not in _FLOATS:
        order = (
            " (big-endian: written on another kind of machine)" if dtype.byteorder == ">" else ""
        )
        raise DigitnetError(f"array '{name}' is {dtype.str}{order}, not float32 or float64 "
                            "as digitnet writes them")  # fmt: skip
    return dtype


def _read_member(
    archive: zipfile.ZipFile, name: str, shape: tuple, dtypes: tuple[str, ...] | None
) -> np.ndarray:
    """Member `name`, read only once its header shows the shape and dtype expected
    (dtypes None: a unicode string of at most MAX_METADATA_CHARS)."""
    stream, found_shape, dtype = _open_member(archive, name)
    with stream:
        if dtypes is None:
            if dtype.kind != "U" or found_shape != ():
                raise DigitnetError(f"not a digitnet model file ('{name}' is {dtype.name}, "
                                    "not a JSON string)")  # fmt: skip
            if dtype.itemsize // 4 > MAX_METADATA_CHARS:
                raise DigitnetError(f"'{name}' is longer than {MAX_METADATA_CHARS} characters")
        elif found_shape != tuple(shape) or dtype.str not in dtypes:
            wanted = " or ".join(np.dtype(kind).name for kind in dtypes)
            raise DigitnetError(
                f"array '{name}' is {dtype.name} {found_shape}, but the layers need "
                f"{wanted} {tuple(shape)}"
            )
    with archive.open(f"{name}.npy") as stream:  # from the start again, header checked
        array = np.lib.format.read_array(stream, allow_pickle=False)
    if dtypes is None:
        # numpy stores text as UTF-32 code points and does not check them: a number
        # beyond Unicode (> 0x10FFFF) or a lone surrogate would become a broken
        # Python string that fails later, deep in whatever reads it.
        little_endian = array.astype(array.dtype.newbyteorder("<"))  # a file may say >U
        codes = little_endian.reshape(1).view("<u4")
        if np.any(codes > 0x10FFFF) or np.any((codes >= 0xD800) & (codes <= 0xDFFF)):
            raise DigitnetError(f"'{name}' holds characters that are not Unicode")
    return array
