"""What each recipe reaches on Kaggle-format data, and how fast, side by side in one run.

For every recipe: the final dev accuracy, the training time, and the time it
took to first reach the seed recipe's final dev accuracy (from the history that
every model keeps).  Same data, same 1,000-row dev split, one BLAS thread.

Usage: python benchmarks/recipes.py [TRAIN_CSV] [--seeds N] [--threads N]
       (TRAIN_CSV defaults to benchmarks/data/train.csv; make it with
        benchmarks/make_kaggle_csv.py)
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from digitnet.data.kaggle_csv import read_kaggle_csv
from digitnet.recipes import RECIPES, run
from digitnet.speed import using_threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train_csv", nargs="?", default=Path(__file__).parent / "data/train.csv")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None, help="default: every core")
    parser.add_argument("--recipes", default="seed,fast", help="comma list (best-mlp: minutes)")
    args = parser.parse_args()
    dataset = read_kaggle_csv(args.train_csv, need_labels=True)
    print(f"data: {dataset.source}; threads {args.threads or 'all'}; seeds 0..{args.seeds - 1}\n")

    chosen = {name: RECIPES[name] for name in args.recipes.split(",")}
    results: dict[str, list] = {name: [] for name in chosen}
    with using_threads(args.threads):
        for seed in range(args.seeds):
            for name, recipe in chosen.items():
                model = run(recipe, dataset, seed, log=None, progress=False)
                results[name].append((model.history, model.info["training_seconds"]))

    seed_target = statistics.mean(h["dev_accuracy"][-1] for h, _ in results["seed"])
    print(f"{'recipe':8} {'dev acc':>8} {'train s':>8} {f's to reach {seed_target:.4f}':>18}")
    for name, runs in results.items():
        dev = statistics.mean(h["dev_accuracy"][-1] for h, _ in runs)
        seconds = statistics.median(s for _, s in runs)
        reach = statistics.median(_time_to_reach(h, seed_target) for h, _ in runs)
        print(f"{name:8} {dev:8.4f} {seconds:8.1f} {reach:18.1f}")


def _time_to_reach(history: dict, target: float) -> float:
    for accuracy, seconds in zip(history["dev_accuracy"], history["seconds"]):
        if accuracy >= target:
            return seconds
    return float("inf")


if __name__ == "__main__":
    main()
