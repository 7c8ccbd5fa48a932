"""How passes without sums are cut: 16 fixed pieces against two shares per thread.

ReLU, max pooling and batch norm's affine map compute every number on its own, so
any cut of the batch gives the same numbers; `digitnet.speed.workers.shares` cuts
them into two pieces per thread, where they were cut into 16 fixed pieces.  This
times whole training steps (forward, loss, backward) of three networks, switching
between the two cuts step by step in one process, so that both meet the same
machine: on a shared, noisy machine two separate runs differ by more than the
change.  It prints the median step at each cut and the median of the paired
ratios (each 'shares' step over the 16-piece step before it).

Usage: python benchmarks/cuts.py [--threads 2] [--steps 200]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import digitnet.speed.batchnorm
import digitnet.speed.elementwise
from digitnet.network import Network
from digitnet.recipes import get_recipe
from digitnet.recipes.catalog import CLOTHES_LAYERS
from digitnet.speed import accelerate, using_threads
from digitnet.speed.workers import rows_per_piece, shares, split

NETWORKS = {
    "CNN B (compare.py)": "conv32k3,bn,relu,conv32k3,bn,relu,pool2,conv64k3,bn,relu,"
    "conv64k3,bn,relu,pool2,dense128,relu,dense10",
    "best, digits": get_recipe("best").layers,
    "best, clothes": CLOTHES_LAYERS,
}
WARM_UP = 6


def sixteen(count: int, row_size: int) -> list:
    """The cut before `shares`: 16 pieces, fixed by the sizes."""
    return split(count, 16, rows_per_piece(row_size))


def paired(spec: str, threads: int, steps: int) -> tuple[float, float, float]:
    """(median ms with 16 pieces, median ms with shares, median paired ratio)."""
    network = accelerate(Network.build(spec, init="he", seed=0))
    rng = np.random.default_rng(0)
    x = rng.random((128, network.inputs), dtype=np.float32)
    labels = rng.integers(0, network.classes, 128)
    times: dict[str, list[float]] = {"sixteen": [], "shares": []}
    cuts = {"sixteen": sixteen, "shares": shares}
    with using_threads(threads):
        for step in range(WARM_UP + 2 * steps):
            name = "sixteen" if step % 2 == 0 else "shares"
            digitnet.speed.elementwise.shares = digitnet.speed.batchnorm.shares = cuts[name]
            started = time.perf_counter()
            network.gradient(x, labels)
            if step >= WARM_UP:
                times[name].append(time.perf_counter() - started)
    digitnet.speed.elementwise.shares = digitnet.speed.batchnorm.shares = shares
    before, after = np.array(times["sixteen"]), np.array(times["shares"])
    count = min(len(before), len(after))
    ratio = float(np.median(after[:count] / before[:count]))
    return float(np.median(before)) * 1e3, float(np.median(after)) * 1e3, ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=200, help="steps at each cut")
    args = parser.parse_args()
    print(f"a batch of 128, {args.steps} steps at each cut, alternating, "
          f"{args.threads} thread(s)\n")  # fmt: skip
    print("| network | 16 pieces, ms | two shares per thread, ms | paired ratio |")
    print("| --- | ---: | ---: | ---: |")
    for name, spec in NETWORKS.items():
        before, after, ratio = paired(spec, args.threads, args.steps)
        print(f"| {name} | {before:.1f} | {after:.1f} | {ratio:.3f}x |", flush=True)


if __name__ == "__main__":
    main()
