"""What `digitnet serve` holds at once, how long it waits for a client, and the two
small pieces that keep the application's share of those limits.

A server can be denied to everyone in two ways: by clients that are slow (they hold a
connection while sending nothing useful) and by too much work at once (the answers all
come late, or memory runs out).  docs/serve.md states every limit below and its reason;
the connection-level ones are kept by `serve_guard.py`, the work-level ones here:

- `PictureQueue`: at most `workers` pictures are worked on at once, at most `queued`
  more wait for a worker, and none waits longer than `queue_seconds`.
- `BodyBudget`: the request bodies held in memory at once add up to at most
  `bodies_in_memory` bytes (beyond the first `body_bytes_uncounted` of each).

Past a limit a request gets 503 with `Retry-After` at once, never a hang.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field

import anyio
from starlette.exceptions import HTTPException


@dataclass(frozen=True)
class ServeLimits:
    """Every limit of the server, with the reason for its default."""

    # A request's head (its line and headers) is a few hundred bytes: one packet, sent at
    # once by any browser or script.  5 s is far beyond a slow phone's round trip.
    header_seconds: float = 5.0
    # A body must keep coming: 5 s to start, then at least 16 KB a second on average
    # (128 kbit/s, a poor mobile uplink: a 5 MB photo gets 5 min 25 s).
    body_grace_seconds: float = 5.0
    body_bytes_per_second: int = 16 * 1024
    # Open connections, slow ones included.  Each costs a file descriptor and 13 to 18 KB;
    # at the cap, the connection waiting longest for its client makes room (serve_guard).
    max_connections: int = 1000
    # Pictures worked on at once: one per core (the work is CPU-bound, and each holds a
    # decoded picture in memory).
    workers: int = field(default_factory=lambda: os.cpu_count() or 2)
    # Pictures waiting for a worker: a picture takes tens of milliseconds, so 32 waiting
    # is well under a second of work on two cores; more would only make answers late.
    queued: int = 32
    queue_seconds: float = 10.0
    # Bytes of request bodies in memory at once, counted as they arrive: eight 10 MB
    # photos.  The first 64 KB of each body are not counted, so that the page's drawings
    # and any JSON (a few kilobytes) are never refused for big uploads; the connection
    # cap bounds those (1000 x 64 KB).
    bodies_in_memory: int = 80 * 1024 * 1024
    body_bytes_uncounted: int = 64 * 1024
    retry_after_seconds: int = 1

    def busy(self, why: str) -> HTTPException:
        """The 503 a request gets past a limit: try again in a moment."""
        return HTTPException(503, f"the server is busy ({why}): try again in a moment",
                             headers={"Retry-After": str(self.retry_after_seconds)})  # fmt: skip


class PictureQueue:
    """Picture work, `limits.workers` at once, with a bounded wait for a worker."""

    def __init__(self, limits: ServeLimits) -> None:
        self.limits = limits
        self.workers = anyio.Semaphore(limits.workers)
        self.waiting = 0

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Wait for a worker (503 if too many wait, or the wait is too long), then hold it."""
        if self.workers.value == 0 and self.waiting >= self.limits.queued:
            queued = self.limits.queued
            waiting = "1 picture is" if queued == 1 else f"{queued} pictures are"
            raise self.limits.busy(f"{waiting} waiting already")
        self.waiting += 1
        try:
            with anyio.move_on_after(self.limits.queue_seconds) as wait:
                await self.workers.acquire()
        finally:
            self.waiting -= 1
        if wait.cancelled_caught:
            raise self.limits.busy(f"no worker was free for {self.limits.queue_seconds:g} s")
        try:
            yield
        finally:
            self.workers.release()


class BodyBudget:
    """The bytes of request bodies that all requests together hold in memory."""

    def __init__(self, limits: ServeLimits) -> None:
        self.limits = limits
        self.used = 0

    @contextmanager
    def share(self) -> Iterator[BodyShare]:
        """One request's share, given back when the request is done with its body."""
        share = BodyShare(self)
        try:
            yield share
        finally:
            self.used -= share.held


class BodyShare:
    def __init__(self, budget: BodyBudget) -> None:
        self.budget = budget
        self.held = 0

    def grow_to(self, size: int) -> None:
        """Hold a body of `size` bytes so far, or refuse with 503 if the budget has not
        that much left."""
        extra = size - self.budget.limits.body_bytes_uncounted - self.held
        if extra <= 0:
            return
        if self.budget.used + extra > self.budget.limits.bodies_in_memory:
            raise self.budget.limits.busy("too many bodies are being received at once")
        self.budget.used += extra
        self.held += extra
