"""Downloading named datasets: checked, atomic, resumable by simply running again.

The work is split between two libraries and this module:

- pooch (used by SciPy and scikit-image) downloads each file into a temporary
  file beside its destination, checks its SHA-256, and only then renames it into
  place; on a mismatch or an interruption the temporary file is deleted.  A file
  already present with the right checksum is not downloaded again, and one with
  the wrong checksum (say, a partial copy) is downloaded anew.  Its progress bar
  is tqdm's.
- this module chooses where files go (the cache folder), which URLs to try (the
  mirrors in dataset_table.py, or DIGITNET_MIRROR), tries them in order, and turns
  every failure into one clear line that says what to do.  It also fetches
  the bytes itself (`_capped_downloader`, handed to pooch), because a mirror
  is a stranger: it reads no more than the catalogued size plus one byte (a
  mirror sending an endless body fills no disk), gives up at an overall
  deadline as well as on a silent connection (one dripping a byte every few
  seconds never trips a read timeout), and the file gets the permissions a
  plain open() would give, not the temporary file's private ones.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from digitnet.atomic import current_umask
from digitnet.data.dataset_table import DataFile, DatasetSpec
from digitnet.errors import DigitnetError, DownloadError

DATA_DIR_VARIABLE = "DIGITNET_DATA_DIR"
MIRROR_VARIABLE = "DIGITNET_MIRROR"
TIMEOUT_SECONDS = 30  # connecting, or waiting for the next bytes
DEADLINE_SECONDS = 60  # for a whole file, plus one second per SLOWEST_RATE bytes
SLOWEST_RATE = 50_000  # bytes per second: below this a download is given up


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Where datasets and parsed caches live: --data-dir, else $DIGITNET_DATA_DIR,
    else the platform's per-user cache folder (e.g. ~/.cache/digitnet on Linux)."""
    if override:
        return Path(override)
    if os.environ.get(DATA_DIR_VARIABLE):
        return Path(os.environ[DATA_DIR_VARIABLE])
    import pooch

    return Path(pooch.os_cache("digitnet"))


def system_install(spec: DatasetSpec) -> Path | None:
    """A folder where an OS package installed all of `spec`'s files, if there is one."""
    for folder in map(Path, spec.system_folders):
        if all((folder / file.name).is_file() for file in spec.files):
            return folder
    return None


def dataset_folder(spec: DatasetSpec, override: str | os.PathLike[str] | None = None) -> Path:
    """Where the files of `spec` are: a system install, else <data dir>/<name>."""
    return system_install(spec) or data_dir(override) / spec.name


def is_present(spec: DatasetSpec, override: str | os.PathLike[str] | None = None) -> bool:
    return presence(spec, override) == "present"


def presence(spec: DatasetSpec, override: str | os.PathLike[str] | None = None) -> str:
    """What `download --list` says of `spec`: present, not downloaded, or which part is
    there (`evaluate --data mnist:test` fetches the test split alone)."""
    folder = dataset_folder(spec, override)
    have = [file for file in spec.files if (folder / file.name).is_file()]
    if len(have) == len(spec.files):
        return "present"
    if not have:
        return "not downloaded"
    for split, files in (("train", spec.files[:2]), ("test", spec.files[2:])):
        if have == list(files):
            return f"{split} split only"
    return f"{len(have)} of {len(spec.files)} files"


def download(
    spec: DatasetSpec,
    override: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
    split: str | None = None,
) -> Path:
    """Make sure the files of `spec` are present and verified; returns the folder.

    `split` 'train' or 'test' fetches that split's two files only (evaluating
    on MNIST's test set needs 1.6 MB, not the 9.9 MB training images too); None
    fetches all four.  `progress=None` shows a progress bar only on a terminal.
    """
    installed = system_install(spec)
    if installed is not None:  # the package manager has verified these
        return installed
    folder = data_dir(override) / spec.name
    show = sys.stderr.isatty() if progress is None else progress
    files = {
        None: spec.files,
        "train": (spec.train_images, spec.train_labels),
        "test": (spec.test_images, spec.test_labels),
    }[split]
    for file in files:
        _fetch(spec, file, folder, show, files)
    return folder


