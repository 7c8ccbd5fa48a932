"""What handing work to a second thread costs on this machine, against the work itself.

digitnet's workers (speed/workers.py) share each layer's pieces between threads.
Between two pieces a thread takes Python's lock back from numpy; when the other
thread holds it, or sleeps, the operating system has to wake a thread, and that
costs the same whatever the piece.  This prints that cost next to one matrix
product of the MLP 784-800-10's first layer (a batch of 128, 520 inked pixels),
alone and cut in two for two threads.

Usage: python benchmarks/handoff.py [--repeat 500]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from digitnet.speed import using_threads
from digitnet.speed.workers import WORKERS


def microseconds(work: Callable[[], object], repeat: int) -> float:
    work()
    rounds = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(repeat):
            work()
        rounds.append((time.perf_counter() - started) / repeat * 1e6)
    return statistics.median(rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=500)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.random((128, 520), dtype=np.float32)
    weight = rng.random((520, 800), dtype=np.float32)
    z = np.empty((128, 800), np.float32)
    halves = [slice(0, 400), slice(400, 800)]

    def block(units: slice) -> None:
        np.matmul(x, weight[:, units], out=z[:, units])

    def sleeper(_: int) -> None:  # a piece that gives up the lock, as a numpy call does
        time.sleep(0)

    def whole() -> None:
        block(slice(0, 800))

    def one_after_the_other() -> None:
        for half in halves:
            block(half)

    rows = []
    with using_threads(1):
        rows.append(("x W, 128x520 by 520x800, whole", 1, microseconds(whole, args.repeat)))
        rows.append(("x W, two halves one after the other", 1,
                     microseconds(one_after_the_other, args.repeat)))  # fmt: skip
    with using_threads(2) as threads:
        if threads >= 2:
            shared = microseconds(lambda: WORKERS.map(block, halves), args.repeat)
            rows.append(("x W, one half on each thread", 2, shared))
            handoff = microseconds(lambda: WORKERS.map(sleeper, [0, 1]), args.repeat)
            rows.append(("two pieces that only let go of the lock", 2, handoff))
    print("| work | threads | microseconds |")
    print("| --- | --- | ---: |")
    for work, count, took in rows:
        print(f"| {work} | {count} | {took:.0f} |")
    if len(rows) < 4:
        print("(one core only: no second thread to hand work to)")


if __name__ == "__main__":
    main()
