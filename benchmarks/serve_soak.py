"""Soak of `digitnet serve`: slow clients plus steady load, memory before and after.

For each server (--servers) on 127.0.0.1 at a free port, with the shipped model and one
BLAS thread, this runs for `--seconds`, all at once:

- `--slow` slow clients.  Half (or all but the share `--in-body`) send a request head
  one byte every `--every` seconds; the others send a whole head for
  `POST /api/predict` and then its body one byte every `--every` seconds.  One the
  server cuts off comes back `--every` seconds later, so the pressure stays.
- `--steady` normal clients: each, in turn, posts a drawing (the page's request: a
  280x280 PNG) and asks for `/api/models`, each on a new connection (a new visitor), at
  most `--rate` requests a second.  Every answer must be a 200 (with the right digit);
  a 503, another status, or no answer in 10 s is counted apart.

It prints, per server: the normal requests (200, 503, other), their p50, p99 and largest
latency; the slow connections opened, the share the server cut off, and the median time
it took; the server's resident memory (its processes together) before the soak, at its
end, and after the slow clients left.

Servers (the application is today's in all of them; only the HTTP server differs):
  before     uvicorn as `digitnet serve` ran it before issue 23: limit_concurrency=64
  uvicorn    uvicorn with no limit: its settings alone (it has no header deadline)
  guarded    `digitnet serve` itself: serve_guard.py on uvicorn, serve_limits.py
  hypercorn  hypercorn, keep_alive_timeout 5 s, read_timeout 5 s   (if importable)
  granian    granian, --http1-header-read-timeout 5000 ms          (if importable)

Usage: python benchmarks/serve_soak.py [--servers before,guarded] [--slow 300]
       [--every 2] [--seconds 40] [--steady 2] [--rate 5] [--server-files 1024]
--server-files sets the server's limit on open files (soft and hard), as on a machine
whose limit is that low (1024 is a common default).
hypercorn and granian are not dependencies: `pip install --target DIR hypercorn granian`
and pass `--alt-path DIR` to measure them too.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from serve_load import DIGITS, drawing  # noqa: E402

SLOW_HEAD = b"GET /api/models HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow"
SLOW_BODY = (b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
             b"Content-Length: 100000\r\n\r\n")  # fmt: skip
ALL_SERVERS = ("before", "uvicorn", "guarded", "hypercorn", "granian")


# --- the servers (run in a subprocess: `serve_soak.py --launch NAME --port P`) -------------


def soak_app():
    """Today's application with the shipped model (granian imports it by name)."""
    import digitnet
    from digitnet.data.bundled import SERVED_MODEL, served_model_path
    from digitnet.interfaces.serve import ServedModel, create_app

    with served_model_path() as path:
        model = digitnet.load_model(path)
    return create_app([ServedModel(SERVED_MODEL, model)])


def launch(name: str, port: int) -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    if name in ("before", "uvicorn"):
        import uvicorn

        limit = 64 if name == "before" else None
        config = uvicorn.Config(soak_app(), host="127.0.0.1", port=port, log_level="warning",
                                access_log=False, limit_concurrency=limit)  # fmt: skip
        uvicorn.Server(config).run()
    elif name == "hypercorn":
        from hypercorn.asyncio import serve
        from hypercorn.config import Config

        config = Config()
        config.bind = [f"127.0.0.1:{port}"]
        config.keep_alive_timeout = 5
        config.read_timeout = 5
        shutdown = asyncio.Event()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        loop.add_signal_handler(signal.SIGINT, shutdown.set)
        loop.run_until_complete(serve(soak_app(), config, shutdown_trigger=shutdown.wait))
    else:
        raise SystemExit(f"unknown server {name}")


