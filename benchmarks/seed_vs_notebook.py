"""The seed recipe against the notebook's own algorithm, side by side in one run.

Both train on the same Kaggle-format train.csv, in the same shuffled order
(so the same 1,000 dev rows), from the same initial weights: the seed recipe's
iterations of full-batch gradient descent at its learning rate (the notebook's
last cell: 400 at 0.1), one thread unless --threads says otherwise (the
notebook's numpy: BLAS's threads; digitnet: its own, BLAS at one each).  Timing
covers training only (the CSV is read once, before all runs).  A third row runs
the notebook's code with only its bias gradient fixed, to show how much of any
accuracy difference that one fix explains.

Usage: python benchmarks/seed_vs_notebook.py [TRAIN_CSV] [--repeats N] [--threads N]
       (TRAIN_CSV defaults to benchmarks/data/train.csv; make it with
        benchmarks/make_kaggle_csv.py)
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

import digitnet
from digitnet.data.kaggle_csv import read_kaggle_csv
from digitnet.network import Network
from digitnet.recipes import SEED, run
from digitnet.speed import using_threads
from notebook_reference import (
    backward_prop,
    backward_prop_per_unit_bias,
    dev_accuracy,
    forward_prop,
    gradient_descent,
    prepare,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train_csv", nargs="?", default=Path(__file__).parent / "data/train.csv")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each, seeds 0..N-1")
    parser.add_argument("--threads", type=int, default=1, help="threads, the same for both sides")
    args = parser.parse_args()
    dataset = read_kaggle_csv(args.train_csv, need_labels=True)
    print(
        f"data: {dataset.source}; {args.threads} thread(s) each; {args.repeats} seeds each; "
        f"{SEED.epochs} iterations at learning rate {SEED.learning_rate:g}\n"
    )

    notebook = "notebook (float64, as written)"
    notebook_bias = "notebook + per-unit bias grad"
    ours = "digitnet seed recipe"
    rows: dict[str, list] = {notebook: [], notebook_bias: [], ours: []}
    # The notebook's input is pandas' int64 array of the whole CSV.
    table = np.column_stack([dataset.labels, dataset.images]).astype(np.int64)
    for seed in range(args.repeats):
        # The same draws as recipes.run(SEED, dataset, seed): shuffle, then init.
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(table))
        start = Network.build([784, 10, 10], init="uniform", seed=rng)
        initial = _notebook_layout(start.parameters())
        x_train, y_train, x_dev, y_dev = prepare(table[order])
        for name, backward in (
            (notebook, backward_prop),
            (notebook_bias, backward_prop_per_unit_bias),
        ):
            started = time.perf_counter()
            with threadpool_limits(args.threads):  # the notebook's numpy: BLAS's threads
                params, _ = gradient_descent(
                    x_train, y_train, SEED.epochs, SEED.learning_rate, backward, initial
                )
            seconds = time.perf_counter() - started
            train_acc = float(np.mean(np.argmax(forward_prop(*params, x_train)[-1], 0) == y_train))
            rows[name].append((seconds, train_acc, dev_accuracy(params, x_dev, y_dev)))

        with using_threads(args.threads):  # digitnet: its own threads, BLAS at one each
            model = run(SEED, dataset, seed, log=None, progress=False)
        train_rows = order[SEED.dev_size :]
        train_acc = float(
            np.mean(model.predict(dataset.images[train_rows]) == dataset.labels[train_rows])
        )
        rows[ours].append(
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
    ratio = medians[ours] / medians[notebook]
    print(f"\ntime ratio digitnet / notebook: {ratio:.2f}x   (digitnet {digitnet.__version__})")


def _notebook_layout(parameters):
    """digitnet's (W (in, out), b (out,)) pairs as the notebook's float64 (out, in), (out, 1)."""
    weight1, bias1, weight2, bias2 = (np.asarray(p, dtype=np.float64) for p, _ in parameters)
    return weight1.T, bias1[:, None], weight2.T, bias2[:, None]


if __name__ == "__main__":
    main()
