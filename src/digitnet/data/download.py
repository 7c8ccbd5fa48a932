"""Downloading named datasets: checked, atomic, resumable by simply running again.

The work is split between two libraries and this module:

- pooch (used by SciPy and scikit-image) downloads each file into a temporary
  file beside its destination, checks its SHA-256, and only then renames it into
  place; on a mismatch or an interruption the temporary file is deleted.  A file
  already present with the right checksum is not downloaded again, and one with
  the wrong checksum (say, a partial copy) is downloaded anew.  Its progress bar
  is tqdm's.
- this module chooses where files go (the cache folder), which URLs to try (the
  mirrors in catalog.py, or DIGITNET_MIRROR), tries them in order, and turns
  every failure into one clear line that says what to do.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

from digitnet.data.catalog import DataFile, DatasetSpec
from digitnet.errors import DigitnetError, DownloadError

DATA_DIR_VARIABLE = "DIGITNET_DATA_DIR"
MIRROR_VARIABLE = "DIGITNET_MIRROR"
TIMEOUT_SECONDS = 30


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
    folder = dataset_folder(spec, override)
    return all((folder / file.name).is_file() for file in spec.files)


def download(
    spec: DatasetSpec,
    override: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
) -> Path:
    """Make sure every file of `spec` is present and verified; returns the folder.

    `progress=None` shows a progress bar only on a terminal.
    """
    installed = system_install(spec)
    if installed is not None:  # the package manager has verified these
        return installed
    folder = data_dir(override) / spec.name
    show = sys.stderr.isatty() if progress is None else progress
    for file in spec.files:
        _fetch(spec, file, folder, show)
    return folder


def mirror_urls(spec: DatasetSpec, file: DataFile) -> list[str]:
    """Where to try, in order: $DIGITNET_MIRROR/<name>/<file> alone if set, else the mirrors."""
    base = os.environ.get(MIRROR_VARIABLE)
    if base:
        return [f"{base.rstrip('/')}/{spec.name}/{file.name}"]
    return [mirror + file.name for mirror in spec.mirrors]


def _fetch(spec: DatasetSpec, file: DataFile, folder: Path, progress: bool) -> None:
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
        downloader = pooch.HTTPDownloader(progressbar=progress, timeout=TIMEOUT_SECONDS)
        try:
            pooch.retrieve(
                url,
                known_hash=f"sha256:{file.sha256}",
                fname=file.name,
                path=folder,
                downloader=downloader,
            )
            return
        except ValueError as error:
            if "hash" not in str(error).lower():
                raise
            failures.append(f"{url} sent a file with the wrong SHA-256 (deleted)")
        except requests.exceptions.HTTPError as error:
            failures.append(f"{url} answered {error.response.status_code}")
        except requests.exceptions.ChunkedEncodingError:
            failures.append(f"{url}: connection dropped mid-file")
        except requests.exceptions.ConnectionError as error:
            reason = "connection dropped mid-file" if _dropped(error) else "could not connect"
            failures.append(f"{url}: {reason}")
        except requests.exceptions.RequestException as error:
            failures.append(f"{url}: {type(error).__name__}")
    raise DownloadError(
        f"{spec.name}: could not download {file.name}: {'; '.join(failures)}. "
        f"Run the command again to retry, or put the four files by hand in {folder} "
        f"(or set {MIRROR_VARIABLE} to a mirror's base URL)"
    )


def _dropped(error: Exception) -> bool:
    text = str(error)
    return "IncompleteRead" in text or "Connection broken" in text or "ProtocolError" in text


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
