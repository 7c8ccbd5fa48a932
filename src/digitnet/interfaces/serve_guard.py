"""The connection-level guard of `digitnet serve`: a deadline for each request's headers
and a cap on open connections, added to uvicorn's own HTTP/1.1 protocol (h11).

uvicorn has no deadline for a request's headers, and its `limit_concurrency` counts
every open connection, whether its headers have arrived or not.  So 64 clients that send
their headers a byte every few seconds (a bad mobile link, a half-open socket, or
someone doing it on purpose) once had every other request answered 503 (issue 23).
Here each connection is in one of two states:

- **idle**: no request of it is being answered.  Its client must send a whole request
  head within `header_seconds`, counted from the moment it connected or its previous
  answer was sent; sending a byte now and then does not extend it.  Past the deadline
  the connection is closed, after a 408 if the client had begun a request.  Idle
  connections are also the ones that make room: when `max_connections` are open, a
  new connection closes the one that has been idle longest.
- **working**: its request's head has arrived and the application is answering it.
  The application keeps its own limits (serve_limits.py): the body's deadline, the
  picture queue, the memory for bodies.  Only when every open connection is working is
  a new one answered 503 with Retry-After, and closed.

So slow clients cost a file descriptor and a few kilobytes for a few seconds each, and
count against nothing that normal requests need.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

from uvicorn import Config
from uvicorn.protocols.http.h11_impl import H11Protocol

from digitnet.interfaces.serve_limits import ServeLimits

FILES_KEPT_FREE = 64  # descriptors left for everything but connections: models, threads


def error_bytes(status: int, reason: str, error: str, *headers: str) -> bytes:
    """A whole HTTP/1.1 answer with the JSON error every other 4xx/5xx also has, that
    closes the connection: written as is when no request is being answered."""
    body = json.dumps({"error": error}).encode()
    head = [f"HTTP/1.1 {status} {reason}", "content-type: application/json",
            f"content-length: {len(body)}", "connection: close", *headers]  # fmt: skip
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def guarded_protocol(limits: ServeLimits) -> type[H11Protocol]:
    """uvicorn's h11 protocol with the header deadline and the connection cap of `limits`.
    Each call makes a new class: its idle connections belong to one server."""
    idle: dict[Any, None] = {}  # connections idle now, longest idle first (dicts keep order)
    too_slow = error_bytes(408, "Request Timeout",
                           f"the request's headers did not arrive within "
                           f"{limits.header_seconds:g} s")  # fmt: skip
    full = error_bytes(503, "Service Unavailable",
                       f"the server is busy (all {limits.max_connections} connections are "
                       "answering requests): try again in a moment",
                       f"retry-after: {limits.retry_after_seconds}")  # fmt: skip

    class GuardedH11Protocol(H11Protocol):
        deadline: asyncio.TimerHandle | None = None
        heard: bool = False  # bytes of a next request arrived while idle

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > limits.max_connections:
                longest_idle = next(iter(idle), None)
                if longest_idle is None:  # every other connection is answering a request
                    self.transport.write(full)
                    self.transport.close()
                    return
                longest_idle.cut_off()
            self.follow()

        def data_received(self, data: bytes) -> None:
            self.heard = self.heard or self in idle
            super().data_received(data)
            self.follow()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self.follow()

        def connection_lost(self, exc: Exception | None) -> None:
            self.stop_waiting()
            super().connection_lost(exc)

        def follow(self) -> None:
            """Start or stop the header deadline as the connection turns idle or working."""
            answering = self.cycle is not None and not self.cycle.response_complete
            if self.transport.is_closing() or answering:
                self.stop_waiting()
            elif self not in idle:
                idle[self] = None
                self.heard = False
                self.deadline = self.loop.call_later(limits.header_seconds, self.cut_off)

        def stop_waiting(self) -> None:
            idle.pop(self, None)
            if self.deadline is not None:
                self.deadline.cancel()
                self.deadline = None

        def cut_off(self) -> None:
            """Close an idle connection: its deadline passed, or a new one needs the room."""
            self.stop_waiting()
            if not self.transport.is_closing():
                if self.heard:
                    self.transport.write(too_slow)
                self.transport.close()

    return GuardedH11Protocol


def connection_cap(wanted: int) -> int:
    """How many connections this process can hold: `wanted`, if the limit on open files
    allows (its soft limit is raised up to the hard one if need be), else fewer."""
    try:
        import resource
    except ImportError:  # Windows: no such limit on sockets
        return wanted
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = wanted + FILES_KEPT_FREE
    if soft != resource.RLIM_INFINITY and soft < needed:
        raised = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, soft - FILES_KEPT_FREE))


def server_config(app: Any, limits: ServeLimits) -> Config:
    """uvicorn's configuration for `app` under `limits` (the command's and the tests')."""
    cap = connection_cap(limits.max_connections)
    if cap != limits.max_connections:
        limits = replace(limits, max_connections=cap)
    return Config(
        app,
        http=guarded_protocol(limits),
        ws="none",  # no route speaks WebSocket: an upgrade is a plain request
        limit_concurrency=None,  # it counted idle connections too: the guard replaces it
        log_level="warning",
        access_log=False,
    )
