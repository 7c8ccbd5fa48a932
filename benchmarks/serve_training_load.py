"""The drawing API under load, with and without a training run in the same server.

Starts `digitnet serve` (the shipped model, one thread for the speed step) on
127.0.0.1, then for each client count measures, side by side in one run:

    idle       N clients post drawings (serve_load.py's clients) for `--seconds`
    training   the same, while the page's training view trains a network on the
               sample (POST /api/training; the recipe given, epochs at the cap)
    idle       again, so that a machine that got busier meanwhile shows

and prints requests per second, p50 and p99 latency, errors, and the ratios
training/idle.  The goal (issue 21): the drawing API at most 2x slower while a
training runs.  The training thread keeps to one core (speed/workers.py runs a
"digitnet-..." thread's pieces on that thread alone).

Usage: python benchmarks/serve_training_load.py [--clients 1,4] [--seconds 20]
                                                 [--recipe cnn]
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from serve_load import run  # the clients of the plain load test, the same requests


def post(port: int, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method="POST",
                                     data=json.dumps(body or {}).encode(),
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request) as reply:
        return json.loads(reply.read())


def training_state(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/training") as reply:
        return json.loads(reply.read())["state"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,4", help="client counts, comma-separated")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--recipe", default="cnn", help="what the training view trains")
    args = parser.parse_args()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "digitnet.interfaces.cli", "serve",
                               "--port", str(port), "--threads", "1", "--save-dir", "."],
                              stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/models").close()
                break
            except OSError:
                time.sleep(0.2)
        print(f"digitnet serve (shipped model, --threads 1), {args.seconds:g} s per row; "
              f"training: recipe {args.recipe} on the sample")  # fmt: skip
        print(f"{'clients':>7} {'while':>10} {'requests':>9} {'per second':>11} {'p50 ms':>8} "
              f"{'p99 ms':>8} {'errors':>7} {'epochs':>7}")  # fmt: skip
        for clients in (int(n) for n in args.clients.split(",")):
            rows = {}
            for label in ("idle", "training", "idle again"):
                epochs = ""
                if label == "training":
                    post(port, "/api/training", {"recipe": args.recipe, "epochs": 50})
                    while not training_state(port)["batch"]:  # started, data prepared
                        time.sleep(0.1)
                    start = training_state(port)
                count, rate, p50, p99, errors = run(port, clients, args.seconds)
                if label == "training":
                    end = training_state(port)
                    done = (end["epoch"] - 1 + end["batch"] / end["batches"]) - (
                        start["epoch"] - 1 + start["batch"] / start["batches"])  # fmt: skip
                    epochs = f"{done:.2f}"
                    post(port, "/api/training/stop")
                    while training_state(port)["status"] not in ("stopped", "finished"):
                        time.sleep(0.1)
                rows[label] = (rate, p50, p99)
                print(f"{clients:>7} {label:>10} {count:>9} {rate:>11.1f} {p50:>8.1f} "
                      f"{p99:>8.1f} {errors:>7} {epochs:>7}")  # fmt: skip
            idle = [(a + b) / 2 for a, b in zip(rows["idle"], rows["idle again"])]
            busy = rows["training"]
            print(f"{clients:>7} {'ratio':>10} {'':>9} {idle[0] / busy[0]:>10.2f}x "
                  f"{busy[1] / idle[1]:>7.2f}x {busy[2] / idle[2]:>7.2f}x   "
                  "(idle/training throughput; training/idle latency)")  # fmt: skip
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)


if __name__ == "__main__":
    main()