def mirror_urls(spec: DatasetSpec, file: DataFile) -> list[str]:
    """Where to try, in order: $DIGITNET_MIRROR/<name>/<file> alone if set, else the mirrors."""
    base = os.environ.get(MIRROR_VARIABLE)
    if base:
        parts = urlparse(base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise DigitnetError(
                f"{MIRROR_VARIABLE}={base!r}: must be an http:// or https:// URL "
                "(a mirror's base URL, e.g. https://example.org/datasets)"
            )
        return [f"{base.rstrip('/')}/{spec.name}/{file.name}"]
    return [mirror + file.name for mirror in spec.mirrors]


class _TooLarge(Exception):
    """The mirror sent more than the catalogued size."""


class _TooSlow(Exception):
    """The whole file did not arrive before the deadline."""


def _capped_downloader(file: DataFile, progress: bool) -> Callable[..., None]:
    """A pooch downloader that stops at file.size + 1 bytes and at a deadline."""
    import requests
    import urllib3
    from tqdm import tqdm

    def fetch(url: str, output_file: str, pooch: object = None) -> None:
        # Reading the raw stream ourselves, we see urllib3's errors: pass them on as
        # the requests errors that _fetch describes.
        try:
            receive(url, output_file)
        except urllib3.exceptions.ReadTimeoutError as error:
            raise requests.exceptions.Timeout(error) from None
        except urllib3.exceptions.ProtocolError as error:
            raise requests.exceptions.ChunkedEncodingError(error) from None

    def receive(url: str, output_file: str) -> None:
        deadline = time.monotonic() + DEADLINE_SECONDS + file.size / SLOWEST_RATE
        with requests.get(url, stream=True, timeout=TIMEOUT_SECONDS) as response:
            response.raise_for_status()
            received = 0
            bar = tqdm(total=file.size, unit="B", unit_scale=True, desc=file.name,
                       disable=not progress, leave=False)  # fmt: skip
            with bar, open(output_file, "wb") as stream:
                # read1: whatever has arrived (up to 64 KB), without waiting for a
                # full block, so the checks below run even when a mirror drips a
                # byte at a time.
                while chunk := response.raw.read1(1 << 16, decode_content=True):
                    received += len(chunk)
                    if received > file.size:
                        raise _TooLarge
                    if time.monotonic() > deadline:
                        raise _TooSlow
                    stream.write(chunk)
                    bar.update(len(chunk))

    return fetch


def _fetch(spec: DatasetSpec, file: DataFile, folder: Path, progress: bool,
           wanted: tuple[DataFile, ...]) -> None:  # fmt: skip
    """`file` into `folder`, verified; `wanted`: the files this command needs, which a
    failure tells the user to put there by hand (mnist:test needs the test split's 2)."""
    import pooch
    import requests

    target = folder / file.name
    if target.is_file() and target.stat().st_size == file.size and _sha256(target) == file.sha256:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DigitnetError(f"{folder}: cannot create the data folder ({error.strerror})") from None
    pooch.get_logger().setLevel("WARNING")  # we say what happens ourselves
    failures = []
    for url in mirror_urls(spec, file):
        try:
            pooch.retrieve(
                url,
                known_hash=f"sha256:{file.sha256}",
                fname=file.name,
                path=folder,
                downloader=_capped_downloader(file, progress),
            )
            os.chmod(target, 0o666 & ~current_umask())  # not the temporary file's 0600
            return
        except _TooLarge:
            failures.append(f"{url} sent more than the {file.size} bytes the file has")
        except _TooSlow:
            limit = DEADLINE_SECONDS + file.size / SLOWEST_RATE
            failures.append(f"{url} was too slow (not done after {limit:.0f} s)")
        except ValueError as error:
            if "hash" not in str(error).lower():
                raise
            failures.append(f"{url} sent a file with the wrong SHA-256 (deleted)")
        except requests.exceptions.HTTPError as error:
            failures.append(f"{url} answered {error.response.status_code}")
        except requests.exceptions.ChunkedEncodingError:
            failures.append(f"{url}: connection dropped mid-file")
        except requests.exceptions.Timeout:
            failures.append(f"{url}: nothing received for {TIMEOUT_SECONDS} s")
        except requests.exceptions.ConnectionError as error:
            reason = "connection dropped mid-file" if _dropped(error) else "could not connect"
            failures.append(f"{url}: {reason}")
        except requests.exceptions.RequestException as error:
            failures.append(f"{url}: {type(error).__name__}")
        except OSError as error:  # (after requests' own, which are OSErrors too) writing it
            # here failed: a full disk, a read-only folder
            raise DownloadError(f"{spec.name}: cannot write {file.name} into {folder} "
                                f"({error.strerror or error})") from None  # fmt: skip
    raise DownloadError(
        f"{spec.name}: could not download {file.name}: {'; '.join(failures)}. "
        f"Run the command again to retry, or put {_the_files(spec, wanted)} by hand in "
        f"{folder}: {', '.join(each.name for each in wanted)} "
        f"(or set {MIRROR_VARIABLE} to a mirror's base URL)"
    )


def _the_files(spec: DatasetSpec, wanted: tuple[DataFile, ...]) -> str:
    """'its 4 files', or for one split 'its 2 test files'."""
    if len(wanted) == len(spec.files):
        return f"its {len(wanted)} files"
    split = "test" if wanted[0] == spec.test_images else "training"
    return f"its {len(wanted)} {split} files"


def _dropped(error: Exception) -> bool:
    text = str(error)
    return "IncompleteRead" in text or "Connection broken" in text or "ProtocolError" in text


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
