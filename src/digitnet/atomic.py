"""Write files so that a failure never leaves a half-written file behind, and an
output never destroys an input or anything that is not a file.

Outputs (models, submissions, pictures) are written to a temporary file in the
same folder and renamed over the destination only once they are complete.  A
rename within one file system is atomic: readers see either the old file or
the new one.  A destination that is a symbolic link is followed: the file it
points to is replaced, and the link stays.  An existing file keeps its
permissions.  Only regular files are replaced: writing "to" /dev/null, a
folder or a pipe is refused, not turned into a regular file.

`check_output` runs the same checks up front, so that a command refuses a bad
--out before it spends an hour training, and refuses to overwrite its own input.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from digitnet.errors import DigitnetError

PathLike = str | os.PathLike[str]


def check_output(path: PathLike, inputs: Iterable[PathLike | None] = ()) -> Path:
    """The file `path` will be written to, after checking that it can be, before any work.

    Refused: an existing destination that is not a regular file, a destination
    that is one of `inputs` (the same file, by any name), and a folder that does
    not exist or cannot be written.  Returns the real destination (links followed).
    """
    if not str(path):  # realpath('') is the current folder: not what was meant
        raise DigitnetError("an empty file name: give a file name to write to")
    try:
        os.stat(path)
    except OSError as error:
        if error.errno == errno.ELOOP:  # a link to itself, or links in a ring
            raise DigitnetError(f"{path}: is a loop of symbolic links; give another name") from None
    destination = Path(os.path.realpath(path))
    if destination.exists() and not destination.is_file():
        kind = "a folder" if destination.is_dir() else "not a regular file"
        raise DigitnetError(f"{path}: is {kind}; give a file name to write to")
    refuse_an_input(path, inputs)
    folder = destination.parent
    if not folder.is_dir():
        raise DigitnetError(f"{path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DigitnetError(f"{path}: cannot write in folder {folder} (permission denied)")
    return destination


def refuse_an_input(path: PathLike, inputs: Iterable[PathLike | None]) -> None:
    """Refuse `path` if it is one of `inputs` (the same file, by any name): checked
    first, so that `export m.npz m.npz` hears that, not that .npz is no export format."""
    destination = Path(os.path.realpath(path))
    for given in inputs:
        if given is not None and _same_file(destination, Path(given)):
            raise DigitnetError(f"{path}: is also an input ({given}); writing it would destroy it")


def check_output_folder(folder: PathLike) -> None:
    """Refuse, before any work, a folder of outputs that `output_folder` could not
    make or write in; nothing is created yet (a failed command leaves no empty folder)."""
    if not str(folder):  # Path('') is '.': the outputs would land among the user's files
        raise DigitnetError("an empty folder name: give a folder to write to")
    _not_dash(folder)
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise DigitnetError(f"{path}: exists and is not a folder")
    existing = next(parent for parent in (path, *path.absolute().parents) if parent.exists())
    if not existing.is_dir():
        raise DigitnetError(f"{path}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise DigitnetError(f"{path}: cannot write in folder {existing} (permission denied)")


def _not_dash(folder: PathLike) -> None:
    """'-' means the standard output elsewhere (predict --out -): never a folder named '-'."""
    if os.fspath(folder) == "-":
        raise DigitnetError("-: this writes a folder of files, which cannot go to the standard "
                            "output: give a folder name")  # fmt: skip


def output_folder(folder: PathLike) -> Path:
    """`folder`, created if needed, checked writable: for outputs of several files."""
    if not str(folder):
        raise DigitnetError("an empty folder name: give a folder to write to")
    _not_dash(folder)
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise DigitnetError(f"{path}: exists and is not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DigitnetError(f"{path}: cannot create this folder ({error.strerror})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise DigitnetError(f"{path}: cannot write in this folder (permission denied)")
    return path


def _same_file(destination: Path, given: Path) -> bool:
    try:
        return destination.exists() and given.exists() and os.path.samefile(destination, given)
    except OSError:
        return False


@contextlib.contextmanager
def atomic_write(path: PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside `path`; on success rename it to `path`.

    If the body raises (including Ctrl-C, or a full disk), the temporary file is
    removed and whatever was at `path` before is left untouched.
    """
    destination = check_output(path)
    try:
        handle, temporary_name = tempfile.mkstemp(
            dir=destination.parent, prefix=f".{destination.name}.", suffix=".partial"
        )
    except OSError as error:
        raise DigitnetError(f"{path}: cannot write here ({error.strerror})") from None
    binary = "b" in mode
    # Text is UTF-8 whatever the locale says; a file name in it that is not UTF-8
    # (b'bad\xff.png', which Python holds as '\udcff') is written as its own bytes,
    # as the file system has it, not a UnicodeEncodeError half-way through.
    text = {} if binary else {"newline": "", "encoding": "utf-8", "errors": "surrogateescape"}
    try:
        try:
            with os.fdopen(handle, mode, **text) as stream:
                yield stream
                stream.flush()
                os.fsync(stream.fileno())
            # mkstemp makes the file private (0600): give it the old file's
            # permissions, or those a plain open() would have given.
            os.chmod(temporary_name, _permissions_for(destination))
            os.replace(temporary_name, destination)
        except OSError as error:  # a full disk, a quota, a vanished folder...
            reason = error.strerror or str(error)
            raise DigitnetError(
                f"{path}: could not write it ({reason}); nothing was changed"
            ) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary_name)
        raise


STDOUT = ("-", "/dev/stdout")  # where an output path means the standard output


def write_text(path: PathLike, text: str, named: str = "") -> None:
    """`text` to the file `path`, atomically, or to the standard output for "-"
    (`named` is how the caller spells the setting in an error: '--out ')."""
    if os.fspath(path) in STDOUT:
        if sys.stdout is None:  # started with its standard output closed (`>&-`)
            raise DigitnetError(f"{named}{os.fspath(path)}: the standard output is closed")
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    with atomic_write(path, "w") as stream:  # a name that is not UTF-8: its own bytes
        stream.write(text)


def _permissions_for(destination: Path) -> int:
    try:
        return stat.S_IMODE(destination.stat().st_mode)
    except OSError:
        return 0o666 & ~current_umask()


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
