"""Requests from other web sites: refused.

A page the user has open elsewhere can make the browser send requests to
http://127.0.0.1:8000 too.  It cannot read the answers, but without a guard it
could start training, stop it, or save models into the save folder: a POST with
a `text/plain` body needs no permission from the server (no CORS preflight).  And
a site whose name it points at 127.0.0.1 (DNS rebinding) can even read them.
Three rules close this, checked before any route runs:

- **Host**: served on a loopback address, the server answers only requests whose
  Host header names that address or `localhost` (with the port).  A rebound name
  (`Host: evil.example:8000`) is refused.  Served beyond this machine, the names
  that reach it are not known, and this rule is off (the training view then
  needs --allow-remote-training).
- **Origin**: a request that changes something (not GET or HEAD) and says where
  it comes from must come from the page itself: its Origin's host and port must
  be the Host it is sent to.  Browsers send Origin on every cross-site POST.
- **JSON**: the training routes take a body only as `Content-Type:
  application/json`, which a browser sends cross-site only after asking the server
  first (a preflight this server never approves).  Their actions without a body
  (stop, pause) rest on the Origin rule.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from digitnet.interfaces.json_body import JSONResponse

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def loopback_hosts(port: int, bound: str = "127.0.0.1") -> frozenset[str]:
    """The Host headers a browser on this machine sends to a server on the loopback
    address `bound` (127.0.0.1, or another 127.x.y.z, or ::1)."""
    names = ("127.0.0.1", "localhost", "[::1]", f"[{bound}]" if ":" in bound else bound)
    hosts = {f"{name}:{port}".lower() for name in names}
    return frozenset(hosts | {name.lower() for name in names} if port == 80 else hosts)


class SameSiteOnly:
    """ASGI middleware: the rules above, then the application."""

    def __init__(self, app: ASGIApp, hosts: frozenset[str] | None) -> None:
        self.app, self.hosts = app, hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = self.refusal(scope)
            if refusal is not None:
                status, why = refusal  # the shape of every other refusal: a field, or none
                answer = JSONResponse({"error": why, "field": None}, status_code=status)
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def refusal(self, scope: Scope) -> tuple[int, str] | None:
        headers = {name.lower(): value.decode("latin-1") for name, value in scope["headers"]}
        host = headers.get(b"host", "").strip().lower()
        if self.hosts is not None and host not in self.hosts:
            return 403, (f"refused: this server answers requests for {sorted(self.hosts)[0]}, "
                         f"not for {host[:80] or 'no Host'}")  # fmt: skip
        method = scope["method"]
        origin = headers.get(b"origin")
        if method not in SAFE_METHODS and origin is not None:
            if urlsplit(origin.strip()).netloc.lower() != host:
                return 403, "refused: a request from another site (its Origin is not this page)"
        if method == "POST" and scope["path"].startswith("/api/training"):
            kind = headers.get(b"content-type", "").split(";")[0].strip().lower()
            length = headers.get(b"content-length", "0").strip()
            has_body = b"transfer-encoding" in headers or length not in ("", "0")
            if kind != "application/json" and (has_body or kind):
                return 415, "the training routes take Content-Type: application/json"
        return None
