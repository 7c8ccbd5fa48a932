"""The connection-level guard of `digitnet serve`: a deadline for each request's headers
and a cap on open connections, added to uvicorn's own HTTP/1.1 protocol (h11).

uvicorn has no deadline for a request's headers, and its `limit_concurrency` counts
every open connection, whether its headers have arrived or not.  So 64 clients that send
their headers a byte every few seconds (a bad mobile link, a half-open socket, or
someone doing it on purpose) once had every other request answered 503 (issue 23).
Here each connection is, at any moment, in one of three states:

- **idle**: no request of it is being answered.  Its client must send a whole request
  head within `header_seconds`, counted from the moment it connected or its previous
  answer was sent; sending a byte now and then does not extend it.  Past the deadline
  the connection is closed, after a 408 if the client had begun a request.
- **receiving**: its request's head has arrived, its body is still arriving, and no
  answer has begun.  The application gives the body its own deadline (serve.py).
- **working**: the application is answering its request; it keeps its own limits on
  that work (serve_limits.py: the picture queue, the memory for bodies).

When `max_connections` are open, a new connection makes room: it closes the connection
that has waited longest for its client (idle or receiving, counted from the moment it
connected, its answer was sent or its head arrived), with a 408 that says why.  Only
when every connection is working is the newcomer answered 503 with Retry-After, and
closed.  So slow clients cost a file descriptor and a few kilobytes for a few seconds
each, and no request that has arrived waits for them.

The subclass reads uvicorn's per-connection state (`cycle`, `conn`, `connections`) and
extends five of its methods; that is uvicorn's inside, not its promise, so
tests/test_serve_slow.py checks every rule on a real server (it passes with uvicorn
0.29, the oldest the serve extra allows, and 0.54).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from dataclasses import replace
from typing import Any

import h11
from uvicorn import Config
from uvicorn.protocols.http.h11_impl import H11Protocol

from digitnet.interfaces.serve_limits import ServeLimits

FILES_KEPT_FREE = 64  # descriptors left for everything but connections: models, threads
ACCEPT_BACKLOG = 256  # connections the kernel holds until accepted (uvicorn's default: 2048)
ACCEPT_BURSTS = 4  # descriptors kept free for this many backlogs beyond the cap


def error_bytes(status: int, reason: str, error: str, *headers: str) -> bytes:
    """A whole HTTP/1.1 answer with the JSON error every other 4xx/5xx also has, that
    closes the connection: written as is, when the application is not answering."""
    body = json.dumps({"error": error}).encode()
    head = [f"HTTP/1.1 {status} {reason}", "content-type: application/json",
            f"content-length: {len(body)}", "connection: close", *headers]  # fmt: skip
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def send_at_once(transport: asyncio.BaseTransport) -> None:
    """Turn off Nagle's algorithm on a connection, so that each write leaves at once.

    uvicorn writes an answer's headers and its body as two writes.  With Nagle's algorithm
    on, the kernel holds the body back until the client acknowledges the headers, and a
    client delays that acknowledgement by up to 40 ms in the hope of sending it with data
    of its own: every answer then took 40 ms more, and one client got at most 20 a second.
    asyncio turns it off only for sockets made with protocol IPPROTO_TCP; uvicorn's
    listening socket is made with protocol 0, and so are the connections it accepts."""
    connection = transport.get_extra_info("socket")
    if connection is not None and connection.family in (socket.AF_INET, socket.AF_INET6):
        # macOS and the BSDs refuse it on a socket its client has already reset: that
        # connection is about to be lost anyway.
        with contextlib.suppress(OSError):
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def guarded_protocol(limits: ServeLimits) -> type[H11Protocol]:
    """uvicorn's h11 protocol with the header deadline and the connection cap of `limits`.
    Each call makes a new class: its connections' states belong to one server."""
    # Connections idle or receiving: waiting for their client, longest first (dicts keep
    # the order things were put in).
    waiting: dict[Any, None] = {}
    headers_too_slow = error_bytes(408, "Request Timeout",
                                   f"the request's headers did not arrive within "
                                   f"{limits.header_seconds:g} s")  # fmt: skip
    headers_make_room = error_bytes(408, "Request Timeout",
                                    "the request's headers were still arriving when the "
                                    "server needed the connection for others")  # fmt: skip
    body_too_slow = error_bytes(408, "Request Timeout",
                                "the body was still arriving when the server needed the "
                                "connection for others: send it faster")  # fmt: skip
    stopping = error_bytes(503, "Service Unavailable", "the server is stopping",
                           f"retry-after: {limits.retry_after_seconds}")  # fmt: skip
    full = error_bytes(503, "Service Unavailable",
                       f"the server is busy (all {limits.max_connections} connections are "
                       "answering requests): try again in a moment",
                       f"retry-after: {limits.retry_after_seconds}")  # fmt: skip

    class GuardedH11Protocol(H11Protocol):
        state: str = "new"  # then idle, receiving, working, idle...
        deadline: asyncio.TimerHandle | None = None
        heard: bool = False  # bytes of a next request arrived while idle

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            send_at_once(transport)
            if len(self.connections) > limits.max_connections:
                longest_waiting = next(iter(waiting), None)
                if longest_waiting is None:  # every other connection is answering a request
                    self.transport.write(full)
                    self.transport.close()
                    return
                longest_waiting.cut_off(to_make_room=True)
            self.follow()

        def data_received(self, data: bytes) -> None:
            self.heard = self.heard or self.state == "idle"
            super().data_received(data)
            self.follow()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self.follow()

        def connection_lost(self, exc: Exception | None) -> None:
            self.enter("closed")
            super().connection_lost(exc)

        def shutdown(self) -> None:
            """Ctrl-C: answers being made are finished, bodies still arriving are not
            waited for (a slow upload would hold the stop for minutes)."""
            if self.state == "receiving":
                self.enter("closed")
                self.transport.write(stopping)
                self.transport.close()
            else:
                super().shutdown()

        def follow(self) -> None:
            """Note the connection's state as it changes; an idle one has a deadline."""
            cycle = self.cycle
            if self.transport.is_closing():
                self.enter("closed")
            elif cycle is None or cycle.response_complete:
                if self.state != "idle":
                    self.enter("idle")
                    self.heard = False
                    self.deadline = self.loop.call_later(limits.header_seconds, self.cut_off)
            elif self.conn.their_state is h11.SEND_BODY and not cycle.response_started:
                self.enter("receiving")
            else:
                self.enter("working")

        def enter(self, state: str) -> None:
            if state == self.state:
                return
            self.state = state
            waiting.pop(self, None)
            if state in ("idle", "receiving"):
                waiting[self] = None  # at the end: it has waited least
            if self.deadline is not None:
                self.deadline.cancel()
                self.deadline = None

        def cut_off(self, to_make_room: bool = False) -> None:
            """Close a connection waiting for its client: its head deadline passed, or
            it waited longest when a new one needs room.  A receiving one's request sees
            the client disconnect."""
            answer = b""
            if self.state == "idle" and self.heard:
                answer = headers_make_room if to_make_room else headers_too_slow
            elif self.state == "receiving":
                answer = body_too_slow
            self.enter("closed")
            if not self.transport.is_closing():
                self.transport.write(answer)
                self.transport.close()

    return GuardedH11Protocol


