"""A fingerprint of a short training run: is a speed change exact, bit for bit?

Trains a recipe's network for a few epochs on the bundled sample (seed 0) and prints
each epoch's losses and a SHA-256 of every array the trained model saves. Run it at
two commits (or at two thread counts): the same hash means the same weights, bit for
bit, so every recorded accuracy reruns; a different hash means the change rounds
differently, and the records it touches must be rerun.

Usage: python benchmarks/fingerprint.py [--recipe best] [--layers SPEC] [--epochs 2]
           [--threads 1]
       git stash; python benchmarks/fingerprint.py --layers ...; git stash pop; ...

The default network is `best`'s network on clothes: its 32-to-32 and 64-to-64
convolutions take the fast path for layers with at least as many channels as
filters, which `cnn` and `best` on digits never take.
"""

from __future__ import annotations

import argparse
import hashlib

from digitnet.data import load_data
from digitnet.recipes import get_recipe, run
from digitnet.recipes.catalog import CLOTHES_LAYERS
from digitnet.speed import using_threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="best")
    parser.add_argument("--layers", default=CLOTHES_LAYERS)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    recipe = get_recipe(args.recipe).with_overrides(epochs=args.epochs, layers=args.layers)
    with using_threads(args.threads):
        model = run(recipe, load_data("sample"), seed=0, progress=False)
    digest = hashlib.sha256()
    for name, array in sorted(model.network.arrays().items()):  # what a model file saves
        digest.update(f"{name}:{array.dtype}:{array.shape}".encode())
        digest.update(array.tobytes())
    print(f"weights sha256: {digest.hexdigest()}")


if __name__ == "__main__":
    main()
