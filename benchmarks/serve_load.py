"""Load on `digitnet serve`: N clients post drawings at once for a while.

Starts `digitnet serve` (the shipped model, one BLAS thread) on 127.0.0.1 at a free
port, then N client threads, each with its own keep-alive connection, post PNG
drawings of digits (the page's own kind of request: a 280x280 canvas) as fast as
the answers come, for `--seconds`.  Prints throughput, p50 and p99 latency and the
error count (every answer must be a 200 with the right digit), per client count.

With `--before REVISION`, the package as it was at that git revision is served too,
from a copy in a temporary folder, and each client count is run against it and then
against this checkout, row after row: a comparison within one run.

Usage: python benchmarks/serve_load.py [--clients 1,4,16] [--seconds 30] [--before REV]
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

DIGITS = {  # strokes in 0..1 of the canvas, as a person draws them
    7: [[(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)]],
    1: [[(0.5, 0.15), (0.5, 0.85)]],
    4: [[(0.6, 0.15), (0.25, 0.6), (0.75, 0.6)], [(0.6, 0.35), (0.6, 0.85)]],
}


def drawing(strokes: list[list[tuple[float, float]]]) -> bytes:
    canvas = Image.new("L", (280, 280), 255)
    pen = ImageDraw.Draw(canvas)
    for stroke in strokes:
        pen.line([(x * 280, y * 280) for x, y in stroke], fill=0, width=20, joint="curve")
    stream = io.BytesIO()
    canvas.save(stream, "PNG")
    return stream.getvalue()


def client(port: int, until: float, latencies: list[float], errors: list[str]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    bodies = [(digit, drawing(strokes)) for digit, strokes in DIGITS.items()]
    turn = 0
    while time.perf_counter() < until:
        digit, body = bodies[turn % len(bodies)]
        turn += 1
        started = time.perf_counter()
        try:
            connection.request("POST", "/api/predict", body, {"Content-Type": "image/png"})
            reply = connection.getresponse()
            answer = json.loads(reply.read())
            if reply.status != 200 or answer.get("prediction") != digit:
                errors.append(f"{reply.status} {answer.get('error', answer.get('prediction'))}")
                continue  # an error, not a served request: not in the rate or latencies
        except (OSError, http.client.HTTPException, ValueError) as error:
            errors.append(repr(error))
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        latencies.append(time.perf_counter() - started)
    connection.close()


def run(port: int, clients: int, seconds: float) -> tuple[int, float, float, float, int]:
    latencies: list[float] = []
    errors: list[str] = []
    until = time.perf_counter() + seconds
    threads = [threading.Thread(target=client, args=(port, until, latencies, errors))
               for _ in range(clients)]  # fmt: skip
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    p50, p99 = np.percentile(latencies, [50, 99]) * 1000 if latencies else (np.nan, np.nan)
    if errors:
        print(f"  errors, first: {errors[0]}", file=sys.stderr)
    return len(latencies), len(latencies) / elapsed, p50, p99, len(errors)


@contextmanager
def server(source: str | None) -> Iterator[int]:
    """`digitnet serve` (the shipped model, one BLAS thread) on a free port of 127.0.0.1,
    from the package in `source`/src (None: the one Python imports)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = dict(os.environ)
    if source is not None:
        environment["PYTHONPATH"] = str(Path(source) / "src")
    process = subprocess.Popen([sys.executable, "-m", "digitnet.interfaces.cli", "serve",
                                "--port", str(port), "--threads", "1"],
                               stdout=subprocess.DEVNULL, env=environment)  # fmt: skip
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/models").close()
                break
            except OSError:
                time.sleep(0.2)
        yield port
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)


def exported(revision: str, folder: str) -> str:
    """This repository's src/ at `revision`, unpacked into `folder`."""
    root = Path(__file__).resolve().parent.parent
    archive = subprocess.run(["git", "archive", revision, "src"], cwd=root, check=True,
                             capture_output=True).stdout  # fmt: skip
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,4,16", help="client counts, comma-separated")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--before", help="also serve the package at this git revision")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        versions = {"this checkout": None}
        if args.before:
            versions = {args.before: exported(args.before, folder), **versions}
        print(f"digitnet serve (shipped model), {args.seconds:g} s per row, 127.0.0.1")
        print(f"{'version':<14} {'clients':>7} {'requests':>9} {'per second':>11} "
              f"{'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")  # fmt: skip
        for clients in (int(n) for n in args.clients.split(",")):
            for version, source in versions.items():
                with server(source) as port:
                    count, rate, p50, p99, errors = run(port, clients, args.seconds)
                print(f"{version:<14} {clients:>7} {count:>9} {rate:>11.1f} {p50:>8.1f} "
                      f"{p99:>8.1f} {errors:>7}")  # fmt: skip


if __name__ == "__main__":
    main()