def connection_room(wanted: int) -> tuple[int, int]:
    """(connections, backlog): how many connections this process can hold, `wanted` if
    its limit on open files allows (the soft limit is raised toward the hard one if need
    be), and the listening socket's backlog.

    asyncio accepts up to `backlog` waiting connections at once, each with a descriptor,
    before any of them reaches the guard, and a connection closed to make room gives its
    descriptor back a loop turn later.  So descriptors are kept free for a few backlogs'
    worth of connections beyond the cap: without them a burst of slow clients ran the
    process out of descriptors, and asyncio stopped accepting for a second at a time."""
    try:
        import resource
    except ImportError:  # Windows: no such limit on sockets
        return wanted, ACCEPT_BACKLOG
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = wanted + FILES_KEPT_FREE + ACCEPT_BURSTS * ACCEPT_BACKLOG
    if soft != resource.RLIM_INFINITY and soft < needed:
        raised = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return wanted, ACCEPT_BACKLOG
    spare = soft - FILES_KEPT_FREE
    backlog = max(16, min(ACCEPT_BACKLOG, spare // (2 * ACCEPT_BURSTS)))
    return max(1, min(wanted, spare - ACCEPT_BURSTS * backlog)), backlog


def server_config(app: Any, limits: ServeLimits) -> Config:
    """uvicorn's configuration for `app` under `limits` (the command's and the tests')."""
    cap, backlog = connection_room(limits.max_connections)
    if cap != limits.max_connections:
        limits = replace(limits, max_connections=cap)
    return Config(
        app,
        http=guarded_protocol(limits),
        ws="none",  # no route speaks WebSocket: an upgrade is a plain request
        limit_concurrency=None,  # it counted idle connections too: the guard replaces it
        backlog=backlog,
        log_level="warning",
        access_log=False,
    )
