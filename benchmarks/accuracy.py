"""Validation accuracy of recipes on MNIST's standard split, or Fashion-MNIST's test set.

MNIST: train on the first 50,000 training images, validate on the last 10,000
(`--split last --dev-size 10000`), as the issue's targets are stated.  Fashion-MNIST:
train on its 60,000 training images (1,000 held out for the dev curve) and report
accuracy on its official 10,000 test images.

Usage: python benchmarks/accuracy.py RECIPE [--data mnist|FOLDER] [--threads N]
           [--seed S] [knob=value ...]
       python benchmarks/accuracy.py fast --data ../shared/data/mnist
"""

from __future__ import annotations

import argparse
import ast
import resource
import time

import digitnet
from digitnet.data import load_data
from digitnet.recipes import get_recipe, run
from digitnet.speed import using_threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe")
    parser.add_argument("--data", default="mnist")
    parser.add_argument("--test", action="store_true", help="report the official test split")
    parser.add_argument("--threads", type=int, default=None, help="default: every core")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("knobs", nargs="*", help="recipe overrides as name=value")
    args = parser.parse_intermixed_args()
    overrides = {}
    for knob in args.knobs:
        name, _, value = knob.partition("=")
        try:
            overrides[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            overrides[name] = value
    recipe = get_recipe(args.recipe)
    if not args.test:
        overrides = {"split": "last", "dev_size": 10000, **overrides}
    recipe = recipe.with_overrides(**overrides)
    dataset = load_data(args.data)
    print(f"data: {dataset.source}\nrecipe: {recipe.name}: {recipe.settings()}")
    print(f"threads: {args.threads}, seed {args.seed}, digitnet {digitnet.__version__}")
    started = time.perf_counter()
    with using_threads(args.threads):
        model = run(recipe, dataset, args.seed, log=print, progress=False)
        history = model.history
        best = max(history["dev_accuracy"])
        print(f"\ntraining {model.info['training_seconds']:.1f} s "
              f"(wall {time.perf_counter() - started:.1f} s)")  # fmt: skip
        print(f"validation accuracy: last {history['dev_accuracy'][-1]:.4f}, best {best:.4f}")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        print(f"peak memory (resident, whole process): {peak:.0f} MiB")
        if args.test:
            test = load_data(f"{args.data}:test")
            accuracy = (model.predict(test.images) == test.labels).mean()
            print(f"test accuracy ({test.source}): {accuracy:.4f}")


if __name__ == "__main__":
    main()
