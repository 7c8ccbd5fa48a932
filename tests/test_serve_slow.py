"""`digitnet serve` against slow clients and too much work (issue 23): a real server on
127.0.0.1 (uvicorn with serve_guard's protocol, in a thread), hundreds of connections
that dribble their headers or bodies, and normal requests that must still be answered
at once.  Deadlines here are short (about a second) so that each test ends in seconds;
the command's own are longer (serve_limits.py), the mechanism is the same."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from photo_fakes import DRAWINGS, drawn

pytest.importorskip("starlette")
uvicorn = pytest.importorskip("uvicorn")

import digitnet  # noqa: E402
from digitnet.data.bundled import SERVED_MODEL, served_model_path  # noqa: E402
from digitnet.interfaces import serve  # noqa: E402
from digitnet.interfaces.serve import ServedModel, create_app  # noqa: E402
from digitnet.interfaces.serve_guard import server_config  # noqa: E402
from digitnet.interfaces.serve_limits import ServeLimits  # noqa: E402

QUICK = 1.0  # seconds: what "answered at once" means here, on a shared 2-core machine


@pytest.fixture(scope="module")
def shipped():
    with served_model_path() as path:
        return digitnet.load_model(path)


@contextmanager
def running(model, limits: ServeLimits, max_body_bytes: int = serve.MAX_BODY_BYTES):
    """A real server on 127.0.0.1 under `limits`, wired as `digitnet serve` wires it."""
    app = create_app([ServedModel(SERVED_MODEL, model)], max_body_bytes, limits=limits)
    server = uvicorn.Server(server_config(app, limits))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    try:
        yield listener.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        listener.close()
    assert not thread.is_alive(), "the server did not stop"


class SlowClients:
    """`count` connections that send `head`, then one more byte of `dribble` every
    `every` seconds until the server closes them (or `stop`).  Whatever the server
    answered each is kept in `answers`; `closed_after` says when it closed it."""

    def __init__(self, port: int, count: int, head: bytes, dribble: bytes, every: float):
        self.sockets = []
        for _ in range(count):
            connection = socket.create_connection(("127.0.0.1", port), timeout=5)
            connection.sendall(head)
            connection.setblocking(False)
            self.sockets.append(connection)
        self.opened = time.monotonic()
        self.answers = [b""] * count
        self.closed_after: list[float | None] = [None] * count
        self.dribble, self.every = dribble, every
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._dribble, daemon=True)
        self.thread.start()

    def _dribble(self) -> None:
        sent = 0
        while not self.stopping.wait(self.every) and None in self.closed_after:
            at = sent % len(self.dribble) if self.dribble else 0
            byte, sent = self.dribble[at : at + 1], sent + 1
            for index, connection in enumerate(self.sockets):
                if self.closed_after[index] is None:
                    self._read(index, connection)
                if self.closed_after[index] is None and byte:
                    try:
                        connection.send(byte)
                    except OSError:  # reset by the server: closed
                        self.closed_after[index] = time.monotonic() - self.opened

    def _read(self, index: int, connection: socket.socket) -> None:
        try:
            while data := connection.recv(4096):
                self.answers[index] += data
            self.closed_after[index] = time.monotonic() - self.opened  # b"": end of stream
        except BlockingIOError:
            pass
        except OSError:
            self.closed_after[index] = time.monotonic() - self.opened

    def wait_closed(self, seconds: float) -> None:
        self.thread.join(timeout=seconds)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        for connection in self.sockets:
            connection.close()


def ask(port: int, method: str, path: str, body: bytes | None = None, kind: str = ""):
    """A normal request on a new connection: (status, headers, JSON answer, seconds)."""
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body, {"Content-Type": kind} if kind else {})
        reply = connection.getresponse()
        answer = reply.read()
    finally:
        connection.close()
    elapsed = time.monotonic() - started
    kind = reply.headers.get("content-type", "")
    return reply.status, reply.headers, json.loads(answer) if "json" in kind else answer, elapsed


PIXELS = json.dumps({"pixels": [0] * 300 + [200] * 184 + [0] * 300}).encode()
SLOW_HEAD = b"GET /api/models HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
SLOW_BODY = (b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
             b"Content-Length: 5000\r\n\r\n\x89PNG")  # fmt: skip


def test_hundreds_of_slow_clients_do_not_lock_out_the_page(shipped):
    """250 connections (the old limit was 64) send a byte every 0.2 s: 200 still in their
    headers, 50 in their body.  Normal requests are answered at once meanwhile, and
    every slow one is cut off at its deadline, with a 408 JSON error."""
    limits = ServeLimits(header_seconds=1.5, body_grace_seconds=1.5)
    drawing = drawn(DRAWINGS[7], 20)
    with running(shipped, limits) as port:
        heads = SlowClients(port, 200, SLOW_HEAD, b"abcdefgh", every=0.2)
        bodies = SlowClients(port, 50, SLOW_BODY, b"\0", every=0.2)
        try:
            time.sleep(0.3)  # all are connected and dribbling
            for _ in range(3):
                status, _, models, elapsed = ask(port, "GET", "/api/models")
                assert status == 200 and models["models"][0]["name"] == SERVED_MODEL
                assert elapsed < QUICK, f"the model list took {elapsed:.2f} s"
                status, _, answer, elapsed = ask(port, "POST", "/api/predict", drawing,
                                                 "image/png")  # fmt: skip
                assert status == 200 and answer["prediction"] == 7
                assert elapsed < QUICK, f"a drawing took {elapsed:.2f} s"
            status, _, page, elapsed = ask(port, "GET", "/")
            assert status == 200 and b"<canvas" in page and elapsed < QUICK
            assert None in heads.closed_after, "the slow clients were cut off too early"
            heads.wait_closed(limits.header_seconds + 2)
            bodies.wait_closed(limits.body_grace_seconds + 2)
        finally:
            heads.stop()
            bodies.stop()
    expected = [(heads, limits.header_seconds, b"headers did not arrive"),
                (bodies, limits.body_grace_seconds, b"body did not arrive")]  # fmt: skip
    for clients, deadline, words in expected:
        assert None not in clients.closed_after, "a slow client was never cut off"
        assert min(clients.closed_after) >= deadline - 0.3  # not before the deadline...
        assert max(clients.closed_after) < deadline + 1.5  # ...and soon after it
        for answer in clients.answers:
            assert answer.startswith(b"HTTP/1.1 408 ") and words in answer, answer[:200]
            assert b"application/json" in answer


def test_idle_connections_make_room_for_new_ones(shipped):
    """At the connection cap, a new connection closes the longest-idle one: 40 idle
    connections on a server of 25 leave the 24 newest open, and a normal request in."""
    limits = ServeLimits(max_connections=25, header_seconds=5)
    with running(shipped, limits) as port:
        begun = SlowClients(port, 10, b"GET / HTTP/1.1\r\n", b"", every=0.1)
        time.sleep(0.2)
        silent = SlowClients(port, 30, b"", b"", every=0.1)  # they never send a byte
        try:
            time.sleep(0.3)
            status, _, _, elapsed = ask(port, "GET", "/api/models")
            assert status == 200 and elapsed < QUICK
            time.sleep(0.3)
            closed = [after is not None for after in begun.closed_after + silent.closed_after]
            assert closed == [True] * 16 + [False] * 24, closed  # the oldest made room
            for answer in begun.answers:  # a client that had begun is told why
                assert answer.startswith(b"HTTP/1.1 408 ") and b"needed the connection" in answer
            assert silent.answers == [b""] * 30  # a silent one is just closed
        finally:
            begun.stop()
            silent.stop()


def test_slow_bodies_make_room_too_when_no_connection_is_idle(shipped):
    """With no idle connection, a new one closes the one receiving its body longest,
    with a 408 that says why; the new request is answered."""
    limits = ServeLimits(max_connections=20, body_grace_seconds=5)
    with running(shipped, limits) as port:
        bodies = SlowClients(port, 20, SLOW_BODY, b"\0", every=0.1)
        time.sleep(0.3)  # all 20 are receiving their bodies
        newer = SlowClients(port, 10, SLOW_BODY, b"\0", every=0.1)
        try:
            time.sleep(0.3)
            status, _, _, elapsed = ask(port, "GET", "/api/models")
            assert status == 200 and elapsed < QUICK
            time.sleep(0.3)
            closed = [after is not None for after in bodies.closed_after + newer.closed_after]
            assert closed[:11] == [True] * 11 and not any(closed[11:]), closed
            for answer in bodies.answers[:11]:
                assert answer.startswith(b"HTTP/1.1 408 ") and b"needed the connection" in answer
        finally:
            bodies.stop()
            newer.stop()


def test_when_every_connection_is_working_a_new_one_gets_503_and_retry_after(shipped, monkeypatch):
    """Connections whose request is being answered are never closed to make room: a new
    one is answered 503 with Retry-After at once, and the server recovers after."""
    from concurrent.futures import ThreadPoolExecutor

    limits = ServeLimits(max_connections=6, workers=2, queued=10)
    with running(shipped, limits) as port, ThreadPoolExecutor(6) as pool:
        with blocked_pictures(monkeypatch) as release:
            working = [pool.submit(ask, port, "POST", "/api/predict", PIXELS,
                                   "application/json") for _ in range(6)]  # fmt: skip
            time.sleep(0.5)
            status, headers, answer, elapsed = ask(port, "GET", "/api/models")
            assert status == 503 and headers["Retry-After"] == "1" and elapsed < QUICK
            assert "busy" in answer["error"] and "all 6 connections" in answer["error"]
            release.set()
            assert [request.result(timeout=10)[0] for request in working] == [200] * 6
        assert ask(port, "GET", "/api/models")[0] == 200


def test_bodies_in_memory_are_capped(shipped):
    """Bodies are counted as they arrive, beyond the first bytes of each (a drawing is
    never refused for big uploads): one that would pass the cap is 503, not queued."""
    limits = ServeLimits(bodies_in_memory=8000, body_bytes_uncounted=1000,
                         body_grace_seconds=1.0)  # fmt: skip
    head = (b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
            b"Content-Length: 10000\r\n\r\n")  # fmt: skip
    with running(shipped, limits, max_body_bytes=12000) as port:
        holder = SlowClients(
            port, 1, head + b"\0" * 6000, b"\0", every=0.2
        )  # 5000 counted, growing
        try:
            time.sleep(0.2)
            status, headers, answer, _ = ask(port, "POST", "/api/predict", b"\0" * 5000,
                                             "image/png")  # fmt: skip
            assert status == 503 and headers["Retry-After"] == "1"
            assert "too many bodies" in answer["error"]
            status, _, answer, _ = ask(port, "POST", "/api/predict", b"\0" * 3500, "image/png")
            assert status == 422 and "not a picture" in answer["error"]  # it fitted
            status, _, answer, _ = ask(port, "POST", "/api/predict", b"\0" * 13000, "image/png")
            assert status == 413  # the cap on one body still comes first
        finally:
            holder.stop()


@contextmanager
def blocked_pictures(monkeypatch) -> Iterator[threading.Event]:
    """Picture work that waits for the event: the queue fills up on demand."""
    release = threading.Event()
    real_answer = serve._answer

    def answer_when_released(*args):
        release.wait(10)
        return real_answer(*args)

    monkeypatch.setattr(serve, "_answer", answer_when_released)
    try:
        yield release
    finally:
        release.set()


def test_the_picture_queue_is_bounded_in_length_and_in_time(shipped, monkeypatch):
    """One worker, one place in the queue: a third picture is 503 at once; a picture
    kept waiting longer than queue_seconds is 503 too, never a hang."""
    from concurrent.futures import ThreadPoolExecutor

    limits = ServeLimits(workers=1, queued=1, queue_seconds=1.5)
    pixels = PIXELS
    with running(shipped, limits) as port, ThreadPoolExecutor(3) as pool:
        with blocked_pictures(monkeypatch) as release:
            first = pool.submit(ask, port, "POST", "/api/predict", pixels, "application/json")
            time.sleep(0.3)
            second = pool.submit(ask, port, "POST", "/api/predict", pixels, "application/json")
            time.sleep(0.3)
            status, headers, answer, elapsed = ask(port, "POST", "/api/predict", pixels,
                                                   "application/json")  # fmt: skip
            assert status == 503 and headers["Retry-After"] == "1" and elapsed < QUICK
            assert "1 picture is waiting already" in answer["error"]
            status, headers, answer, elapsed = second.result(timeout=10)
            assert status == 503 and "no worker was free for 1.5 s" in answer["error"]
            assert 1.0 < elapsed < 1.5 + QUICK
            release.set()
            assert first.result(timeout=10)[0] == 200
        assert ask(port, "POST", "/api/predict", pixels, "application/json")[0] == 200


def test_the_command_stays_open_to_normal_requests_and_ctrl_c_still_stops_it():
    """`digitnet serve` itself, its own limits: 150 clients in their headers and 30 in
    their bodies (the old limit was 64) leave the page answered at once, and Ctrl-C
    stops the server at once ('stopped', exit 0): it does not wait for slow bodies."""
    import os
    import signal
    import subprocess
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "digitnet.interfaces.cli", "serve", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    heads = bodies = None
    try:
        first = server.stdout.readline()
        assert f"at http://127.0.0.1:{port}/" in first, first + server.stderr.read()
        deadline = time.monotonic() + 20
        while True:
            try:
                assert ask(port, "GET", "/api/models")[0] == 200
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not answer"
                time.sleep(0.2)
        heads = SlowClients(port, 150, SLOW_HEAD, b"abc", every=0.5)
        bodies = SlowClients(port, 30, SLOW_BODY, b"\0", every=0.5)
        time.sleep(0.5)
        for _ in range(3):
            status, _, models, elapsed = ask(port, "GET", "/api/models")
            assert status == 200 and elapsed < QUICK, (status, elapsed)
        assert None in heads.closed_after and None in bodies.closed_after  # still there
        stopping = time.monotonic()
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=20)
        assert time.monotonic() - stopping < 3, "Ctrl-C waited for the slow clients"
    finally:
        for clients in (heads, bodies):
            if clients is not None:
                clients.stop()
        if server.poll() is None:
            server.kill()
    assert server.returncode == 0 and out.strip().endswith("stopped")
    assert "Traceback" not in err and "ERROR" not in err, err


def test_an_answer_is_not_held_back_by_nagles_algorithm(shipped):
    """Each answer leaves as soon as it is made.  uvicorn writes the headers and the body
    apart; with Nagle's algorithm on the server's socket the body waited for the client's
    delayed acknowledgement of the headers, 40 ms on Linux, so 19 of 20 requests on one
    connection took 40 ms or more whatever the server's work (serve_guard.send_at_once)."""
    request = b"GET /api/models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"  # one write, as a browser
    with running(shipped, ServeLimits()) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            seconds = []
            for _ in range(20):
                started = time.monotonic()
                connection.sendall(request)
                answer = b""
                while not (b"\r\n\r\n" in answer and answer.endswith(b"}")):
                    answer += connection.recv(65536)
                seconds.append(time.monotonic() - started)
    assert answer.startswith(b"HTTP/1.1 200 ")
    stalled = [round(s * 1000, 1) for s in seconds if s > 0.035]  # a stall: 40 ms or more
    assert len(stalled) < 5, stalled  # with Nagle's algorithm on: 19 of the 20


