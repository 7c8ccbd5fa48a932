"""Validation accuracy of recipes on MNIST's standard split, or Fashion-MNIST's test set.

Validation (the default): train on the first 50,000 training images, validate on the
last 10,000 (`--split last --dev-size 10000`), as the issues' targets are stated, for
MNIST and Fashion-MNIST alike.  `--test`: train as the recipe says (1,000 rows held out
for the dev curve) and report accuracy on the official 10,000 test images too.

Usage: python benchmarks/accuracy.py RECIPE [--data mnist|fashion-mnist|FOLDER]
           [--threads N] [--seeds 0,1] [--test] [knob=value ...]
       python benchmarks/accuracy.py cnn --data ../shared/data/mnist --seeds 0,1 ema=0.999

Each seed is trained in turn (nothing else should run meanwhile: the minutes are
measured), and a table of them is printed at the end.
"""

from __future__ import annotations

import argparse
import ast
import resource
import sys
import time

import digitnet
from digitnet.data import load_data
from digitnet.errors import DigitnetError
from digitnet.recipes import get_recipe, run
from digitnet.recipes.recipe import adapted
from digitnet.speed import using_threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe")
    parser.add_argument("--data", default="mnist")
    parser.add_argument("--test", action="store_true", help="report the official test split")
    parser.add_argument("--threads", type=int, default=None, help="default: every core")
    parser.add_argument("--seed", type=int, default=None, help="one seed (default 0)")
    parser.add_argument("--seeds", default=None, help="seeds one after another, e.g. 0,1")
    parser.add_argument("knobs", nargs="*", help="recipe overrides as name=value")
    args = parser.parse_intermixed_args()
    seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else [args.seed or 0]
    overrides = {}
    for knob in args.knobs:
        name, _, value = knob.partition("=")
        try:
            overrides[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            overrides[name] = value
    if not args.test:
        overrides = {"split": "last", "dev_size": 10000, **overrides}
    recipe = get_recipe(args.recipe).with_overrides(**overrides)
    dataset = load_data(args.data)
    test = load_data(f"{args.data}:test") if args.test else None
    recipe = adapted(recipe, dataset.kind, print)  # a recipe's settings for clothes
    print(f"data: {dataset.source}\nrecipe: {recipe.name}: {recipe.settings()}")
    print(f"threads: {args.threads}, seeds {seeds}, digitnet {digitnet.__version__}")
    rows = []
    for seed in seeds:
        print(f"\nseed {seed}")
        started = time.perf_counter()
        with using_threads(args.threads):
            model = run(recipe, dataset, seed, log=print, progress=False)
            history = model.history
            seconds = model.info["training_seconds"]
            print(f"training {seconds:.1f} s (wall {time.perf_counter() - started:.1f} s)")
            row = {"seed": seed, "last": history["dev_accuracy"][-1],
                   "best": max(history["dev_accuracy"]), "minutes": seconds / 60}  # fmt: skip
            if test is not None:
                row["test"] = float((model.predict(test.images) == test.labels).mean())
        rows.append(row)
        tested = f"; test accuracy ({test.source}): {row['test']:.4f}" if test else ""
        print(f"validation accuracy: last {row['last']:.4f}, best {row['best']:.4f}{tested}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    dev = "dev (1,000 rows)" if args.test else "validation"
    print(f"\n| seed | {dev}, last epoch | best epoch |{' test |' if test else ''} minutes |")
    print(f"| --- | --- | --- |{' --- |' if test else ''} --- |")
    for row in rows:
        tested = f" {row['test']:.2%} |" if test else ""
        print(f"| {row['seed']} | {row['last']:.2%} | {row['best']:.2%} |{tested} "
              f"{row['minutes']:.1f} |")  # fmt: skip
    print(f"peak memory (resident, whole process): {peak:.0f} MiB")


if __name__ == "__main__":
    try:
        main()
    except DigitnetError as error:  # bad data, a failed download, a bad knob: one line
        sys.exit(f"accuracy.py: {error}")
