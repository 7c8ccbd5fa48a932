"""How fast a network predicts, by the number of images per batch.

Network.logits (prediction, and every measurement during training) goes through
the rows a batch at a time.  This times it for each batch size on random images
(the numbers do not matter for the time) through the fast network, and counts the
page faults: a batch whose feature maps do not fit the cache, or whose arrays
are fresh memory each time, shows up in both.

Usage: python benchmarks/measuring.py [--recipe best] [--layers SPEC] [--images 4096]
           [--batches 128,256,512,1024] [--threads 1]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from digitnet.network import Network
from digitnet.recipes import get_recipe
from digitnet.speed import accelerate, using_threads


def faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="best")
    parser.add_argument("--layers", default=None, help="a layer spec (default: --recipe's)")
    parser.add_argument("--images", type=int, default=4096)
    parser.add_argument("--batches", default="128,256,512,1024")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    spec = args.layers or get_recipe(args.recipe).layers
    network = accelerate(Network.build(spec, init="he", seed=0))
    x = np.random.default_rng(0).random((args.images, network.inputs), dtype=np.float32)
    print(f"network: {spec}; {args.images} images, {args.threads} thread(s)\n")
    print("| batch | microseconds an image | page faults |")
    print("| ---: | ---: | ---: |")
    with using_threads(args.threads):
        for batch in (int(size) for size in args.batches.split(",")):
            network.logits(x[: 2 * batch], batch_size=batch)  # warm-up: buffers made
            before, started = faults(), time.perf_counter()
            network.logits(x, batch_size=batch)
            seconds = time.perf_counter() - started
            print(f"| {batch} | {seconds / len(x) * 1e6:.0f} | {faults() - before} |")


if __name__ == "__main__":
    main()
