"""Where a training step's time goes: each layer's forward and backward pass, timed.

One batch of random images (the numbers do not matter for the time) goes forward and
back through the fast network (digitnet.speed.accelerate), as the trainer runs it, a
few times for warm-up and then `--steps` times; the table gives each layer's mean
milliseconds at each thread count, and what an epoch of 50,000 images would take.

Usage: python benchmarks/layers.py [--layers SPEC | --recipe cnn] [--threads 1,2]
           [--batch 128] [--steps 30] [--textbook]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from digitnet.network import Network
from digitnet.recipes import get_recipe
from digitnet.speed import accelerate, using_threads

WARM_UP = 3


def layer_times(
    spec: str, threads: int, batch: int, steps: int, textbook: bool = False
) -> list[tuple[str, float, float]]:
    """(layer, forward ms, backward ms) for every layer, the mean over `steps` batches
    (of the textbook layers if `textbook`, else of the fast ones)."""
    network = Network.build(spec, init="he", seed=0)
    network = network if textbook else accelerate(network)
    rng = np.random.default_rng(0)
    x = rng.random((batch, network.inputs), dtype=np.float32)
    labels = rng.integers(0, network.classes, batch)
    layers = network.layers
    forward, backward = np.zeros(len(layers)), np.zeros(len(layers))
    with using_threads(threads):
        for step in range(WARM_UP + steps):
            counted = step >= WARM_UP
            a = x
            for index, layer in enumerate(layers):
                started = time.perf_counter()
                a = layer.forward(a, True)
                forward[index] += counted * (time.perf_counter() - started)
            grad = network.loss.delta(a, labels, network.label_smoothing)
            for index in reversed(range(network.first_learning, len(layers))):
                started = time.perf_counter()
                grad = layers[index].backward(grad, input_grad=index > network.first_learning)
                backward[index] += counted * (time.perf_counter() - started)
    names = [f"{spec_token} ({type(layer).__name__})" for spec_token, layer in
             zip(network.layer_spec.split(","), layers)]  # fmt: skip
    return [(name, f * 1e3 / steps, b * 1e3 / steps)
            for name, f, b in zip(names, forward, backward)]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", default=None, help="a layer spec (default: --recipe's)")
    parser.add_argument("--recipe", default="cnn")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument(
        "--textbook", action="store_true", help="time the textbook layers, without the speed step"
    )
    args = parser.parse_args()
    spec = args.layers or get_recipe(args.recipe).layers
    counts = [int(count) for count in args.threads.split(",")]
    results = {
        count: layer_times(spec, count, args.batch, args.steps, args.textbook) for count in counts
    }
    kind = "textbook layers" if args.textbook else "fast layers"
    print(
        f"network: {spec} ({kind}); batch {args.batch}, mean of {args.steps} steps, milliseconds\n"
    )
    header = " | ".join(f"forward, {count} thr. | backward, {count} thr." for count in counts)
    print(f"| layer | {header} |")
    print("| --- |" + " ---: | ---: |" * len(counts))
    for row, name in enumerate(name for name, _, _ in results[counts[0]]):
        cells = " | ".join(f"{results[c][row][1]:.2f} | {results[c][row][2]:.2f}" for c in counts)
        print(f"| {name} | {cells} |")
    totals = {c: sum(f + b for _, f, b in results[c]) for c in counts}
    cells = " | ".join(f"{totals[c]:.1f} ms | {totals[c] * 50_000 / args.batch / 1e3:.1f} s an "
                       "epoch of 50,000" for c in counts)  # fmt: skip
    print(f"| **a step** | {cells} |")


if __name__ == "__main__":
    main()