def start(name: str, port: int, alt_path: str, files: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(HERE.parent / "src"), str(HERE), *([alt_path] if alt_path else []),
         os.environ.get("PYTHONPATH", "")])}  # fmt: skip
    if name == "guarded":
        command = ["-m", "digitnet.interfaces.cli", "serve", "--port", str(port),
                   "--threads", "1"]  # fmt: skip
    elif name == "granian":
        env["OMP_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] = "1"
        command = ["-m", "granian", "--interface", "asgi", "--host", "127.0.0.1",
                   "--port", str(port), "--workers", "1", "--no-ws", "--log-level", "warning",
                   "--http1-header-read-timeout", "5000", "--factory",
                   "serve_soak:soak_app"]  # fmt: skip
    else:
        command = [str(HERE / "serve_soak.py"), "--launch", name, "--port", str(port)]
    quiet = subprocess.DEVNULL if name == "before" else None  # a warning for each 503

    def limit_files() -> None:  # as on a machine whose hard limit is that low
        import resource

        resource.setrlimit(resource.RLIMIT_NOFILE, (files, files))

    return subprocess.Popen([sys.executable, *command], env=env, stdout=subprocess.DEVNULL,
                            stderr=quiet, preexec_fn=limit_files if files else None)  # fmt: skip


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (granian runs a worker process)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(next(line for line in status.splitlines()
                              if line.startswith("VmRSS")).split()[1])  # fmt: skip
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, StopIteration):
            continue
    return total / 1024


# --- the clients ---------------------------------------------------------------------------


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)  # of the 200 answers
    busy: int = 0  # 503
    other: list[str] = field(default_factory=list)  # any other status, or no answer
    slow_opened: int = 0
    slow_cut: list[float] = field(default_factory=list)  # seconds until the server closed
    slow_statuses: dict[str, int] = field(default_factory=dict)


