"""Threads: the pieces of each batch, shared out among N worker threads.

Every fast layer cuts its work into pieces, and the workers take the pieces
from one queue, so a worker that its core lends to another program takes fewer
of them (nothing waits for it, nothing spins).  numpy lets go of Python's lock
inside its copies, ufuncs and matrix products, so the pieces really run at once.
BLAS itself is held to one thread: the pieces are the parallelism.

Where pieces are summed, they depend on the shapes only, never on the thread
count, and partial sums (a kernel's gradient over chunks of images, batch norm's
statistics) are added in the pieces' order (`split`).  Where each number is
computed on its own (a ReLU, pooling, batch norm's affine map) the cut changes
no number, and it follows the thread count (`shares`).  So a seed trains bit
for bit the same network at 1, 2 or 16 threads: the threads change when each
piece is computed, not what.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

import numpy as np
from threadpoolctl import threadpool_limits

from digitnet.errors import DigitnetError

Item = TypeVar("Item")
Result = TypeVar("Result")


def available_cores() -> int:
    """The cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


class Workers:
    """N threads that share the pieces of a batch: the calling thread and N - 1 helpers.

    `map(task, items)` hands the items out one at a time to whichever thread is
    free (a shared counter), the caller working too, and returns when all are
    done.  The helpers sleep between calls; one wake-up per call, not per item,
    keeps the cost of a call small next to a piece's work.
    """

    def __init__(self) -> None:
        self.threads = 1
        self._helpers: list[threading.Thread] = []
        self._busy = threading.Lock()  # one map at a time; a second caller works alone
        self._wake = threading.Condition()
        self._done = threading.Condition()
        self._generation = 0
        self._job: _Job | None = None
        self._stopping = False

    def set_threads(self, threads: int) -> None:
        with self._busy:
            if threads == self.threads:
                return
            with self._wake:
                self._stopping = True
                self._wake.notify_all()
            for helper in self._helpers:
                helper.join()
            self._stopping, self.threads = False, threads
            self._helpers = [
                threading.Thread(target=self._help, name=f"digitnet-{index}", daemon=True)
                for index in range(1, threads)
            ]
            for helper in self._helpers:
                helper.start()

    def map(self, task: Callable[[Item], Result], items: Sequence[Item]) -> list[Result]:
        """task(item) for every item, the results in the items' order."""
        alone = threading.current_thread().name.startswith("digitnet")  # helpers, a server's
        if self.threads == 1 or len(items) < 2 or alone or not self._busy.acquire(blocking=False):
            return [task(item) for item in items]  # training thread: one core, by its name
        try:
            job = _Job(task, items)
            with self._wake:
                self._job, self._generation = job, self._generation + 1
                self._wake.notify_all()
            job.work()
            with self._done:
                while job.remaining:
                    self._done.wait()
            self._job = None
            if job.error is not None:
                raise job.error
            return job.results
        finally:
            self._busy.release()

    def _help(self) -> None:
        seen = 0
        while True:
            with self._wake:
                while self._generation == seen and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    return
                seen, job = self._generation, self._job
            if job is not None:
                job.work()
                with self._done:
                    self._done.notify_all()


class _Job:
    """One map call: the items, a counter that hands them out, and the results."""

    def __init__(self, task: Callable, items: Sequence) -> None:
        self.task, self.items = task, items
        self.results: list = [None] * len(items)
        self.next = itertools.count()  # taking a number is atomic in CPython
        self.remaining = len(items)
        self.lock = threading.Lock()
        self.error: BaseException | None = None
        # numpy's floating-point error settings belong to each thread: a helper
        # works under the caller's (the trainer silences overflow warnings, say).
        self.float_errors = np.geterr()

    def work(self) -> None:
        with np.errstate(**self.float_errors):
            for index in iter(self.next.__next__, None):
                if index >= len(self.items):
                    return
                try:
                    self.results[index] = self.task(self.items[index])
                except BaseException as error:  # raised again in the calling thread
                    self.error = error
                with self.lock:
                    self.remaining -= 1


