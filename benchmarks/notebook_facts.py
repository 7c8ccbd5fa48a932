"""Two of the notebook's defects, measured: how wrong its scalar bias gradient is, and
how often its one-hot width breaks a mini-batch.

1. The scalar bias gradient.  The notebook's `db1 = 1/m * np.sum(dZ1)` gives all ten
   hidden units one number: the sum of their true gradients, the derivative for one
   shared shift of all ten biases.  Along the notebook's own training (its code, the
   seed recipe's start and 400 iterations), this counts at every iteration the hidden
   units whose true gradient has the opposite sign of that number (the scalar pushes
   them the wrong way), and how large the scalar is against each unit's own gradient.
2. The one-hot width.  `one_hot` sizes itself by `Y.max() + 1`, so a batch without a 9
   gets 9 columns (or fewer) and `A2 - one_hot_Y` fails.  This counts the batches of 64
   that have no 9 when the training rows are shuffled into batches, epoch after epoch
   (and the epochs that have at least one), and gives the chance (1 - share of 9s)^64
   for batches drawn at random.  --seeds 0 measures only this.

Usage: python benchmarks/notebook_facts.py [TRAIN_CSV] [--seeds N] [--epochs N]
       (TRAIN_CSV defaults to benchmarks/data/train.csv; make it with
        benchmarks/make_kaggle_csv.py)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from digitnet.data.kaggle_csv import read_kaggle_csv
from digitnet.network import Network
from digitnet.recipes import SEED
from notebook_reference import backward_prop, forward_prop, prepare, update_params

BATCH = 64


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train_csv", nargs="?", default=Path(__file__).parent / "data/train.csv")
    parser.add_argument("--seeds", type=int, default=3, help="training runs, seeds 0..N-1")
    parser.add_argument("--epochs", type=int, default=200, help="shuffled epochs of batches")
    args = parser.parse_args()
    dataset = read_kaggle_csv(args.train_csv, need_labels=True)
    table = np.column_stack([dataset.labels, dataset.images]).astype(np.int64)
    print(f"data: {dataset.source}; 1 BLAS thread\n")

    print(f"1. The scalar bias gradient along the notebook's training ({SEED.epochs} "
          f"iterations, lr {SEED.learning_rate:g}, seeds 0..{args.seeds - 1})")  # fmt: skip
    print(f"{'seed':>4} {'wrong-sign units (of 10), mean':>31} {'max':>4} "
          f"{'iterations with any':>20} {'median |scalar| / |own|':>24}")  # fmt: skip
    with threadpool_limits(1):
        for seed in range(args.seeds):
            wrong, ratio = _scalar_bias_signs(table, seed)
            print(f"{seed:4d} {wrong.mean():31.2f} {wrong.max():4d} "
                  f"{np.mean(wrong > 0):20.1%} {np.median(ratio):24.1f}")  # fmt: skip

    rng = np.random.default_rng(0)
    train_labels = dataset.labels[SEED.dev_size :]  # the notebook trains on the rest
    share_of_nines = np.mean(train_labels == 9)
    without_nine = total = epochs_hit = 0
    for _ in range(args.epochs):
        order = rng.permutation(len(train_labels))
        before = without_nine
        for start in range(0, len(order) - BATCH + 1, BATCH):  # full batches only
            total += 1
            without_nine += not np.any(train_labels[order[start : start + BATCH]] == 9)
        epochs_hit += without_nine > before
    print(f"\n2. Batches of {BATCH} without a 9 ({len(train_labels)} training rows, "
          f"{share_of_nines:.2%} of them 9s)")  # fmt: skip
    print(f"   shuffled epochs: {without_nine} of {total} batches ({without_nine / total:.3%})")
    share_hit = epochs_hit / args.epochs
    print(f"   epochs with at least one: {epochs_hit} of {args.epochs} ({share_hit:.0%})")
    print(f"   random draws, (1 - {share_of_nines:.4f})^{BATCH}: "
          f"{(1 - share_of_nines) ** BATCH:.3%}")  # fmt: skip


def _scalar_bias_signs(table: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per iteration: hidden units whose own gradient opposes the notebook's scalar, and
    |scalar| / |own gradient| for every unit, along the notebook's own training."""
    rng = np.random.default_rng(seed)  # the draws of recipes.run(SEED, ..., seed)
    order = rng.permutation(len(table))
    start = Network.build([784, 10, 10], init="uniform", seed=rng)
    w1, b1, w2, b2 = (np.asarray(p, dtype=np.float64) for p, _ in start.parameters())
    params = [w1.T, b1[:, None], w2.T, b2[:, None]]
    x_train, y_train, _, _ = prepare(table[order])
    wrong, ratios = [], []
    for _ in range(SEED.epochs):
        z1, a1, z2, a2 = forward_prop(*params, x_train)
        dw1, db1, dw2, db2 = backward_prop(z1, a1, z2, a2, params[0], params[2], x_train, y_train)
        own = _hidden_bias_gradient(z1, a2, params[2], y_train)  # per unit, (10,)
        wrong.append(int(np.sum(np.sign(own) == -np.sign(db1))))
        ratios.extend(np.abs(db1) / np.maximum(np.abs(own), 1e-300))
        params = list(update_params(*params, dw1, db1, dw2, db2, SEED.learning_rate))
    return np.array(wrong), np.array(ratios)


def _hidden_bias_gradient(z1, a2, w2, labels) -> np.ndarray:
    """The per-unit hidden bias gradient, (1/m) sum over examples of dZ1 (axis 1)."""
    one_hot = np.zeros_like(a2)
    one_hot[labels, np.arange(labels.size)] = 1
    dz1 = w2.T.dot(a2 - one_hot) * (z1 > 0)
    return dz1.sum(axis=1) / labels.size


if __name__ == "__main__":
    main()
