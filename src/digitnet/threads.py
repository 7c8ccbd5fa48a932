"""How many threads BLAS (numpy's matrix multiply) may use.

The default is 1.  The matrix products of a small MLP are short, so a second
thread mostly adds synchronisation, and on a machine whose other cores are
busy it can make an epoch several times slower (measured on a 2-core machine:
0.44 s an epoch with one thread, 3 to 16 s with two).  Wider networks on an
idle many-core laptop may gain from more: try `--threads 2` or `4`.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from threadpoolctl import threadpool_limits

DEFAULT_THREADS = 1


def blas_threads(threads: int | None = DEFAULT_THREADS) -> AbstractContextManager:
    """A context in which BLAS uses at most `threads` threads (None: leave as is)."""
    return threadpool_limits(limits=threads, user_api="blas")
