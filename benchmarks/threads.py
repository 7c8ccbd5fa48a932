"""How digitnet's training step scales with threads, on an idle machine and a busy one.

For each network and thread count, train a few epochs (SGD, momentum 0.9, batch
128; no measurement inside the epochs) and print the median epoch time (epochs
2..N), the speed-up over one thread, and whether the weights came out bit for
bit the same as at one thread.  `--busy K` first starts K processes that spin
on a core each, as other programs on a shared machine would; `--default` adds a
row for the default thread count (digitnet.speed.workers.default_threads, read
after the busy processes have run for a while).

Usage: python benchmarks/threads.py [--data FOLDER] [--train-size N] [--epochs N]
           [--shapes 800,A,B] [--threads 1,2] [--busy K] [--default]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time
from pathlib import Path

import numpy as np

from digitnet.data import Preprocessing, load_data
from digitnet.network import Network
from digitnet.recipes import get_recipe
from digitnet.speed import using_threads
from digitnet.speed.workers import available_cores, default_threads
from digitnet.training import TrainingConfig, train

CNNS = {
    "A": "conv32k5,relu,pool2,conv64k5,relu,pool2,dense128,relu,dense10",
    "B": "conv32k3,bn,relu,conv32k3,bn,relu,pool2,conv64k3,bn,relu,conv64k3,bn,relu,pool2,"
    "dense128,relu,dense10",
    "cnn": get_recipe("cnn").layers,  # the recipes' networks as they are today
    "best": get_recipe("best").layers,
}


def _spin(until: float) -> None:
    while time.time() < until:
        pass


def epochs_at(layers: str, x: np.ndarray, y: np.ndarray, epochs: int, threads: int):
    network = Network.build(layers, seed=0)
    config = TrainingConfig(0.05, epochs, 128, momentum=0.9, seed=0)
    with using_threads(threads):
        result = train(network, x, y, x[:0], y[:0], config, log=None, progress=False)
    seconds = list(np.diff([0.0, *result.history["seconds"]]))
    return statistics.median(seconds[1:] or seconds), network.arrays()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).parent / "../../shared/data/mnist"))
    parser.add_argument("--train-size", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--shapes", default="800,A,B")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--busy", type=int, default=0)
    parser.add_argument("--default", action="store_true")
    args = parser.parse_args()
    dataset = load_data(args.data)
    x = Preprocessing().apply(dataset.images[: args.train_size])
    y = dataset.labels[: args.train_size]
    spinners = []
    if args.busy:
        until = time.time() + 3600
        spinners = [multiprocessing.Process(target=_spin, args=(until,), daemon=True)
                    for _ in range(args.busy)]  # fmt: skip
        for spinner in spinners:
            spinner.start()
        time.sleep(20)  # let the load average see them
    counts = [int(t) for t in args.threads.split(",")]
    if args.default:
        counts.append(default_threads())
    print(f"data: {dataset.source}, {len(x)} images; {args.epochs} epochs, batch 128; "
          f"{available_cores()} cores, {args.busy} busy processes\n")  # fmt: skip
    print("| network | threads | s/epoch | speed-up | same weights as 1 thread |")
    print("| --- | --- | --- | --- | --- |")
    try:
        for shape in args.shapes.split(","):
            layers = CNNS.get(shape, f"dense{shape},relu,dense10")
            reference = None
            base = None
            for index, threads in enumerate(counts):
                seconds, weights = epochs_at(layers, x, y, args.epochs, threads)
                base = base or seconds
                if reference is None:
                    reference = weights
                same = all(np.array_equal(reference[k], weights[k]) for k in reference)
                label = f"{threads} (default)" if args.default and index == len(counts) - 1 \
                    else str(threads)  # fmt: skip
                print(f"| {shape} | {label} | {seconds:.3f} | {base / seconds:.2f}x | "
                      f"{'yes' if same else 'NO'} |", flush=True)  # fmt: skip
    finally:
        for spinner in spinners:
            spinner.terminate()


if __name__ == "__main__":
    main()