def test_the_served_training_api_names_json_fields_not_command_line_flags(tmp_path):
    """`digitnet serve` runs inside the command line, whose knob errors name --flags;
    its training API takes JSON fields, so its errors must name those."""
    from browser import serving

    with serving(["--save-dir", str(tmp_path)], tmp_path, "/api/training", 60) as url:
        host, port = url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        body = json.dumps({"recipe": "fast", "epochs": 1, "learning_rate": -1})
        connection.request("POST", "/api/training", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        answer = json.loads(response.read())
        connection.close()
    assert response.status == 422 and answer["field"] == "learning_rate"
    assert "learning_rate=-1" in answer["error"] and "--learning-rate" not in answer["error"]


def _raw(url: str, method: str, path: str, headers: dict[str, str], body: bytes = b""):
    """One request with exactly these headers (Host included), its status and JSON."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    for name, value in {"Content-Length": str(len(body)), **headers}.items():
        connection.putheader(name, value)
    connection.endheaders(body)
    response = connection.getresponse()
    answer = json.loads(response.read() or b"null")
    connection.close()
    return response.status, answer


def test_other_sites_cannot_train_save_or_read_through_the_browser(tmp_path):
    """A page elsewhere can make the browser POST here (text/plain needs no preflight),
    or point its own name at 127.0.0.1 (DNS rebinding): serve_origin.py refuses both."""
    from browser import serving

    with serving(["--save-dir", str(tmp_path)], tmp_path, "/api/training", 60) as url:
        here = url.removeprefix("http://")
        start = json.dumps({"recipe": "fast", "epochs": 1}).encode()
        text = {"Host": here, "Content-Type": "text/plain"}
        assert _raw(url, "POST", "/api/training", text, start)[0] == 415
        forged = {"Host": here, "Content-Type": "application/json",
                  "Origin": "https://evil.example"}  # fmt: skip
        status, answer = _raw(url, "POST", "/api/training", forged, start)
        assert status == 403 and "another site" in answer["error"]
        rebound = {"Host": f"evil.example:{here.split(':')[1]}"}
        status, answer = _raw(url, "GET", "/api/models", rebound)
        assert status == 403 and "evil.example" in answer["error"]
        assert _raw(url, "GET", "/api/models", {"Host": here})[0] == 200
        local = here.replace("127.0.0.1", "localhost")
        assert _raw(url, "GET", "/api/models", {"Host": local})[0] == 200
        assert _raw(url, "POST", "/api/training/save", text, b"{}")[0] == 415
        assert _raw(url, "GET", "/api/training", {"Host": here})[1]["state"]["status"] == "idle"
    assert list(tmp_path.glob("*.npz")) == []  # nothing was saved