WORKERS = Workers()


def default_threads() -> int:
    """Every core this process may use, less those other programs keep busy.

    Each fast layer waits for all of its pieces, so a worker whose core is taken
    by another program holds everyone up: on a busy machine fewer threads are
    faster (benchmarks/README.md measures both).  The load average says how many
    programs were running lately, so the default leaves their cores to them.
    """
    cores = available_cores()
    try:
        busy = round(os.getloadavg()[0])
    except (AttributeError, OSError):  # no load average on this system
        busy = 0
    return max(1, min(cores, cores - busy))


def capped(threads: int | None, named: str = "--threads ") -> tuple[int, str | None]:
    """The thread count to use for `threads` (None: `default_threads()`), and a
    note when the request was more than the cores this process may use.  `named`
    is how the caller spells the setting in what it says: '--threads ' on the
    command line, 'threads=' in Python."""
    cores = available_cores()
    if threads is None:
        return default_threads(), None
    if isinstance(threads, bool) or not isinstance(threads, int | np.integer) or threads < 1:
        raise DigitnetError(f"{named}{threads!r}: must be a whole number of cores, at least 1 "
                            "(or None: every core)")  # fmt: skip
    if threads > cores:
        return cores, (
            f"{named}{threads}: this process may use {cores} core{'' if cores == 1 else 's'}; "
            f"using {cores} "
            "(more threads than cores only take turns)"
        )
    return int(threads), None


@contextmanager
def using_threads(
    threads: int | None, say: Callable[[str], None] | None = None, named: str = "--threads "
) -> Iterator[int]:
    """A context in which the fast layers use `threads` workers (capped to the cores,
    with `say` told why, naming the setting as `named`: see `capped`) and BLAS one
    thread each; the previous settings come back after."""
    count, note = capped(threads, named)
    if note and say is not None:
        say(note)
    previous = WORKERS.threads
    WORKERS.set_threads(count)
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            yield count
    finally:
        WORKERS.set_threads(previous)


def pieces(count: int, size: int) -> list[slice]:
    """range(count) cut into consecutive slices of `size` (the last may be shorter)."""
    size = max(1, size)
    return [slice(start, min(start + size, count)) for start in range(0, count, size)]


# A piece much smaller than this costs more in handing it to a thread (and in Python's
# lock, which each numpy call takes back when it returns) than its work saves.
SMALLEST_PIECE = 131_072  # numbers in one piece of an elementwise pass (512 KB of float32)
SMALLEST_PRODUCT = 16_000_000  # multiply-adds in one block of a matrix product (about 0.25 ms)


def rows_per_piece(row_size: int) -> int:
    """The fewest rows of `row_size` numbers that make a piece worth a thread."""
    return max(1, -(-SMALLEST_PIECE // max(1, row_size)))


def split(count: int, parts: int = 8, smallest: int = 1) -> list[slice]:
    """range(count) cut into about `parts` slices, none under `smallest` items:
    a split fixed by the sizes alone, the same at every thread count."""
    return pieces(count, max(smallest, -(-count // parts)))


def shares(count: int, row_size: int) -> list[slice]:
    """range(count) rows of `row_size` numbers cut into two slices for each thread
    (none under `rows_per_piece`), for a pass in which each number is computed on
    its own (a ReLU, an affine map): there the cut changes no number, so it may
    follow the thread count, which no sum may.

    Few large pieces, not many small ones: every numpy call ends by taking Python's
    lock back, and when the other thread holds it the caller sleeps until woken,
    which costs more than a small piece's work (benchmarks/README.md, 2026-12-04).
    Two for each thread, so that a thread held up by another program leaves a
    piece to the others."""
    return split(count, 2 * WORKERS.threads, rows_per_piece(row_size))
