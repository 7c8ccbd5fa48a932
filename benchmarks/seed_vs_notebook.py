"""The seed recipe against the notebook's own algorithm, side by side in one run.

Both train on the same Kaggle-format train.csv with 1,000 dev rows, 500
iterations of full-batch gradient descent at learning rate 0.1, one BLAS thread.
Timing covers training only (the CSV is read once, before both).

Usage: python benchmarks/seed_vs_notebook.py [TRAIN_CSV] [--repeats N]
       (TRAIN_CSV defaults to benchmarks/data/train.csv; make it with
        benchmarks/make_kaggle_csv.py)
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

import digitnet
from digitnet.data.kaggle_csv import read_kaggle_csv
from digitnet.recipes import SEED, run
from digitnet.threads import blas_threads
from notebook_reference import dev_accuracy, gradient_descent, prepare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train_csv", nargs="?", default=Path(__file__).parent / "data/train.csv")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each, seeds 0..N-1")
    args = parser.parse_args()
    dataset = read_kaggle_csv(args.train_csv, need_labels=True)
    print(f"data: {dataset.source}; 1 BLAS thread; {args.repeats} seeds each\n")

    rows = {"notebook (float64, as written)": [], "digitnet seed recipe": []}
    with blas_threads(1):
        for seed in range(args.repeats):
            # The notebook's input is pandas' int64 array of the whole CSV.
            table = np.column_stack([dataset.labels, dataset.images]).astype(np.int64)
            np.random.seed(seed)
            x_train, y_train, x_dev, y_dev = prepare(table)
            started = time.perf_counter()
            params, log = gradient_descent(x_train, y_train, 500, 0.10)
            seconds = time.perf_counter() - started
            train_acc = float(np.mean(np.argmax(_forward(params, x_train), 0) == y_train))
            dev_acc = dev_accuracy(params, x_dev, y_dev)
            rows["notebook (float64, as written)"].append((seconds, train_acc, dev_acc))

            model = run(SEED, dataset, seed, log=None, progress=False)
            train_acc = _digitnet_train_accuracy(model, dataset, seed)
            rows["digitnet seed recipe"].append(
                (model.info["training_seconds"], train_acc, model.history["dev_accuracy"][-1])
            )

    print(f"{'implementation':32} {'train s (median)':>16} {'train acc':>10} {'dev acc':>8}")
    medians = {}
    for name, results in rows.items():
        seconds = statistics.median(r[0] for r in results)
        medians[name] = seconds
        train_acc = statistics.mean(r[1] for r in results)
        dev_acc = statistics.mean(r[2] for r in results)
        print(f"{name:32} {seconds:16.2f} {train_acc:10.4f} {dev_acc:8.4f}")
    ratio = medians["digitnet seed recipe"] / medians["notebook (float64, as written)"]
    print(f"\ntime ratio digitnet / notebook: {ratio:.2f}x   (digitnet {digitnet.__version__})")


def _forward(params, x):
    from notebook_reference import forward_prop

    return forward_prop(*params, x)[-1]


def _digitnet_train_accuracy(model, dataset, seed: int) -> float:
    order = np.random.default_rng(seed).permutation(len(dataset))[SEED.dev_size :]
    return float(np.mean(model.predict(dataset.images[order]) == dataset.labels[order]))


if __name__ == "__main__":
    main()
