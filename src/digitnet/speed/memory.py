"""Freed memory kept for the next batch, not handed back to the operating system.

A training step allocates the same arrays batch after batch: a layer's output,
batch norm's normalised maps, a gradient, each megabytes.  By default glibc's
allocator gives an array that large pages of its own (mmap) and returns them
when it is freed; the next batch's array then touches fresh pages, and the
kernel stops the process to zero every 4 KB of them.  With two threads those
page faults also queue for the one lock on the process's memory map, and a
layer's pass at two threads can take several times its one-thread time
(benchmarks/README.md counts the faults and times them).

`keep_freed_memory()` asks glibc to serve arrays from its heap, whatever their
size, and to keep up to TRIM_THRESHOLD of freed heap: the next batch's arrays
reuse the pages of the last one's.  Raising the size below which arrays come
from the heap (MMAP_THRESHOLD) stops at 32 MB on 64-bit glibc, and a batch of 500
images, as batch norm's statistics are recomputed for the weights' average
(training/averaging.py), has 50 MB feature maps; so mmap is also turned off
(MMAP_MAX 0: glibc still maps memory where the heap cannot grow).  Nothing is
computed differently; the process only keeps what it used.  Other C libraries
(macOS, Windows, musl) are left as they are.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import platform

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_MMAP_MAX = -1, -3, -4  # mallopt's parameters (malloc.h)
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's upper bound for this setting on 64-bit systems
TRIM_THRESHOLD = 512 * 1024 * 1024  # freed heap above this is given back


@functools.cache  # once per process, whatever the answer: libc_ver() reads the executable
def keep_freed_memory() -> bool:
    """Set glibc's allocator to keep freed arrays for reuse.

    True where the settings took (glibc), False where this C library has no
    such settings.
    """
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # mallopt answers 1 where it took a setting, 0 where it refused it
    settings = ((M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TRIM_THRESHOLD, TRIM_THRESHOLD),
                (M_MMAP_MAX, 0))  # fmt: skip
    return all([bool(mallopt(name, value)) for name, value in settings])
