"""Write files so that a failure never leaves a half-written file behind.

Outputs (models, submissions) are written to a temporary file in the same folder
and renamed over the destination only once they are complete.  A rename within
one file system is atomic: readers see either the old file or the new one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from digitnet.errors import DigitnetError


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside `path`; on success rename it to `path`.

    If the body raises (including Ctrl-C), the temporary file is removed and
    whatever was at `path` before is left untouched.
    """
    destination = Path(path)
    folder = destination.parent if str(destination.parent) else Path(".")
    try:
        handle, temporary_name = tempfile.mkstemp(
            dir=folder, prefix=f".{destination.name}.", suffix=".partial"
        )
    except OSError as error:
        raise DigitnetError(f"{destination}: cannot write here ({error.strerror})") from None
    newline = None if "b" in mode else ""
    try:
        with os.fdopen(handle, mode, newline=newline) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        # mkstemp makes the file private (0600); give it the permissions a plain
        # open() would have given, so a model or submission can be shared.
        os.chmod(temporary_name, 0o666 & ~_current_umask())
        try:
            os.replace(temporary_name, destination)
        except OSError as error:
            raise DigitnetError(f"{destination}: cannot write here ({error.strerror})") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary_name)
        raise


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
