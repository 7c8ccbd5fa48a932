"""The one exception type that reaches users.

Anything a user can cause (a malformed CSV, a truncated model file, a missing
path) is raised as `DigitnetError` with a message that names the file and the
problem in one line.  The command line prints that line and exits with status 2;
Python callers can catch it.  Every other exception is a bug in digitnet.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np


class DigitnetError(Exception):
    """A problem with the user's input, described in one line."""


class DownloadError(DigitnetError):
    """A named dataset could not be fetched (offline, mirrors down, bad checksums)."""


class TrainingDiverged(DigitnetError):
    """The loss became NaN or infinite: the steps were too large for the network
    (a learning rate too high, or layers that amplify without bound)."""


def check_type(value: Any, kinds: type | tuple[type, ...], name: str, wanted: str) -> None:
    """Raise DigitnetError "`name`=...: must be `wanted`" unless `value` is one of
    `kinds`: the Python API's arguments get one clear line, not an AttributeError
    from deep inside (True and False are not taken for the numbers 1 and 0)."""
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise DigitnetError(f"{name}={value!r:.60}: must be {wanted}")


def check_path(value: Any, name: str = "path") -> None:
    """A file name: a str or a path-like object."""
    check_type(value, (str, os.PathLike), name, "a file name (str or pathlib.Path)")


def check_seed(value: Any, name: str = "seed=") -> int:
    """A random seed: a whole number >= 0 (what numpy's generators take)."""
    whole = isinstance(value, int | np.integer) and not isinstance(value, bool)
    if not whole or value < 0:
        raise DigitnetError(f"{name}{value!r:.60}: must be a whole number >= 0")
    return int(value)