def steady_client(port: int, until: float, rate: float, tally: Tally, lock: threading.Lock):
    bodies = [(digit, drawing(strokes)) for digit, strokes in DIGITS.items()]
    turn = 0
    while time.perf_counter() < until:
        digit, body = bodies[(turn // 2) % len(bodies)]
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            if turn % 2 == 0:
                connection.request("POST", "/api/predict", body, {"Content-Type": "image/png"})
            else:
                connection.request("GET", "/api/models")
            reply = connection.getresponse()
            text = reply.read()
            elapsed = time.perf_counter() - started
            if reply.status == 503:  # uvicorn's own 503 is plain text
                with lock:
                    tally.busy += 1
            else:
                answer = json.loads(text)
                right = turn % 2 == 1 or answer.get("prediction") == digit
                with lock:
                    if reply.status == 200 and right:
                        tally.latencies.append(elapsed)
                    else:
                        tally.other.append(f"{reply.status} {answer}"[:100])
        except (OSError, http.client.HTTPException, ValueError) as error:
            with lock:
                tally.other.append(repr(error)[:100])
        finally:
            connection.close()
        turn += 1
        time.sleep(max(0.0, started + 1 / rate - time.perf_counter()))


async def slow_client(port: int, head: bytes, every: float, delay: float, until: float,
                      tally: Tally) -> None:  # fmt: skip
    await asyncio.sleep(delay)
    while time.perf_counter() < until:
        opened = time.perf_counter()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(every)
            continue
        tally.slow_opened += 1
        answer, cut = b"", False
        try:
            writer.write(head)
            while time.perf_counter() < until:
                writer.write(b"x" if head is SLOW_HEAD else b"\0")
                await writer.drain()
                try:
                    data = await asyncio.wait_for(reader.read(65536), every)
                except asyncio.TimeoutError:
                    continue
                if not data:
                    cut = True
                    break
                answer += data
        except OSError:
            cut = True
        finally:
            writer.close()
        if cut:  # a slow client comes back, slowly
            tally.slow_cut.append(time.perf_counter() - opened)
            await asyncio.sleep(every)
            status = answer.split(b" ", 2)[1].decode() if answer.startswith(b"HTTP/") else "none"
            tally.slow_statuses[status] = tally.slow_statuses.get(status, 0) + 1


def run_slow_clients(port: int, count: int, in_body: float, every: float, until: float,
                     tally: Tally) -> None:  # fmt: skip
    async def all_of_them() -> None:
        bodies = round(count * in_body)
        heads = [SLOW_BODY if index * bodies // count < (index + 1) * bodies // count
                 else SLOW_HEAD for index in range(count)]  # fmt: skip
        await asyncio.gather(*(slow_client(port, head, every, every * index / count, until,
                                           tally) for index, head in enumerate(heads)))  # fmt: skip

    asyncio.run(all_of_them())


def soak(name: str, args: argparse.Namespace) -> list[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = start(name, port, args.alt_path, args.server_files)
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/models", timeout=5).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit(f"{name}: the server did not start")
        warm, lock = Tally(), threading.Lock()
        steady_client(port, time.perf_counter() + 2, 10, warm, lock)  # warm up, then measure
        rss_before = tree_rss_mb(server.pid)
        tally = Tally()
        until = time.perf_counter() + args.seconds
        slow = threading.Thread(target=run_slow_clients,
                                args=(port, args.slow, args.in_body, args.every, until,
                                      tally))  # fmt: skip
        slow.start()
        time.sleep(min(args.every, 2.0))  # the slow clients are all connected first
        steady = [threading.Thread(target=steady_client,
                                   args=(port, until, args.rate, tally, lock))
                  for _ in range(args.steady)]  # fmt: skip
        for thread in steady:
            thread.start()
        time.sleep(max(0.0, until - time.perf_counter() - 0.5))
        rss_end = tree_rss_mb(server.pid)
        for thread in [*steady, slow]:
            thread.join()
        time.sleep(1.0)
        rss_after = tree_rss_mb(server.pid)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    if tally.other:
        print(f"  {name}: {len(tally.other)} errors, first: {tally.other[0]}", file=sys.stderr)
    print(f"  {name}: slow connections closed with {tally.slow_statuses}", file=sys.stderr)
    answered = len(tally.latencies)
    p50, p99, worst = (np.percentile(tally.latencies, [50, 99, 100]) * 1000
                       if answered else (np.nan,) * 3)  # fmt: skip
    cut = len(tally.slow_cut)
    median_cut = f"{np.median(tally.slow_cut):.1f}" if cut else "-"
    share = f"{100 * cut / tally.slow_opened:.0f}%" if tally.slow_opened else "-"
    return [name, f"{answered}", f"{tally.busy}", f"{len(tally.other)}", f"{p50:.0f}",
            f"{p99:.0f}", f"{worst:.0f}", f"{tally.slow_opened}", share, median_cut,
            f"{rss_before:.0f}", f"{rss_end:.0f}", f"{rss_after:.0f}"]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", default="before,uvicorn,guarded,hypercorn,granian")
    parser.add_argument("--slow", type=int, default=300, help="slow clients at once")
    parser.add_argument("--in-body", type=float, default=0.5,
                        help="share of slow clients that dribble a body, not a head")  # fmt: skip
    parser.add_argument("--every", type=float, default=2.0, help="seconds between their bytes")
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--steady", type=int, default=2, help="normal clients")
    parser.add_argument("--rate", type=float, default=5.0, help="requests a second each")
    parser.add_argument("--alt-path", default="", help="a folder holding hypercorn, granian")
    parser.add_argument("--server-files", type=int, default=0,
                        help="the server's limit on open files (0: as it is)")  # fmt: skip
    parser.add_argument("--launch", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.launch:
        try:
            launch(args.launch, args.port)
        except KeyboardInterrupt:  # the soak's end
            pass
        return
    if args.alt_path:
        sys.path.insert(0, args.alt_path)
    names = []
    for name in args.servers.split(","):
        if name not in ALL_SERVERS:
            raise SystemExit(f"unknown server {name}: choose from {', '.join(ALL_SERVERS)}")
        if name in ("hypercorn", "granian"):
            try:
                __import__(name)
            except ImportError:
                print(f"  {name}: not importable, skipped (see --alt-path)", file=sys.stderr)
                continue
        names.append(name)
    files = f", the server limited to {args.server_files} open files" if args.server_files else ""
    print(f"{args.slow} slow clients (a byte every {args.every:g} s; {1 - args.in_body:.0%} "
          f"in the head, {args.in_body:.0%} in the body) and {args.steady} normal clients "
          f"at {args.rate:g} requests/s each, for {args.seconds:g} s, on 127.0.0.1"
          f"{files}")  # fmt: skip
    columns = ["server", "200", "503", "other", "p50 ms", "p99 ms", "max ms", "slow conns",
               "cut off", "cut at s", "MB before", "MB end", "MB after"]  # fmt: skip
    widths = [max(9, len(column)) for column in columns]
    print(" ".join(column.rjust(width) for column, width in zip(columns, widths)), flush=True)
    for name in names:
        row = soak(name, args)
        print(" ".join(cell.rjust(width) for cell, width in zip(row, widths)), flush=True)


if __name__ == "__main__":
    main()
