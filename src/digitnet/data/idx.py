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

import numpy as np

from digitnet.errors import DigitnetError

_UNSIGNED_BYTE = 0x08


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one IDX file of unsigned bytes (gzipped or not) into a uint8 array."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":  # the gzip magic
            raw = gzip.decompress(raw)
    except FileNotFoundError:
        raise DigitnetError(f"{path}: no such file") from None
    except (EOFError, gzip.BadGzipFile, zlib.error):
        raise DigitnetError(f"{path}: corrupt or truncated gzip data") from None
    except OSError as error:
        raise DigitnetError(f"{path}: cannot read ({error.strerror})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DigitnetError(f"{path}: not an IDX file (wrong magic number)")
    if raw[2] != _UNSIGNED_BYTE:
        raise DigitnetError(f"{path}: IDX value type 0x{raw[2]:02x} is not unsigned bytes")
    dimensions = raw[3]
    header_size = 4 + 4 * dimensions
    if dimensions == 0 or len(raw) < header_size:
        raise DigitnetError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dimensions))
    expected = header_size + int(np.prod(shape))
    if len(raw) != expected:
        raise DigitnetError(
            f"{path}: size {len(raw)} bytes does not match its dimensions "
            f"{'x'.join(map(str, shape))} ({expected} bytes)"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(shape)
