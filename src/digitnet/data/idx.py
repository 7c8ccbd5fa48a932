"""The IDX format of the original MNIST files (and Fashion-MNIST, KMNIST...).

An IDX file is a 4-byte magic number, one 4-byte big-endian size per dimension,
then the values.  The magic's third byte is the value type (0x08 = unsigned
byte) and its fourth the number of dimensions: images are 3-D (n, 28, 28) and
labels 1-D (n,).  Files may be gzipped, as they are published.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from digitnet.errors import DigitnetError

_UNSIGNED_BYTE = 0x08
MAX_BYTES = 1 << 31  # 2 GB of pixels: 2.7 million 28x28 images, far beyond any IDX set


def read_idx(path: str | os.PathLike[str], dimensions: int | None = None) -> np.ndarray:
    """Read one IDX file of unsigned bytes (gzipped or not) into a uint8 array
    (of `dimensions` dimensions, if given: 3 for images, 1 for labels).

    The file is read as a stream, and only as far as its header says: the
    values are read into an array of exactly that size, so a small gzip file
    that unpacks to gigabytes costs no more than the header allows (and is
    refused as soon as it runs past it), and a header claiming more than
    MAX_BYTES is refused before anything else is read.
    """
    path = Path(path)
    try:
        with open(path, "rb") as raw:
            gzipped = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            with gzip.GzipFile(fileobj=raw) if gzipped else raw as stream:  # type: ignore[attr-defined]
                return _read_stream(path, stream, dimensions)
    except FileNotFoundError:
        raise DigitnetError(f"{path}: no such file") from None
    except (EOFError, gzip.BadGzipFile, zlib.error):
        raise DigitnetError(f"{path}: corrupt or truncated gzip data") from None
    except OSError as error:
        raise DigitnetError(f"{path}: cannot read ({error.strerror or error})") from None


_KINDS = {1: "labels", 3: "images"}  # what MNIST-family files of these dimensions hold


def _read_stream(path: Path, stream: BinaryIO, wanted: int | None) -> np.ndarray:
    magic = stream.read(4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0:
        raise DigitnetError(f"{path}: not an IDX file (wrong magic number)")
    if magic[2] != _UNSIGNED_BYTE:
        raise DigitnetError(f"{path}: IDX value type 0x{magic[2]:02x} is not unsigned bytes")
    dimensions = magic[3]
    if wanted is not None and dimensions != wanted:  # an images file where labels go, say
        found = _KINDS.get(dimensions, f"{dimensions}-dimensional data")
        raise DigitnetError(f"{path}: holds {found} (magic number {int.from_bytes(magic, 'big')})"
                            f", where {_KINDS.get(wanted, 'other data')} belong")  # fmt: skip
    sizes = stream.read(4 * dimensions)
    if dimensions == 0 or len(sizes) < 4 * dimensions:
        raise DigitnetError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(sizes[4 * i : 4 * i + 4], "big") for i in range(dimensions))
    expected = int(np.prod(shape, dtype=object))
    described = "x".join(map(str, shape))
    if expected > MAX_BYTES:
        raise DigitnetError(f"{path}: its header claims {described} values, more than any "
                            f"IDX data set ({MAX_BYTES >> 20} MB at most)")  # fmt: skip
    values = np.empty(expected, dtype=np.uint8)
    got = stream.readinto(memoryview(values)) if expected else 0  # type: ignore[attr-defined]
    while got < expected:  # a gzip stream hands out a block at a time
        more = stream.readinto(memoryview(values)[got:])  # type: ignore[attr-defined]
        if not more:
            raise DigitnetError(f"{path}: truncated: {got} of the {expected} bytes that its "
                                f"dimensions {described} need")  # fmt: skip
        got += more
    if stream.read(1):
        raise DigitnetError(f"{path}: longer than its dimensions {described} say")
    return values.reshape(shape)
