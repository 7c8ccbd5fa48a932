"""Parsed datasets cached as compact binary files, so a second load takes milliseconds.

Parsing Kaggle's 73 MB train.csv takes about a second; reading the same images
back as raw uint8 arrays (an uncompressed .npz) takes a few hundredths.  A cache
entry records the size, modification and change times and inode of every source
file it came from and is used only while they still match; otherwise, or if the entry is corrupt,
it is rebuilt.  Entries live in <data dir>/parsed/.
"""

from __future__ import annotations

import hashlib
import os
import sys
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from digitnet.atomic import atomic_write
from digitnet.data.dataset import CLASSES, PIXELS, Dataset
from digitnet.errors import DigitnetError

CACHE_VERSION = 1


def cached(
    sources: list[Path],
    parse: Callable[[], Dataset],
    cache_folder: Path | None,
    describe: Callable[[Dataset], str] | None = None,
) -> Dataset:
    """parse(), or its cached result while `sources` are unchanged.  No folder: no cache.

    `describe` gives a dataset's description as parse() words it, for this call: the
    same files may be named another way next time (a relative path, then an absolute
    one), and a cached description would name them as the first call did."""
    if cache_folder is None:
        return parse()
    # Size and modification time can be put back (`touch -r`, `cp -p`, `tar x`) over
    # changed contents; the inode's change time (ctime) cannot, and a copied file gets
    # a new inode: all four must match.
    stamp = np.array([_stamp(source.stat()) for source in sources], dtype=np.int64)
    # fsencode: a path's own bytes, also where they are not UTF-8 (b'tr\xfe.csv')
    key = hashlib.sha256(b"\n".join(os.fsencode(s.resolve()) for s in sources)).hexdigest()[:16]
    entry = cache_folder / f"{sources[0].name}-{key}.npz"
    if entry.is_file():
        dataset = _read(entry, stamp)
        if dataset is not None:
            return dataset if describe is None else replace(dataset, source=describe(dataset))
    dataset = parse()
    try:
        cache_folder.mkdir(parents=True, exist_ok=True)
        with atomic_write(entry) as stream:
            arrays = {"version": np.array(CACHE_VERSION), "stamp": stamp, "images": dataset.images,
                      "source": np.array(dataset.source)}  # fmt: skip
            if dataset.labels is not None:
                arrays["labels"] = dataset.labels
            np.savez(stream, **arrays)
    except (OSError, DigitnetError):
        pass  # a read-only data folder only costs speed
    return dataset


def _stamp(status: os.stat_result) -> list[int]:
    return [status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino]


def _read(entry: Path, stamp: np.ndarray) -> Dataset | None:
    """The cached Dataset, or None if stale or corrupt (then it is rebuilt)."""
    try:
        with np.load(entry, allow_pickle=False) as archive:
            version = int(archive["version"])
            if version > CACHE_VERSION:
                raise DigitnetError(
                    f"{entry}: cache written by a newer digitnet (cache format {version}; this "
                    f"version reads up to {CACHE_VERSION}); upgrade digitnet or delete the file"
                )
            if not np.array_equal(archive["stamp"], stamp):
                return None  # the source changed
            labels = archive["labels"] if "labels" in archive.files else None
            images = archive["images"]
            if images.dtype != np.uint8 or images.ndim != 2 or images.shape[1] != PIXELS:
                raise ValueError("bad images array")
            # what a parse would have refused: a cache is a file like any other
            if labels is not None and (
                labels.dtype.kind not in "iu" or labels.shape != (len(images),)
                or (len(labels) and not 0 <= labels.min() <= labels.max() < CLASSES)
            ):  # fmt: skip
                raise ValueError("bad labels array")
            return Dataset(images, labels, str(archive["source"]))
    except DigitnetError:
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        print(f"digitnet: note: {entry}: corrupt cache, rebuilding it", file=sys.stderr)
        return None
